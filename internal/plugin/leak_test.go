package plugin

import (
	"encoding/base64"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestNoCommandPrintsASecret is the sentinel: every command, in every
// output format, on every credential of the fixture (whose Secrets hold
// client secrets, an API key and a JWT), must print none of those values,
// raw or base64-encoded (as a dumped Secret would show them), on stdout,
// stderr or in its error.
func TestNoCommandPrintsASecret(t *testing.T) {
	secrets := map[string]string{"token": token, "token signature": signature, "client secret": clientSecret, "API key": apiKeyValue}
	forbidden := map[string]string{}
	for what, v := range secrets {
		forbidden[what] = v
		forbidden[what+" (base64)"] = base64.StdEncoding.EncodeToString([]byte(v))
		forbidden[what+" (base64url)"] = base64.RawURLEncoding.EncodeToString([]byte(v))
	}

	var runs [][]string
	for _, o := range []string{"", "wide", "json", "yaml"} {
		runs = append(runs, []string{"status", "-o", o}, []string{"status", "-A", "-o", o})
	}
	for _, name := range []string{"ci-runner", "vcred/nightly", "api-user", "cvcred/hpc", "ci-runer"} {
		for _, o := range []string{"", "json", "yaml"} {
			runs = append(runs, []string{"status", name, "-o", o})
		}
		runs = append(runs, []string{"whoami", name}, []string{"whoami", name, "--verify"}, []string{"refresh", name})
	}
	// web, in namespace apps, restarts workloads (spec.rolloutRestart).
	for _, o := range []string{"", "json", "yaml"} {
		runs = append(runs, []string{"status", "web", "-n", "apps", "-o", o}, []string{"status", "-n", "apps", "-o", o})
	}
	runs = append(runs, []string{"whoami", "web", "-n", "apps"}, []string{"whoami", "web", "-n", "apps", "--verify"}, []string{"refresh", "web", "-n", "apps"})
	runs = append(runs, []string{"whoami", "cvcred/hpc", "-n", "tenant-1", "--verify"}, []string{"refresh", "--all", "-A"})

	clients := map[string]func() client.Client{
		"cluster":            func() client.Client { return builder().Build() },
		"no Secrets allowed": func() client.Client { return withInterceptor(noSecrets) },
	}
	for cname, mk := range clients {
		for _, args := range runs {
			r := run(t, mk(), args...)
			all := r.out + r.errOut
			if r.err != nil {
				all += r.err.Error()
			}
			for what, v := range forbidden {
				if strings.Contains(all, v) {
					t.Errorf("%s: kubectl vantage %s printed the %s:\n%s", cname, strings.Join(args, " "), what, all)
				}
			}
		}
	}
}
