package plugin

import (
	"os"
	"strings"
	"testing"
)

// readmeHints reads README.md's "Ready reason | what to do" table.
func readmeHints(t *testing.T) []hint {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "| Ready reason | what to do |" {
			start = i + 2 // past the header and its |---|---| line
			break
		}
	}
	if start < 0 {
		t.Fatal(`README.md has no "| Ready reason | what to do |" table`)
	}
	var out []hint
	for _, l := range lines[start:] {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "|") {
			break
		}
		cells := strings.SplitN(strings.Trim(l, "|"), "|", 2)
		if len(cells) != 2 {
			t.Fatalf("README row without two cells: %s", l)
		}
		out = append(out, hint{Reason: strings.Trim(strings.TrimSpace(cells[0]), "`"), Do: strings.TrimSpace(cells[1])})
	}
	return out
}

// TestHintsMatchREADME keeps the plugin's "what to do" and README's
// troubleshooting table one text: change both together.
func TestHintsMatchREADME(t *testing.T) {
	readme := readmeHints(t)
	for i := 0; i < max(len(readme), len(hints)); i++ {
		var r, g hint
		if i < len(readme) {
			r = readme[i]
		}
		if i < len(hints) {
			g = hints[i]
		}
		if r != g {
			t.Errorf("row %d differs:\n README.md:          | `%s` | %s |\n internal/plugin/hints.go: {%q, %q}", i+1, r.Reason, r.Do, g.Reason, g.Do)
		}
	}
}

func TestWhatToDoDropsMarkdown(t *testing.T) {
	if got := whatToDo("Suspended"); got != "spec.suspend is true" {
		t.Errorf("whatToDo(Suspended) = %q", got)
	}
	if got := whatToDo("Progressing"); got != noHint {
		t.Errorf("an unlisted reason gets %q, not %q", got, noHint)
	}
}
