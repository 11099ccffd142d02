package plugin

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestWhoami(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"whoami", []string{"whoami", "ci-runner"}},
		{"whoami-verify", []string{"whoami", "ci-runner", "--verify"}},
		{"whoami-api-key", []string{"whoami", "api-user"}},
		{"whoami-cluster", []string{"whoami", "cvcred/hpc", "-n", "tenant-2"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := run(t, builder().Build(), tc.args...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			golden(t, tc.golden, r.out)
		})
	}
}

func TestWhoamiVerifyAsksTheTargetsAPI(t *testing.T) {
	checker := &fakeChecker{}
	r := runWith(t, Deps{Client: builder().Build(), Namespace: "hpc", Clock: clocktesting.NewFakePassiveClock(now), Checker: checker},
		"whoami", "ci-runner", "--verify")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(checker.calls) != 1 || checker.calls[0].APIURL != "https://api.example" || checker.calls[0].Credential != token {
		t.Errorf("checks: %v", checker.calls)
	}
}

// TestWhoamiVerifyWithTheVantageAPI runs --verify through the operator's
// own client against the fake Vantage API: an API key it knows, then one
// it refuses.
func TestWhoamiVerifyWithTheVantageAPI(t *testing.T) {
	api := oauthtest.NewServer()
	defer api.Close()
	c := builder().Build()
	var sec corev1.Secret
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "hpc", Name: "api-user"}, &sec); err != nil {
		t.Fatal(err)
	}
	sec.Data["VANTAGE_API_URL"] = []byte(api.URL())
	if err := c.Update(context.Background(), &sec); err != nil {
		t.Fatal(err)
	}
	deps := Deps{Client: c, Namespace: "hpc", Clock: clocktesting.NewFakePassiveClock(now), Checker: oauth.NewClient(oauth.Options{})}

	r := runWith(t, deps, "whoami", "api-user", "--verify")
	if r.err == nil || !strings.Contains(r.err.Error(), "the Vantage API did not accept the token: ") ||
		!strings.Contains(r.err.Error(), "401") {
		t.Errorf("an unknown key: %v", r.err)
	}

	api.AddAPIKey(oauthtest.APIKey{Key: apiKeyValue, UserID: "u-17", Scopes: []string{"jobs:read"}})
	r = runWith(t, deps, "whoami", "api-user", "--verify")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, want := range []string{"GET " + api.URL() + "/v1/auth/test", "Authenticated:   yes", "User:            u-17", "Scopes:          jobs:read", "Expires:         never"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("no %q in:\n%s", want, r.out)
		}
	}
	if api.ChecksFor(apiKeyValue) != 2 {
		t.Errorf("%d checks of the key, want 2", api.ChecksFor(apiKeyValue))
	}
}
