package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

const federatedSubject = "system:serviceaccount:hpc:vantage-client"

// assertionSource stands in for the controller's TokenRequest: it signs a
// fresh JWT as a trusted issuer for each call and records the audiences it
// was asked for and the assertions it gave.
type assertionSource struct {
	issuer *oauthtest.Issuer
	clock  func() time.Time

	mu         sync.Mutex
	audiences  []string
	assertions []string
}

func (a *assertionSource) make(_ context.Context, audience string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock()
	s, err := a.issuer.Sign(jwt.Claims{Issuer: a.issuer.URL(), Subject: federatedSubject, Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)),
		ID: "jti-" + string(rune('a'+len(a.assertions)))}, nil)
	a.audiences = append(a.audiences, audience)
	a.assertions = append(a.assertions, s)
	return s, err
}

// federatedFixture is a fake server with client "ci" trusting a test issuer.
func federatedFixture(t *testing.T) (*fixture, *assertionSource) {
	t.Helper()
	issuer, err := oauthtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "ci", Federation: &oauthtest.Federation{
		Issuer: issuer.URL(), JWKSURL: issuer.JWKSURL(), CAPEM: issuer.CAPEM(), Subject: federatedSubject}})
	return f, &assertionSource{issuer: issuer, clock: f.clock.Now}
}

func TestAssertionSource(t *testing.T) {
	t.Run("one fresh assertion per exchange, in the form body, with the token URL as audience", func(t *testing.T) {
		f, src := federatedFixture(t)
		forms := sentForms(f)
		req := oauth.Request{TokenURL: f.srv.TokenURL(), ClientID: "ci", Assertion: src.make, AssertionSource: "hpc/vantage-client"}
		for i := range 2 {
			// One caller asking again never gets the shared answer.
			if _, err := f.client.Exchange(context.Background(), req); err != nil {
				t.Fatalf("Exchange %d: %v", i, err)
			}
		}
		if len(src.assertions) != 2 || src.audiences[0] != f.srv.TokenURL() || src.audiences[1] != f.srv.TokenURL() {
			t.Fatalf("audiences %q, %d assertions; want the token URL twice", src.audiences, len(src.assertions))
		}
		for i, form := range forms() {
			if form.Get("basic") != "" || form.Has("client_secret") || form.Get("client_id") != "ci" ||
				form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
				form.Get("client_assertion") != src.assertions[i] {
				t.Fatalf("request %d sent %v; want client_id and the %d. assertion in the form, nothing else", i, form, i+1)
			}
		}
	})

	t.Run("the discovered issuer, or AssertionAudience with a token URL, as audience", func(t *testing.T) {
		f, src := federatedFixture(t)
		req := oauth.Request{IssuerURL: f.srv.IssuerURL(), ClientID: "ci", Assertion: src.make, AssertionSource: "hpc/vantage-client"}
		if _, err := f.client.Exchange(context.Background(), req); err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		req = oauth.Request{TokenURL: f.srv.TokenURL(), AssertionAudience: f.srv.IssuerURL(), ClientID: "ci", Assertion: src.make, AssertionSource: "hpc/vantage-client"}
		if _, err := f.client.Exchange(context.Background(), req); err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if want := []string{f.srv.IssuerURL(), f.srv.IssuerURL()}; strings.Join(src.audiences, " ") != strings.Join(want, " ") {
			t.Fatalf("audiences %q, want %q", src.audiences, want)
		}
	})

	t.Run("failures of the source are reported as it says, and nothing is sent", func(t *testing.T) {
		f, _ := federatedFixture(t)
		failing := func(err error) func(context.Context, string) (string, error) {
			return func(context.Context, string) (string, error) { return "", err }
		}
		cases := []struct {
			err      error
			kind     oauth.Kind
			code     string
			message  string
			withheld string
		}{
			{err: &oauth.AssertionError{Kind: oauth.Terminal, Code: "forbidden", Description: "not allowed to create serviceaccounts/token"},
				kind: oauth.Terminal, code: "forbidden", message: "no client assertion (forbidden): not allowed to create serviceaccounts/token"},
			{err: errors.New("dial tcp: SECRET-ish detail"), kind: oauth.Transient, code: "assertion_failed",
				message: "no client assertion (assertion_failed)", withheld: "SECRET-ish"},
		}
		for _, c := range cases {
			_, err := f.client.Exchange(context.Background(), oauth.Request{TokenURL: f.srv.TokenURL(), ClientID: "ci", Assertion: failing(c.err), AssertionSource: "x"})
			e := oauthError(t, err)
			if e.Kind != c.kind || e.Code != c.code || !strings.Contains(e.Error(), c.message) || (c.withheld != "" && strings.Contains(e.Error(), c.withheld)) {
				t.Fatalf("error %v (%s, %s); want %s %s saying %q", e, e.Kind, e.Code, c.kind, c.code, c.message)
			}
		}
		if n := f.srv.Requests(); n != 0 {
			t.Fatalf("%d requests reached the server; want none", n)
		}
	})

	t.Run("a request that mixes the source with a secret or a secret's method is refused", func(t *testing.T) {
		f, src := federatedFixture(t)
		for _, req := range []oauth.Request{
			{TokenURL: f.srv.TokenURL(), ClientID: "ci", ClientSecret: "s", Assertion: src.make},
			{TokenURL: f.srv.TokenURL(), ClientID: "ci", Assertion: src.make, AuthMethod: oauth.AuthBasic},
			{TokenURL: f.srv.TokenURL(), ClientID: "ci", Assertion: src.make, AuthMethod: oauth.AuthPost},
		} {
			_, err := f.client.Exchange(context.Background(), req)
			if e := oauthError(t, err); e.Code != "invalid_request" {
				t.Fatalf("%v: got %v, want invalid_request", req, e)
			}
		}
		if len(src.assertions) != 0 {
			t.Fatalf("the source was asked %d times for a request refused beforehand", len(src.assertions))
		}
	})

	t.Run("an assertion the server quotes back is hidden", func(t *testing.T) {
		f, src := federatedFixture(t)
		f.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			// The signature alone, and the whole assertion, quoted.
			a := r.PostForm.Get("client_assertion")
			oauthtest.WriteError(w, http.StatusBadRequest, "invalid_client", "bad "+a[strings.LastIndexByte(a, '.')+1:]+" in "+a)
			return true
		})
		_, err := f.client.Exchange(context.Background(), oauth.Request{TokenURL: f.srv.TokenURL(), ClientID: "ci", Assertion: src.make, AssertionSource: "x"})
		a := src.assertions[0]
		if msg := oauthError(t, err).Error(); strings.Contains(msg, a[strings.LastIndexByte(a, '.')+1:]) || strings.Contains(msg, a) {
			t.Fatalf("the error shows the assertion: %s", msg)
		}
	})
}
