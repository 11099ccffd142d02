package plugin

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"status-table", []string{"status"}},
		{"status-wide", []string{"status", "-o", "wide"}},
		{"status-all-namespaces", []string{"status", "-A"}},
		{"status-selector", []string{"status", "-l", "team=hpc"}},
		{"status-cluster-kind", []string{"status", "cvcred"}},
		{"status-healthy", []string{"status", "ci-runner"}},
		{"status-failing", []string{"status", "vcred/nightly"}},
		{"status-api-key", []string{"status", "api-user"}},
		{"status-cluster", []string{"status", "cvcred/hpc"}},
		{"status-cluster-bare-name", []string{"status", "hpc", "-n", "tenant-2"}},
		{"status-healthy-json", []string{"status", "ci-runner", "-o", "json"}},
		{"status-list-yaml", []string{"status", "-o", "yaml"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := run(t, builder().Build(), tc.args...)
			if r.err != nil {
				t.Fatalf("%v: %v", tc.args, r.err)
			}
			golden(t, tc.golden, r.out)
		})
	}
}

func TestStatusJSONAndYAMLParse(t *testing.T) {
	r := run(t, builder().Build(), "status", "cvcred/hpc", "-o", "json")
	var rep Report
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("status -o json is no Report: %v\n%s", err, r.out)
	}
	if rep.Target.Namespaces != 2 || rep.Target.Inspected != "tenant-1" || rep.Claims == nil || rep.Claims.Client != "ci-runner" {
		t.Errorf("cluster report: %+v", rep)
	}
	r = run(t, builder().Build(), "status", "-o", "yaml")
	var list struct{ Items []Report }
	if err := yaml.Unmarshal([]byte(r.out), &list); err != nil || len(list.Items) != 3 {
		t.Fatalf("status -o yaml: %v, %d items\n%s", err, len(list.Items), r.out)
	}
}

func TestStatusEmptyNamespace(t *testing.T) {
	r := run(t, builder().Build(), "status", "-n", "empty")
	if r.err != nil || r.out != "" || r.errOut != "No credentials found in namespace \"empty\".\n" {
		t.Errorf("got %q, %q, %v", r.out, r.errOut, r.err)
	}
}

func TestStatusRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"status", "-o", "table"},
		{"status", "ci-runner", "-A"},
		{"status", "secret/ci-runner"},
		{"status", "a", "b"},
	} {
		if r := run(t, builder().Build(), args...); r.err == nil {
			t.Errorf("%v: no error", args)
		} else if strings.Contains(r.err.Error(), "panic") {
			t.Errorf("%v: %v", args, r.err)
		}
	}
}
