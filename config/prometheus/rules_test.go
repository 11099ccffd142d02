// Package prometheus holds no code: its test runs the alerts of rules.yaml
// through `promtool test rules` with the cases of rules_test.yaml, so
// `go test ./...` (and make test) checks the alerts with the rest.
package prometheus

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

// ruleFile is the name rules_test.yaml loads its rules from; the test
// writes the PrometheusRule's groups there.
const ruleFile = "vantage-credential-operator.rules.yaml"

// promtool is the binary make promtool builds, or $PROMTOOL.
func promtool(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PROMTOOL")
	if path == "" {
		path = filepath.Join("..", "..", "bin", "promtool")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	// Not a skip: a missing promtool would leave the alerts untested while
	// the run looked green.
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("promtool not found at %s: run `make promtool` (or set PROMTOOL): %v", abs, err)
	}
	return abs
}

// ruleGroups returns the spec of the PrometheusRule in rules.yaml as a
// plain Prometheus rule file: promtool reads rule files, not the Prometheus
// Operator's custom resource around them, and a copy kept beside it would
// drift from what is deployed.
func ruleGroups(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Strict, so a duplicate key (which plain decoding resolves silently)
	// fails here rather than testing other rules than the ones deployed.
	var rule struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Metadata   json.RawMessage `json:"metadata"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(raw, &rule); err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	if rule.Kind != "PrometheusRule" || len(rule.Spec) == 0 {
		t.Fatalf("rules.yaml: want a PrometheusRule with a spec, got kind %q", rule.Kind)
	}
	out, err := yaml.JSONToYAML(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAlerts(t *testing.T) {
	bin := promtool(t)
	dir := t.TempDir()
	groups := ruleGroups(t)
	if err := os.WriteFile(filepath.Join(dir, ruleFile), groups, 0o600); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("rules_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules_test.yaml"), tests, 0o600); err != nil {
		t.Fatal(err)
	}

	// Which Prometheus judged the rules, for whoever reads the log.
	run(t, dir, bin, "--version")
	// check rules also lints what test rules accepts (duplicate rules,
	// bad templates in alerts no case fires).
	run(t, dir, bin, "check", "rules", ruleFile)
	run(t, dir, bin, "test", "rules", "rules_test.yaml")
}

// TestEveryAlertFires: a rule that no case expects to fire is untested,
// whatever else passes; so is a case naming an alert that does not exist
// (promtool only sees that nothing fired).
func TestEveryAlertFires(t *testing.T) {
	var groups struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(ruleGroups(t), &groups); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
			}
		}
	}

	raw, err := os.ReadFile("rules_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases struct {
		Tests []struct {
			Name  string `json:"name"`
			Cases []struct {
				Alert     string            `json:"alertname"`
				ExpAlerts []json.RawMessage `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	fired := map[string]bool{}
	for _, tc := range cases.Tests {
		for _, c := range tc.Cases {
			if !slices.Contains(alerts, c.Alert) {
				t.Errorf("rules_test.yaml, %q: no alert %q in rules.yaml", tc.Name, c.Alert)
			}
			fired[c.Alert] = fired[c.Alert] || len(c.ExpAlerts) > 0
		}
	}
	for _, a := range alerts {
		if !fired[a] {
			t.Errorf("no case in rules_test.yaml expects %s to fire", a)
		}
	}
}

func run(t *testing.T, dir, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Fatalf("promtool %v failed:\n%s", args, out)
	case err != nil:
		t.Fatal(err)
	}
	t.Logf("promtool %v:\n%s", args, out)
}
