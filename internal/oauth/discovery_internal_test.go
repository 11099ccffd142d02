package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWellKnownURLs(t *testing.T) {
	tests := []struct {
		issuer, oidc, rfc8414 string
	}{
		{"https://h/realms/vantage",
			"https://h/realms/vantage/.well-known/openid-configuration",
			"https://h/.well-known/oauth-authorization-server/realms/vantage"},
		{"https://h/realms/vantage/",
			"https://h/realms/vantage/.well-known/openid-configuration",
			"https://h/.well-known/oauth-authorization-server/realms/vantage"},
		{"https://h",
			"https://h/.well-known/openid-configuration",
			"https://h/.well-known/oauth-authorization-server"},
		{"https://h/",
			"https://h/.well-known/openid-configuration",
			"https://h/.well-known/oauth-authorization-server"},
		{"http://127.0.0.1:8080/auth/realms/a%2Fb",
			"http://127.0.0.1:8080/auth/realms/a%2Fb/.well-known/openid-configuration",
			"http://127.0.0.1:8080/.well-known/oauth-authorization-server/auth/realms/a%2Fb"},
	}
	for _, tt := range tests {
		oidc, rfc8414 := wellKnownURLs(tt.issuer)
		if oidc != tt.oidc || rfc8414 != tt.rfc8414 {
			t.Errorf("%s: got\n  %s\n  %s\nwant\n  %s\n  %s", tt.issuer, oidc, rfc8414, tt.oidc, tt.rfc8414)
		}
	}
}

func TestIdenticalDiscoveriesInFlightShareOneFetch(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		<-release
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "token_endpoint": srv.URL + "/token"})
	}))
	t.Cleanup(srv.Close)
	// Released before the server closes, which waits for its handlers.
	releaseAll := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseAll)
	c := NewClient(Options{})
	req := DiscoveryRequest{IssuerURL: srv.URL}

	const callers = 8
	results := make(chan string, callers)
	for range callers {
		go func() {
			p, err := c.Discover(context.Background(), req)
			if err != nil {
				t.Error(err)
				results <- ""
				return
			}
			results <- p.TokenEndpoint
		}()
	}
	// Wait, with a bound, until all callers wait on one fetch.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.discovery.mu.Lock()
		call := c.discovery.inFlight[discoveryKey(req)]
		joined := call != nil && call.waiters == callers
		c.discovery.mu.Unlock()
		if joined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the identical discoveries never joined one fetch")
		}
		time.Sleep(time.Millisecond)
	}
	releaseAll()
	for range callers {
		if got := <-results; got != srv.URL+"/token" {
			t.Errorf("token endpoint %q", got)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestDiscoveryKeyDiffersForAnythingThatChangesTheAnswer(t *testing.T) {
	base := DiscoveryRequest{IssuerURL: "https://h/realms/vantage", ExpectedIssuer: "https://sso/realms/vantage", CAPEM: []byte("ca")}
	variants := map[string]func(*DiscoveryRequest){
		"issuer URL":      func(r *DiscoveryRequest) { r.IssuerURL += "/" },
		"expected issuer": func(r *DiscoveryRequest) { r.ExpectedIssuer = "" },
		"fields shifted": func(r *DiscoveryRequest) {
			r.IssuerURL, r.ExpectedIssuer = r.IssuerURL+r.ExpectedIssuer, ""
		},
		"CA bundle":    func(r *DiscoveryRequest) { r.CAPEM = []byte("other") },
		"verification": func(r *DiscoveryRequest) { r.InsecureSkipVerify = true },
	}
	for name, change := range variants {
		r := base
		change(&r)
		if discoveryKey(r) == discoveryKey(base) {
			t.Errorf("%s: same key, so a different discovery would share a cached answer", name)
		}
	}
}
