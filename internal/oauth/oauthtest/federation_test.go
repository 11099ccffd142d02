package oauthtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

const saSubject = "system:serviceaccount:hpc:vantage-client"

// TestFederatedClient checks the fake server's federated client
// authentication: an assertion signed by a trusted issuer, as the
// Kubernetes API server signs ServiceAccount tokens, checked against the
// issuer's JWK set.
func TestFederatedClient(t *testing.T) {
	issuer, err := oauthtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)
	other, err := oauthtest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)

	fed := &oauthtest.Federation{Issuer: issuer.URL(), JWKSURL: issuer.JWKSURL(), CAPEM: issuer.CAPEM(), Subject: saSubject}
	s, _ := newServer(t, oauthtest.Client{ID: "ci", Federation: fed},
		oauthtest.Client{ID: "untrusted-ca", Federation: &oauthtest.Federation{Issuer: issuer.URL(), JWKSURL: issuer.JWKSURL(), Subject: saSubject}})
	valid := func() jwt.Claims {
		return jwt.Claims{Issuer: issuer.URL(), Subject: saSubject, Audience: jwt.Audience{s.TokenURL()},
			IssuedAt: jwt.NewNumericDate(epoch), NotBefore: jwt.NewNumericDate(epoch),
			Expiry: jwt.NewNumericDate(epoch.Add(10 * time.Minute)), ID: "jti-" + t.Name()}
	}
	form := func(clientID, assertion string) url.Values {
		f := grant("jobs:read")
		f.Set("client_id", clientID)
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", assertion)
		return f
	}

	tests := []struct {
		name     string
		clientID string
		signer   *oauthtest.Issuer
		mutate   func(*jwt.Claims)
		refusal  string // "" when the server must issue a token
	}{
		{name: "a valid assertion", mutate: func(*jwt.Claims) {}},
		{name: "the issuer as audience", mutate: func(c *jwt.Claims) { c.Audience = jwt.Audience{"other", s.IssuerURL()} }},
		{name: "another issuer's key", signer: other, mutate: func(*jwt.Claims) {}, refusal: "signature does not verify"},
		{name: "another iss", mutate: func(c *jwt.Claims) { c.Issuer = other.URL() }, refusal: "is not the trusted issuer"},
		{name: "another ServiceAccount", mutate: func(c *jwt.Claims) { c.Subject = "system:serviceaccount:hpc:other" }, refusal: "is not the client's subject"},
		{name: "another audience", mutate: func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://kubernetes.default.svc"} }, refusal: "names neither this token endpoint nor its issuer"},
		{name: "expired", mutate: func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(epoch) }, refusal: "has expired"},
		{name: "no exp", mutate: func(c *jwt.Claims) { c.Expiry = nil }, refusal: "has expired"},
		{name: "not valid yet", mutate: func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(epoch.Add(time.Minute)) }, refusal: "not valid yet"},
		{name: "JWKS over a CA the server does not trust", clientID: "untrusted-ca", mutate: func(*jwt.Claims) {}, refusal: "keys could not be read"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			c.ID = c.ID + "-" + string(rune('a'+i))
			tc.mutate(&c)
			signer := issuer
			if tc.signer != nil {
				signer = tc.signer
			}
			assertion, err := signer.Sign(c, map[string]any{"kubernetes.io": map[string]any{"namespace": "hpc"}})
			if err != nil {
				t.Fatal(err)
			}
			clientID := tc.clientID
			if clientID == "" {
				clientID = "ci"
			}
			status, body := call(t, s, form(clientID, assertion), nil)
			if tc.refusal == "" {
				if status != http.StatusOK || body["access_token"] == nil {
					t.Fatalf("status %d, body %v; want a token", status, body)
				}
				return
			}
			desc, _ := body["error_description"].(string)
			if status != http.StatusBadRequest || body["error"] != "invalid_client" || !strings.Contains(desc, tc.refusal) {
				t.Fatalf("status %d, body %v; want 400 invalid_client saying %q", status, body, tc.refusal)
			}
		})
	}

	t.Run("a jti used twice", func(t *testing.T) {
		c := valid()
		c.ID = "replayed"
		assertion, err := issuer.Sign(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := call(t, s, form("ci", assertion), nil); status != http.StatusOK {
			t.Fatalf("first use: status %d, body %v", status, body)
		}
		if status, body := call(t, s, form("ci", assertion), nil); status != http.StatusBadRequest || !strings.Contains(body["error_description"].(string), "used before") {
			t.Fatalf("second use: status %d, body %v; want 400 saying the jti was used before", status, body)
		}
	})

	// As a token server caches an issuer's keys: read once, and again only
	// when an assertion does not verify with them, so a rotated key is
	// trusted at once and a steady stream of assertions costs no reads.
	t.Run("the keys read once, and again after the issuer rotates them", func(t *testing.T) {
		before := issuer.Fetches()
		for i := range 3 {
			c := valid()
			c.ID = fmt.Sprintf("cached-%d", i)
			assertion, err := issuer.Sign(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if status, body := call(t, s, form("ci", assertion), nil); status != http.StatusOK {
				t.Fatalf("assertion %d: status %d, body %v", i, status, body)
			}
		}
		if got := issuer.Fetches() - before; got > 1 {
			t.Fatalf("three assertions read the keys %d times; want at most once", got)
		}
		if err := issuer.Rotate(); err != nil {
			t.Fatal(err)
		}
		before = issuer.Fetches()
		c := valid()
		c.ID = "after-rotation"
		assertion, err := issuer.Sign(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := call(t, s, form("ci", assertion), nil); status != http.StatusOK {
			t.Fatalf("after rotation: status %d, body %v; want the new key trusted", status, body)
		}
		if got := issuer.Fetches() - before; got != 1 {
			t.Fatalf("after rotation the keys were read %d times; want once", got)
		}
	})

	t.Run("a client secret instead of an assertion", func(t *testing.T) {
		f := grant("")
		f.Set("client_id", "ci")
		f.Set("client_secret", "guess")
		if status, body := call(t, s, f, nil); status != http.StatusBadRequest || body["error"] != "invalid_client" {
			t.Fatalf("status %d, body %v; want 400 invalid_client", status, body)
		}
	})
}
