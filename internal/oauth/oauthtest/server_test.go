package oauthtest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

var epoch = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

func newServer(t *testing.T, clients ...oauthtest.Client) (*oauthtest.Server, *clocktesting.FakeClock) {
	t.Helper()
	s := oauthtest.NewServer()
	t.Cleanup(s.Close)
	clk := clocktesting.NewFakeClock(epoch)
	s.SetClock(clk)
	for _, c := range clients {
		s.AddClient(c)
	}
	return s, clk
}

// call sends a token request; basic, when non-nil, holds the id and secret
// for the Authorization header, form-encoded as RFC 6749 §2.3.1 says.
func call(t *testing.T, s *oauthtest.Server, form url.Values, basic []string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("body %q: %v", data, err)
	}
	return resp.StatusCode, body
}

func authTest(t *testing.T, s *oauthtest.Server, authorization string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+oauthtest.AuthTestPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return do(t, req)
}

func grant(scopes string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}}
	if scopes != "" {
		v.Set("scope", scopes)
	}
	return v
}

func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not JWT-shaped", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIssueAndAuthTest(t *testing.T) {
	s, clk := newServer(t, oauthtest.Client{ID: "svc", Secret: "p+a%s:s"})
	s.SetLifetime(10 * time.Minute)

	status, body := call(t, s, grant("jobs:read jobs:write"), []string{"svc", "p+a%s:s"})
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["expires_in"] != float64(600) || body["scope"] != "jobs:read jobs:write" {
		t.Fatalf("token response %d %v", status, body)
	}
	token := body["access_token"].(string)
	c := claims(t, token)
	if c["sub"] != "svc" || c["scope"] != "jobs:read jobs:write" || c["iat"] != float64(epoch.Unix()) || c["exp"] != float64(epoch.Unix()+600) || c["jti"] == "" {
		t.Errorf("claims %v", c)
	}

	_, second := call(t, s, grant(""), []string{"svc", "p+a%s:s"})
	if other := second["access_token"].(string); other == token || claims(t, other)["jti"] == c["jti"] {
		t.Errorf("tokens are not unique")
	}
	if got := s.IssuedTokens(); !slices.Equal(got, []string{token, second["access_token"].(string)}) {
		t.Errorf("IssuedTokens = %q", got)
	}
	if _, ok := second["scope"]; ok {
		t.Errorf("scope sent although none was requested: %v", second)
	}

	status, body = authTest(t, s, "bearer "+token)
	if status != http.StatusOK || body["authenticated"] != true || body["user_id"] != "svc" ||
		body["expires_at"] != epoch.Add(10*time.Minute).Format(time.RFC3339) {
		t.Errorf("auth test %d %v", status, body)
	}
	if scopes, _ := body["scopes"].([]any); len(scopes) != 2 || scopes[0] != "jobs:read" {
		t.Errorf("scopes %v", body["scopes"])
	}

	invalid := map[string]string{
		"no header":    "",
		"unknown":      "Bearer nope",
		"wrong scheme": "Basic " + token,
	}
	for name, header := range invalid {
		status, body := authTest(t, s, header)
		if status != http.StatusUnauthorized || body["error"] != "invalid_token" || body["error_description"] != "The access token provided is invalid" {
			t.Errorf("%s: auth test %d %v", name, status, body)
		}
	}
	clk.Step(10 * time.Minute)
	if status, _ := authTest(t, s, "Bearer "+token); status != http.StatusUnauthorized {
		t.Errorf("expired token: auth test %d", status)
	}
	// Three checks carried the token (valid, with the Basic scheme,
	// expired), one "nope".
	if got := s.ChecksFor(token); got != 3 {
		t.Errorf("ChecksFor(token) = %d, want 3", got)
	}
	if got := s.ChecksFor("nope"); got != 1 {
		t.Errorf("ChecksFor(nope) = %d, want 1", got)
	}
	resp, err := http.Get(s.URL() + oauthtest.StatsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st oauthtest.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Checks != 5 || st.Requests != 2 {
		t.Errorf("stats %+v (%v), want 5 checks (with the header-less one) and 2 token requests", st, err)
	}
}

func TestExpiresInModes(t *testing.T) {
	tests := []struct {
		mode       oauthtest.ExpiresInMode
		wantExpiry any // the expires_in field, nil when absent
		wantJWT    bool
	}{
		{oauthtest.ExpiresInNumber, float64(3600), true},
		{oauthtest.ExpiresInString, "3600", true},
		{oauthtest.ExpiresInOmitted, nil, true},
		{oauthtest.ExpiresInNone, nil, false},
	}
	for _, tt := range tests {
		s, _ := newServer(t, oauthtest.Client{ID: "svc", Secret: "x"})
		s.SetExpiresInMode(tt.mode)
		_, body := call(t, s, grant(""), []string{"svc", "x"})
		if body["expires_in"] != tt.wantExpiry {
			t.Errorf("mode %d: expires_in = %#v, want %#v", tt.mode, body["expires_in"], tt.wantExpiry)
		}
		token := body["access_token"].(string)
		if isJWT := strings.Count(token, ".") == 2; isJWT != tt.wantJWT {
			t.Errorf("mode %d: token %q JWT-shaped = %v", tt.mode, token, isJWT)
		}
		if tt.wantJWT && claims(t, token)["exp"] != float64(epoch.Unix()+3600) {
			t.Errorf("mode %d: exp = %v", tt.mode, claims(t, token)["exp"])
		}
		if status, _ := authTest(t, s, "Bearer "+token); status != http.StatusOK {
			t.Errorf("mode %d: auth test %d", tt.mode, status)
		}
	}
}

func TestLifetimeIsAtLeastOneSecond(t *testing.T) {
	s, _ := newServer(t, oauthtest.Client{ID: "svc", Secret: "x"})
	s.SetLifetime(100 * time.Millisecond)
	if _, body := call(t, s, grant(""), []string{"svc", "x"}); body["expires_in"] != float64(1) {
		t.Errorf("expires_in = %v, want 1", body["expires_in"])
	}
}

func TestRefusals(t *testing.T) {
	clients := []oauthtest.Client{
		{ID: "any", Secret: "x"},
		{ID: "post-only", Secret: "x", Methods: []string{"post"}},
		{ID: "keycloak", Secret: "x", BadSecretCode: "unauthorized_client"},
		{ID: "scoped", Secret: "x", AllowedScopes: []string{"jobs:read"}},
	}
	post := func(id, secret string, form url.Values) url.Values {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
		return form
	}
	tests := []struct {
		name       string
		form       url.Values
		basic      []string
		wantStatus int
		wantCode   string
	}{
		{"wrong grant type", url.Values{"grant_type": {"password"}}, []string{"any", "x"}, 400, "unsupported_grant_type"},
		{"no grant type", url.Values{}, []string{"any", "x"}, 400, "unsupported_grant_type"},
		{"no credentials", grant(""), nil, 401, "invalid_client"},
		{"both methods", post("any", "x", grant("")), []string{"any", "x"}, 400, "invalid_request"},
		{"unknown client", grant(""), []string{"nobody", "x"}, 401, "invalid_client"},
		{"wrong secret", grant(""), []string{"any", "y"}, 401, "invalid_client"},
		{"wrong secret, Keycloak style", post("keycloak", "y", grant("")), nil, 400, "unauthorized_client"},
		{"basic to a post-only client", grant(""), []string{"post-only", "x"}, 401, "invalid_client"},
		{"post to a post-only client", post("post-only", "x", grant("")), nil, 200, ""},
		{"disallowed scope", grant("jobs:read admin"), []string{"scoped", "x"}, 400, "invalid_scope"},
		{"allowed scope", grant("jobs:read"), []string{"scoped", "x"}, 200, ""},
	}
	s, _ := newServer(t, clients...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, s, tt.form, tt.basic)
			if status != tt.wantStatus || tt.wantCode != "" && body["error"] != tt.wantCode {
				t.Errorf("got %d %v, want %d %s", status, body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, s.TokenURL(), nil)
	if status, body := do(t, req); status != http.StatusMethodNotAllowed || body["error"] != "invalid_request" {
		t.Errorf("GET token endpoint: %d %v", status, body)
	}
}

func TestCountsInterceptAndGrantedScopes(t *testing.T) {
	s, _ := newServer(t, oauthtest.Client{ID: "a", Secret: "x"}, oauthtest.Client{ID: "b", Secret: "x"})
	call(t, s, grant(""), []string{"a", "x"})
	call(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {"b"}, "client_secret": {"wrong"}}, nil)
	if s.Requests() != 2 || s.RequestsFor("a") != 1 || s.RequestsFor("b") != 1 {
		t.Errorf("counts %d %d %d", s.Requests(), s.RequestsFor("a"), s.RequestsFor("b"))
	}
	s.ResetCounts()
	if s.Requests() != 0 || s.RequestsFor("a") != 0 || len(s.IssuedTokens()) != 1 {
		t.Errorf("after reset: counts %d %d, %d tokens", s.Requests(), s.RequestsFor("a"), len(s.IssuedTokens()))
	}

	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.PostForm.Get("scope") == "fail" {
			oauthtest.WriteError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "")
			return true
		}
		return false
	})
	if status, body := call(t, s, grant("fail"), []string{"a", "x"}); status != 503 || body["error"] != "temporarily_unavailable" {
		t.Errorf("intercepted: %d %v", status, body)
	}
	if status, _ := call(t, s, grant("ok"), []string{"a", "x"}); status != 200 {
		t.Errorf("passed through: %d", status)
	}
	if s.Requests() != 2 || s.RequestsFor("a") != 2 {
		t.Errorf("intercepted requests not counted: %d", s.Requests())
	}
	s.Intercept(nil)
	if status, _ := call(t, s, grant("fail"), []string{"a", "x"}); status != 200 {
		t.Errorf("after Intercept(nil): %d", status)
	}

	s.SetGrantedScopes(func(requested []string) []string { return requested[:1] })
	if _, body := call(t, s, grant("x y"), []string{"a", "x"}); body["scope"] != "x" {
		t.Errorf("narrowed scope = %v", body["scope"])
	}
	s.SetGrantedScopes(func([]string) []string { return nil })
	if _, body := call(t, s, grant("x y"), []string{"a", "x"}); body["scope"] != nil {
		t.Errorf("omitted scope = %v", body["scope"])
	}
}

func TestConcurrentUse(t *testing.T) {
	s, _ := newServer(t, oauthtest.Client{ID: "svc", Secret: "x"})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				s.AddClient(oauthtest.Client{ID: "svc", Secret: "x"})
				_ = s.IssuedTokens()
			}
			req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(grant("").Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("svc", "x")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_ = resp.Body.Close()
		})
	}
	wg.Wait()
	if s.Requests() != 20 || len(s.IssuedTokens()) != 20 {
		t.Errorf("requests %d, tokens %d", s.Requests(), len(s.IssuedTokens()))
	}
}

// API keys answer auth/test with their user, scopes and expiry (null for
// none) until they expire or are removed; SetAuthTestMissing turns the
// endpoint into a 404 for every credential.
func TestAPIKeys(t *testing.T) {
	s, clk := newServer(t)
	soon := epoch.Add(48 * time.Hour)
	s.AddAPIKey(oauthtest.APIKey{Key: "k-soon", UserID: "u1", Scopes: []string{"jobs:read"}, ExpiresAt: &soon})
	s.AddAPIKey(oauthtest.APIKey{Key: "k-never", UserID: "u2"})

	status, body := authTest(t, s, "Bearer k-soon")
	if status != http.StatusOK || body["user_id"] != "u1" || body["expires_at"] != soon.Format(time.RFC3339) {
		t.Errorf("expiring key: %d %v", status, body)
	}
	status, body = authTest(t, s, "Bearer k-never")
	if v, ok := body["expires_at"]; status != http.StatusOK || !ok || v != nil {
		t.Errorf("key without expiry: %d %v, want expires_at null", status, body)
	}
	if scopes, ok := body["scopes"].([]any); !ok || len(scopes) != 0 {
		t.Errorf("key without scopes: scopes %v, want []", body["scopes"])
	}

	clk.Step(48 * time.Hour)
	if status, _ := authTest(t, s, "Bearer k-soon"); status != http.StatusUnauthorized {
		t.Errorf("expired key: %d, want 401", status)
	}
	s.RemoveAPIKey("k-never")
	if status, _ := authTest(t, s, "Bearer k-never"); status != http.StatusUnauthorized {
		t.Errorf("removed key: %d, want 401", status)
	}

	s.AddAPIKey(oauthtest.APIKey{Key: "k-new", UserID: "u3"})
	s.SetAuthTestMissing(true)
	if status, _ := authTest(t, s, "Bearer k-new"); status != http.StatusNotFound {
		t.Errorf("without the endpoint: %d, want 404", status)
	}
	s.SetAuthTestMissing(false)
	if status, _ := authTest(t, s, "Bearer k-new"); status != http.StatusOK {
		t.Errorf("with the endpoint back: %d, want 200", status)
	}
}
