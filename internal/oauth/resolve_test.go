package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// paths counts the requests the fake server gets, by path.
func paths(f *fixture) func(string) int {
	var mu sync.Mutex
	seen := map[string]int{}
	f.srv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		seen[r.URL.Path]++
		return false
	})
	return func(p string) int {
		mu.Lock()
		defer mu.Unlock()
		return seen[p]
	}
}

func (f *fixture) issuerRequest(id, secret string) oauth.Request {
	return oauth.Request{IssuerURL: f.srv.IssuerURL(), ClientID: id, ClientSecret: secret}
}

func TestExchangeThroughDiscovery(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	count := paths(f)
	for i := range 3 {
		f.clock.Step(2 * time.Second) // past the share window: each one is an exchange
		req := f.issuerRequest("svc", "s3cret-value")
		req.Caller = string(rune('a' + i))
		tok, err := f.client.Exchange(context.Background(), req)
		if err != nil {
			t.Fatalf("Exchange %d: %v", i, err)
		}
		if tok.TokenURL != f.srv.URL()+oauthtest.KeycloakTokenPath {
			t.Errorf("TokenURL = %q", tok.TokenURL)
		}
	}
	if count(oauthtest.OIDCDiscoveryPath) != 1 || count(oauthtest.KeycloakTokenPath) != 3 {
		t.Errorf("%d discoveries and %d token requests for 3 exchanges; want 1 and 3",
			count(oauthtest.OIDCDiscoveryPath), count(oauthtest.KeycloakTokenPath))
	}
}

func TestDiscoveryPicksTheListedMethod(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value", Methods: []string{"post"}})
	f.srv.SetAuthMethods([]string{"client_secret_post"})
	count := paths(f)
	if _, err := f.client.Exchange(context.Background(), f.issuerRequest("svc", "s3cret-value")); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if n := count(oauthtest.KeycloakTokenPath); n != 1 {
		t.Errorf("%d token requests; the listed method needs no Auto fallback", n)
	}

	f.srv.SetAuthMethods([]string{"tls_client_auth"})
	f.client.InvalidateDiscovery(f.srv.IssuerURL())
	_, err := f.client.Exchange(context.Background(), f.issuerRequest("svc", "s3cret-value"))
	if !oauth.IsCode(err, "auth_method_unsupported") || count(oauthtest.KeycloakTokenPath) != 1 {
		t.Errorf("a server listing no secret method: %v", err)
	}
}

func TestDiscoveredAssertionNamesTheIssuer(t *testing.T) {
	key := signingKeys()[jose.ES256]
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", PublicKey: key.Public()})
	var aud string
	f.srv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if a := r.PostForm.Get("client_assertion"); a != "" {
			aud = decodeSegment(t, strings.Split(a, ".")[1])
		}
		return false
	})
	req := oauth.Request{IssuerURL: f.srv.IssuerURL(), ClientID: "svc", PrivateKey: key}
	if _, err := f.client.Exchange(context.Background(), req); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if !strings.Contains(aud, `"aud":"`+f.srv.IssuerURL()+`"`) {
		t.Errorf("assertion claims %s, want aud the issuer", aud)
	}
}

func TestAllowURLGuardsDiscovery(t *testing.T) {
	for _, tt := range []struct {
		name, refuse, wantText string
		wantDiscoveries        int
	}{
		{"the issuer", "/realms/vantage", "the issuer URL", 0},
		{"the discovered token endpoint", "/protocol/", "the token endpoint the issuer's discovery document names", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
			count := paths(f)
			req := f.issuerRequest("svc", "s3cret-value")
			req.AllowURL = func(u string) error {
				if strings.HasSuffix(u, tt.refuse) || strings.Contains(u, tt.refuse) {
					return errors.New("not on the allowlist")
				}
				return nil
			}
			_, err := f.client.Exchange(context.Background(), req)
			e := oauthError(t, err)
			if e.Code != oauth.CodeTokenURLNotAllowed || e.Kind != oauth.Terminal || !strings.Contains(e.Description, tt.wantText+" http://127.0.0.1") ||
				!strings.Contains(e.Description, "not on the allowlist") {
				t.Errorf("error %v", err)
			}
			if count(oauthtest.OIDCDiscoveryPath) != tt.wantDiscoveries || count(oauthtest.KeycloakTokenPath) != 0 {
				t.Errorf("%d discoveries, %d token requests", count(oauthtest.OIDCDiscoveryPath), count(oauthtest.KeycloakTokenPath))
			}
		})
	}
}

func TestTokenEndpoint404Rediscovers(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	var mu sync.Mutex
	moved, discoveries := true, 0
	f.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == oauthtest.OIDCDiscoveryPath:
			discoveries++
		case r.URL.Path == oauthtest.KeycloakTokenPath && moved:
			moved = false // answered once with 404, as an endpoint that moved
			oauthtest.WriteError(w, http.StatusNotFound, "invalid_request", "no such endpoint")
			return true
		}
		return false
	})
	req := f.issuerRequest("svc", "s3cret-value")
	req.AuthMethod = oauth.AuthBasic
	if _, err := f.client.Exchange(context.Background(), req); !oauth.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("first exchange: %v", err)
	}
	req.Caller = "retry"
	if _, err := f.client.Exchange(context.Background(), req); err != nil {
		t.Fatalf("retry: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if discoveries != 2 {
		t.Errorf("%d discoveries; a 404 from the token endpoint must make the retry read the document again", discoveries)
	}
}

func TestIssuerAndTokenURLTogetherAreRefused(t *testing.T) {
	f := newFixture(t, oauth.Options{})
	req := f.issuerRequest("svc", "s3cret-value")
	req.TokenURL = f.srv.TokenURL()
	if _, err := f.client.Exchange(context.Background(), req); !oauth.IsCode(err, "invalid_request") || f.srv.Requests() != 0 {
		t.Errorf("error %v after %d requests", err, f.srv.Requests())
	}
}
