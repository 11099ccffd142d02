package plugin

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestHelpNamesThePlugin: run by kubectl as kubectl-vantage, the help says
// "kubectl vantage", as kubectl's own commands would.
func TestHelpNamesThePlugin(t *testing.T) {
	for argv0, want := range map[string]string{
		"/usr/local/bin/kubectl-vantage": "kubectl vantage status [NAME",
		"./vantage-debug":                "kubectl-vantage status [NAME",
	} {
		var out bytes.Buffer
		cmd := NewCommand(argv0, genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &out}, Deps{})
		cmd.SetArgs([]string{"status", "--help"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("run as %s, the help lacks %q:\n%s", argv0, want, out.String())
		}
	}
}

// TestKubectlFlags: the kubeconfig flags are kubectl's own.
func TestKubectlFlags(t *testing.T) {
	cmd := NewCommand("kubectl-vantage", genericiooptions.NewTestIOStreamsDiscard(), Deps{})
	for _, f := range []string{"kubeconfig", "context", "namespace", "cluster-credential-namespace"} {
		if cmd.PersistentFlags().Lookup(f) == nil {
			t.Errorf("no --%s", f)
		}
	}
	if f := cmd.PersistentFlags().ShorthandLookup("n"); f == nil || f.Name != "namespace" {
		t.Error("-n is not --namespace")
	}
	status, _, err := cmd.Find([]string{"status"})
	if err != nil || status.Flags().ShorthandLookup("A") == nil {
		t.Errorf("status has no -A: %v", err)
	}
}
