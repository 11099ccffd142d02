package plugin

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
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
		{"status-rollout-restart", []string{"status", "web", "-n", "apps"}},
		{"status-rollout-restart-json", []string{"status", "web", "-n", "apps", "-o", "json"}},
		{"status-list-yaml", []string{"status", "-o", "yaml"}},
		{"status-serviceaccount", []string{"status", "borrower", "-n", "secretless"}},
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

// TestRolloutRestartReport: what the fixture's golden files do not show,
// a credential with only a selector, on SourceChange, never restarted,
// and one with neither a selector nor a minInterval.
func TestRolloutRestartReport(t *testing.T) {
	if r := rolloutRestartReport(nil, &vantagev1alpha1.VantageCredentialStatus{}); r != nil {
		t.Errorf("without spec.rolloutRestart: %+v, want nil", r)
	}
	on := vantagev1alpha1.RolloutRestartOnSourceChange
	for _, tc := range []struct {
		name string
		spec vantagev1alpha1.RolloutRestartSpec
		want RolloutRestartReport
		out  string
	}{
		{
			name: "selector only, on SourceChange",
			spec: vantagev1alpha1.RolloutRestartSpec{On: &on, Selector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "worker"}}}}},
			want: RolloutRestartReport{On: "SourceChange", Selector: "tier in (web,worker)"},
			out: "Rollout restart:   on SourceChange\n" +
				"  Workloads:       selector tier in (web,worker)\n" +
				"  Last restart:    never\n",
		},
		{
			name: "targets only, minInterval 0s",
			spec: vantagev1alpha1.RolloutRestartSpec{Targets: []vantagev1alpha1.RolloutRestartTarget{{Kind: "DaemonSet", Name: "agent"}},
				MinInterval: &metav1.Duration{}},
			want: RolloutRestartReport{On: "TokenChange", MinInterval: "0s", Workloads: []string{"DaemonSet/agent"}},
			out: "Rollout restart:   on TokenChange\n" +
				"  Workloads:       DaemonSet/agent\n" +
				"  Last restart:    never\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rolloutRestartReport(&tc.spec, &vantagev1alpha1.VantageCredentialStatus{})
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("report = %+v, want %+v", *got, tc.want)
			}
			var b strings.Builder
			w := printers.GetNewTabWriter(&b)
			printRolloutRestart(func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }, got, now)
			w.Flush()
			if b.String() != tc.out {
				t.Errorf("printed\n%s\nwant\n%s", b.String(), tc.out)
			}
		})
	}
}
