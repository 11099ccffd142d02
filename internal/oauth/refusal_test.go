package oauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

// A refused client is told to check what authenticates it: a secret, a
// private key, or the assertions of a ServiceAccount, never another mode's
// input.
func TestARefusedClientIsToldWhatToCheck(t *testing.T) {
	modes := []struct {
		name    string
		request func(*fixture) oauth.Request
		want    string
		notWant string
	}{
		{"client secret", func(f *fixture) oauth.Request { return f.request("svc", "s3cret", oauth.AuthBasic) },
			"check client_id and client_secret in the service-account Secret", "private_key"},
		{"private key", func(f *fixture) oauth.Request { return f.keyRequest(signingKeys()[jose.ES256], "k1") },
			"check client_id, private_key and key_id in the service-account Secret, and that the token server holds the key's public half", "client_secret"},
		{"assertion", func(f *fixture) oauth.Request {
			return oauth.Request{TokenURL: f.srv.TokenURL(), ClientID: "svc", AssertionSource: "serviceaccount/hpc/ci",
				Assertion: func(context.Context, string) (string, error) { return "e30.e30.sig", nil }}
		}, "the cluster's service-account issuer (its keys readable by the server) and the ServiceAccount, system:serviceaccount:<namespace>:<name>, as the client's subject", "client_secret"},
	}
	answers := []struct {
		code, body string
		status     int
		also       string
	}{
		{"invalid_client", `{"error":"invalid_client"}`, http.StatusUnauthorized, "the token server refused the client credentials: "},
		{"unauthorized_client", `{"error":"unauthorized_client"}`, http.StatusBadRequest, "; check also that the client may use the client-credentials grant"},
	}
	for _, m := range modes {
		for _, a := range answers {
			t.Run(m.name+"/"+a.code, func(t *testing.T) {
				f := newFixture(t, oauth.Options{})
				f.srv.Intercept(respond(a.status, map[string]string{"Content-Type": jsonType}, a.body))
				_, err := f.client.Exchange(context.Background(), m.request(f))
				e := oauthError(t, err)
				if e.Kind != oauth.Terminal || e.Code != a.code {
					t.Fatalf("error = %s %s, want Terminal %s", e.Kind, e.Code, a.code)
				}
				msg := e.Error()
				if !strings.Contains(msg, m.want) || !strings.Contains(msg, a.also) {
					t.Errorf("message %q does not say %q and %q", msg, m.want, a.also)
				}
				if strings.Contains(msg, m.notWant) {
					t.Errorf("message %q points at %s, which this client does not use", msg, m.notWant)
				}
			})
		}
	}
}
