package oauth_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

const sentinelAPIKey = "SENTINEL-APIKEY-9d2e"

func (f *fixture) check(credential string) (*oauth.Identity, error) {
	return f.client.Check(context.Background(), oauth.CheckRequest{APIURL: f.srv.URL(), Credential: credential})
}

func TestCheckAnIssuedToken(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	req := f.request("svc", "s3cret-value", oauth.AuthBasic)
	req.Scopes = []string{"jobs:read"}
	tok, err := f.client.Exchange(context.Background(), req)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	id, err := f.check(tok.AccessToken)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if id.UserID != "svc" || !slices.Equal(id.Scopes, []string{"jobs:read"}) || id.ExpiresAt == nil || !id.ExpiresAt.Equal(epoch.Add(time.Hour)) {
		t.Errorf("identity %+v", id)
	}
}

func TestCheckAnAPIKey(t *testing.T) {
	expiry := epoch.Add(24 * time.Hour)
	for _, tt := range []struct {
		name string
		key  oauthtest.APIKey
	}{
		{"expiring", oauthtest.APIKey{Key: sentinelAPIKey, UserID: "user_123", Scopes: []string{"jobs:read"}, ExpiresAt: &expiry}},
		{"never expiring", oauthtest.APIKey{Key: sentinelAPIKey, UserID: "user_123"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{})
			f.srv.AddAPIKey(tt.key)
			var got http.Header
			f.srv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
				got = r.Header.Clone()
				return false
			})
			id, err := f.check(sentinelAPIKey)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if id.UserID != "user_123" || len(id.Scopes) != len(tt.key.Scopes) || (id.ExpiresAt == nil) != (tt.key.ExpiresAt == nil) ||
				id.ExpiresAt != nil && !id.ExpiresAt.Equal(expiry) {
				t.Errorf("identity %+v for key %+v", id, tt.key)
			}
			if got.Get("Authorization") != "Bearer "+sentinelAPIKey || got.Get("Accept") != "application/json" {
				t.Errorf("sent headers %v", got)
			}
		})
	}
}

func TestCheckFailures(t *testing.T) {
	html := map[string]string{"Content-Type": "text/html"}
	js := map[string]string{"Content-Type": jsonType}
	tests := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		wantKind oauth.Kind
		wantCode string
		wantText string
		retry    time.Duration
	}{
		{"401", 401, js, `{"error":"invalid_token","error_description":"The access token provided is invalid"}`, oauth.Terminal, oauth.CodeInvalidToken, "Vantage API answered 401 invalid_token: the Vantage API refused the credential: The access token provided is invalid; the credential is not valid", 0},
		{"401 echoing the key", 401, js, `{"error":"invalid_token","error_description":"bad key ` + sentinelAPIKey + `"}`, oauth.Terminal, oauth.CodeInvalidToken, "bad key [redacted]", 0},
		{"404", 404, html, "<h1>Not Found</h1>", oauth.Terminal, oauth.CodeNoAuthTest, "has no /v1/auth/test endpoint", 0},
		{"403", 403, js, `{"error":"insufficient_scope"}`, oauth.Terminal, "insufficient_scope", "answered 403", 0},
		{"503", 503, nil, "", oauth.Transient, "server_error", "failing or unreachable, will retry", 0},
		{"429 with Retry-After", 429, map[string]string{"Retry-After": "30"}, "", oauth.Transient, "rate_limited", "429", 30 * time.Second},
		{"an HTML page", 200, html, "<html>Vantage</html>", oauth.Terminal, "invalid_response", `not the Vantage API's auth/test response: check the API URL (Content-Type "text/html")`, 0},
		{"not authenticated", 200, js, `{"authenticated":false}`, oauth.Terminal, oauth.CodeInvalidToken, "does not authenticate", 0},
		{"expires_at not a time", 200, js, `{"authenticated":true,"user_id":"u","expires_at":"tomorrow"}`, oauth.Terminal, "invalid_response", "not an RFC 3339 time", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{})
			f.srv.Intercept(respond(tt.status, tt.header, tt.body))
			id, err := f.check(sentinelAPIKey)
			if id != nil {
				t.Fatalf("identity %+v with the error", id)
			}
			e := oauthError(t, err)
			if e.Kind != tt.wantKind || e.Code != tt.wantCode || e.StatusCode != tt.status || e.RetryAfter != tt.retry || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %s %s %d retry %s: %q; want %s %s, saying %q", e.Kind, e.Code, e.StatusCode, e.RetryAfter, err.Error(), tt.wantKind, tt.wantCode, tt.wantText)
			}
			if strings.Contains(err.Error(), sentinelAPIKey) {
				t.Errorf("the key is in %q", err.Error())
			}
		})
	}
}

func TestCheckRevokedKeyAndUnreachableAPI(t *testing.T) {
	f := newFixture(t, oauth.Options{})
	f.srv.AddAPIKey(oauthtest.APIKey{Key: sentinelAPIKey, UserID: "u"})
	if _, err := f.check(sentinelAPIKey); err != nil {
		t.Fatalf("Check: %v", err)
	}
	f.srv.RemoveAPIKey(sentinelAPIKey)
	if _, err := f.check(sentinelAPIKey); !oauth.IsCode(err, oauth.CodeInvalidToken) {
		t.Errorf("a revoked key: %v", err)
	}
	url := f.srv.URL()
	f.srv.Close()
	_, err := f.client.Check(context.Background(), oauth.CheckRequest{APIURL: url, Credential: sentinelAPIKey})
	if e := oauthError(t, err); e.Kind != oauth.Transient || !strings.HasPrefix(err.Error(), "Vantage API request failed (network_error): GET "+url+"/v1/auth/test") {
		t.Errorf("unreachable API: %v", err)
	}
}

func TestCheckRequestNeverPrinted(t *testing.T) {
	req := oauth.CheckRequest{APIURL: "https://api.example", Credential: sentinelAPIKey}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if got := fmt.Sprintf(verb, req); strings.Contains(got, sentinelAPIKey) {
			t.Errorf("Sprintf(%s) = %s", verb, got)
		}
	}
	for _, bad := range []oauth.CheckRequest{{APIURL: "ftp://api", Credential: "k"}, {APIURL: "https://u:p@api", Credential: "k"}, {APIURL: "https://api"}} {
		_, err := oauth.NewClient(oauth.Options{}).Check(context.Background(), bad)
		if e := oauthError(t, err); e.Code != "invalid_request" || !strings.HasPrefix(err.Error(), "Vantage API request failed") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// Credentials holding one API key, checked together, cost the API one
// request; a credential asking again gets an answer of its own.
func TestConcurrentChecksShareOneRequest(t *testing.T) {
	f := newFixture(t, oauth.Options{})
	f.srv.AddAPIKey(oauthtest.APIKey{Key: sentinelAPIKey, UserID: "user_123"})
	check := func(caller string) (*oauth.Identity, error) {
		return f.client.Check(context.Background(), oauth.CheckRequest{APIURL: f.srv.URL(), Credential: sentinelAPIKey, Caller: caller})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			id, err := check(fmt.Sprintf("ns/%d", i))
			if err == nil && id.UserID != "user_123" {
				err = fmt.Errorf("identity %+v", id)
			}
			errs <- err
		})
	}
	// Those that come after the first answer take it: the fixture's clock
	// stands still, so the share window stays open.
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.ChecksFor(sentinelAPIKey); n != 1 {
		t.Fatalf("%d checks reached the API, want 1 shared", n)
	}
	if _, err := check("ns/0"); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.ChecksFor(sentinelAPIKey); n != 2 {
		t.Fatalf("a caller asking again: %d checks, want 2", n)
	}
}
