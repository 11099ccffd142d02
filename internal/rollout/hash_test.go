package rollout_test

import (
	"regexp"
	"testing"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

// TestHash checks the trigger hash is stable (it is stored on workloads and
// compared across operator restarts) and tells changes apart.
func TestHash(t *testing.T) {
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	base := rollout.Hash("TokenChange", "abc")
	// Pinned: workloads keep this value in their annotation, so a new
	// algorithm would restart every workload once after an upgrade.
	// (sha256 of "TokenChange\x00abc", first 8 bytes, from sha256sum.)
	if base != "199ccf41a856b7ff" {
		t.Errorf("Hash(TokenChange, abc) = %q, want 199ccf41a856b7ff", base)
	}

	tests := []struct {
		name     string
		on       string
		change   string
		wantSame bool
	}{
		{name: "same inputs give the same hash", on: "TokenChange", change: "abc", wantSame: true},
		{name: "differs by on", on: "SourceChange", change: "abc"},
		{name: "differs by change", on: "TokenChange", change: "abd"},
		// The separator keeps the boundary between on and change: moving
		// a character across it is another change.
		{name: "on and change are not concatenated", on: "TokenChang", change: "eabc"},
		{name: "empty change differs", on: "TokenChange", change: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rollout.Hash(tt.on, tt.change)
			if !hex16.MatchString(got) {
				t.Errorf("Hash(%q, %q) = %q, want 16 lowercase hex chars", tt.on, tt.change, got)
			}
			if again := rollout.Hash(tt.on, tt.change); again != got {
				t.Errorf("Hash is not deterministic: %q then %q", got, again)
			}
			if same := got == base; same != tt.wantSame {
				t.Errorf("Hash(%q, %q) = %q, equal to Hash(TokenChange, abc) = %q: %v, want %v",
					tt.on, tt.change, got, base, same, tt.wantSame)
			}
		})
	}
}
