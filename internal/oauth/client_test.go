package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

func TestExchangeAuthMethods(t *testing.T) {
	tests := []struct {
		name         string
		accepted     []string
		badCode      string
		method       oauth.AuthMethod
		wantCode     string // "" for success
		wantRequests int
	}{
		{name: "basic to basic-only server", accepted: []string{"basic"}, method: oauth.AuthBasic, wantRequests: 1},
		{name: "post to post-only server", accepted: []string{"post"}, method: oauth.AuthPost, wantRequests: 1},
		{name: "auto to server taking both", method: oauth.AuthAuto, wantRequests: 1},
		{name: "empty method is auto", method: "", accepted: []string{"post"}, wantRequests: 2},
		{name: "auto to basic-only server", accepted: []string{"basic"}, method: oauth.AuthAuto, wantRequests: 1},
		{name: "auto to post-only server falls back", accepted: []string{"post"}, method: oauth.AuthAuto, wantRequests: 2},
		{name: "auto falls back on unauthorized_client", accepted: []string{"post"}, badCode: "unauthorized_client", method: oauth.AuthAuto, wantRequests: 2},
		{name: "explicit basic does not fall back", accepted: []string{"post"}, method: oauth.AuthBasic, wantCode: "invalid_client", wantRequests: 1},
		{name: "explicit post does not fall back", accepted: []string{"basic"}, badCode: "unauthorized_client", method: oauth.AuthPost, wantCode: "unauthorized_client", wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret", Methods: tt.accepted, BadSecretCode: tt.badCode})
			tok, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret", tt.method))
			if got := f.srv.Requests(); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				if issued := f.srv.IssuedTokens(); len(issued) != 1 || tok.AccessToken != issued[0] {
					t.Errorf("got a token the server did not issue")
				}
				return
			}
			e := oauthError(t, err)
			if e.Code != tt.wantCode || e.Kind != oauth.Terminal {
				t.Errorf("error = %s %s, want Terminal %s", e.Kind, e.Code, tt.wantCode)
			}
		})
	}
}

func TestAutoRemembersTheMethodThatWorked(t *testing.T) {
	f := newFixture(t, oauth.Options{},
		oauthtest.Client{ID: "post-only", Secret: "s3cret-value", Methods: []string{"post"}, BadSecretCode: "unauthorized_client"},
		oauthtest.Client{ID: "other", Secret: "s3cret-value", Methods: []string{"post"}},
	)
	ctx := context.Background()
	if _, err := f.client.Exchange(ctx, f.request("post-only", "s3cret-value", oauth.AuthAuto)); err != nil {
		t.Fatalf("first Exchange: %v", err)
	}
	if got := f.srv.RequestsFor("post-only"); got != 2 {
		t.Fatalf("first Exchange made %d requests, want 2 (basic, then post)", got)
	}
	f.srv.ResetCounts()
	if _, err := f.client.Exchange(ctx, f.request("post-only", "s3cret-value", oauth.AuthAuto)); err != nil {
		t.Fatalf("second Exchange: %v", err)
	}
	if got := f.srv.Requests(); got != 1 {
		t.Errorf("second Exchange made %d requests, want 1", got)
	}
	// The memory is per client: another client on the same server starts over.
	f.srv.ResetCounts()
	if _, err := f.client.Exchange(ctx, f.request("other", "s3cret-value", oauth.AuthAuto)); err != nil {
		t.Fatalf("Exchange for another client: %v", err)
	}
	if got := f.srv.RequestsFor("other"); got != 2 {
		t.Errorf("another client made %d requests, want 2", got)
	}
}

func TestAutoWithWrongSecretTriesEachMethodOnce(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "right"})
	_, err := f.client.Exchange(context.Background(), f.request("svc", "wrong", oauth.AuthAuto))
	e := oauthError(t, err)
	if e.Kind != oauth.Terminal || e.Code != "invalid_client" || e.StatusCode != http.StatusUnauthorized {
		t.Errorf("error = %s %s %d, want Terminal invalid_client 401", e.Kind, e.Code, e.StatusCode)
	}
	if !strings.Contains(e.Error(), "check client_id and client_secret") {
		t.Errorf("message %q does not say what to check", e.Error())
	}
	if got := f.srv.Requests(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
}

func TestAutoMakesNoSecondRequestUnlessTheClientIsRefused(t *testing.T) {
	tests := []struct {
		name      string
		intercept func(http.ResponseWriter, *http.Request) bool
		wantCode  string
	}{
		{"500", respond(http.StatusInternalServerError, nil, "oops"), "server_error"},
		{"503 with a code", respond(http.StatusServiceUnavailable, map[string]string{"Content-Type": jsonType}, `{"error":"temporarily_unavailable"}`), "temporarily_unavailable"},
		{"429", respond(http.StatusTooManyRequests, map[string]string{"Retry-After": "7"}, ""), "rate_limited"},
		{"connection closed", hangUp, "network_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
			f.srv.Intercept(tt.intercept)
			_, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthAuto))
			e := oauthError(t, err)
			if e.Kind != oauth.Transient || e.Code != tt.wantCode {
				t.Errorf("error = %s %s, want Transient %s", e.Kind, e.Code, tt.wantCode)
			}
			if got := f.srv.Requests(); got != 1 {
				t.Errorf("requests = %d, want 1", got)
			}
		})
	}
}

func TestBasicCredentialsAreFormEncoded(t *testing.T) {
	// Characters that Basic alone would mangle once the server form-decodes.
	const id, secret = "team:svc+1", "p%20a+s:s w/rd"
	for _, method := range []oauth.AuthMethod{oauth.AuthBasic, oauth.AuthPost} {
		t.Run(string(method), func(t *testing.T) {
			f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: id, Secret: secret})
			if _, err := f.client.Exchange(context.Background(), f.request(id, secret, method)); err != nil {
				t.Fatalf("Exchange: %v", err)
			}
		})
	}
}

func TestLifetime(t *testing.T) {
	tests := []struct {
		mode       oauthtest.ExpiresInMode
		wantSource oauth.LifetimeSource
		wantLife   time.Duration
	}{
		{oauthtest.ExpiresInNumber, oauth.LifetimeExpiresIn, 5 * time.Minute},
		{oauthtest.ExpiresInString, oauth.LifetimeExpiresIn, 5 * time.Minute},
		{oauthtest.ExpiresInOmitted, oauth.LifetimeJWT, 5 * time.Minute},
		{oauthtest.ExpiresInNone, oauth.LifetimeDefault, 45 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(string(tt.wantSource)+fmt.Sprint(tt.mode), func(t *testing.T) {
			f := newFixture(t, oauth.Options{DefaultLifetime: 45 * time.Minute}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
			f.srv.SetLifetime(5 * time.Minute)
			f.srv.SetExpiresInMode(tt.mode)
			tok, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthAuto))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if !tok.IssuedAt.Equal(epoch) {
				t.Errorf("IssuedAt = %s, want the fake clock's %s", tok.IssuedAt, epoch)
			}
			if want := epoch.Add(tt.wantLife); !tok.Expiry.Equal(want) {
				t.Errorf("Expiry = %s, want %s", tok.Expiry, want)
			}
			if tok.LifetimeSource != tt.wantSource {
				t.Errorf("LifetimeSource = %s, want %s", tok.LifetimeSource, tt.wantSource)
			}
			if tok.TokenType != "Bearer" {
				t.Errorf("TokenType = %q, want Bearer", tok.TokenType)
			}
		})
	}
}

func TestDefaultLifetimeIsOneHour(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	f.srv.SetExpiresInMode(oauthtest.ExpiresInNone)
	f.srv.SetLifetime(time.Minute)
	tok, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthAuto))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if got := tok.Expiry.Sub(tok.IssuedAt); got != time.Hour || tok.LifetimeSource != oauth.LifetimeDefault {
		t.Errorf("lifetime = %s from %s, want 1h from default", got, tok.LifetimeSource)
	}
}

func TestScopesAndAudience(t *testing.T) {
	tests := []struct {
		name      string
		scopes    []string
		audience  string
		granted   func([]string) []string
		comma     bool
		wantScope string // the form's scope; "-" for absent
		wantGrant []string
		wantNoAud bool
	}{
		{name: "echoed", scopes: []string{"jobs:read", "jobs:write"}, audience: "https://apis.vantage", wantScope: "jobs:read jobs:write", wantGrant: []string{"jobs:read", "jobs:write"}},
		{name: "narrowed by server", scopes: []string{"a", "b"}, granted: func([]string) []string { return []string{"a"} }, wantScope: "a b", wantGrant: []string{"a"}, wantNoAud: true},
		{name: "absent from response", scopes: []string{"a", "b"}, granted: func([]string) []string { return nil }, wantScope: "a b", wantGrant: []string{"a", "b"}, wantNoAud: true},
		{name: "none requested", wantScope: "-", wantNoAud: true},
		{name: "comma-joined", scopes: []string{"jobs:read", "clusters:read"}, comma: true, wantScope: "jobs:read,clusters:read", wantGrant: []string{"jobs:read", "clusters:read"}, wantNoAud: true},
		{name: "comma-joined, none requested", comma: true, wantScope: "-", wantNoAud: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
			f.srv.SetGrantedScopes(tt.granted)
			var form url.Values
			f.srv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
				form = r.PostForm
				return false
			})
			req := f.request("svc", "s3cret-value", oauth.AuthBasic)
			req.Scopes, req.Audience, req.CommaScopes = tt.scopes, tt.audience, tt.comma
			tok, err := f.client.Exchange(context.Background(), req)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if got, ok := form["scope"]; tt.wantScope == "-" && ok || tt.wantScope != "-" && (len(got) != 1 || got[0] != tt.wantScope) {
				t.Errorf("scope sent = %q, want %q", got, tt.wantScope)
			}
			if got := form.Get("audience"); got != tt.audience || tt.wantNoAud && form.Has("audience") {
				t.Errorf("audience sent = %q, want %q", got, tt.audience)
			}
			if !slices.Equal(tok.Scopes, tt.wantGrant) {
				t.Errorf("granted scopes = %q, want %q", tok.Scopes, tt.wantGrant)
			}
		})
	}
}

func TestRequestHeaders(t *testing.T) {
	f := newFixture(t, oauth.Options{UserAgent: "vantage-credential-operator/test"}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	var got http.Header
	f.srv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		got = r.Header.Clone()
		return false
	})
	if _, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthPost)); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	for name, want := range map[string]string{
		"User-Agent":    "vantage-credential-operator/test",
		"Content-Type":  "application/x-www-form-urlencoded",
		"Accept":        "application/json",
		"Authorization": "",
	} {
		if got.Get(name) != want {
			t.Errorf("%s = %q, want %q", name, got.Get(name), want)
		}
	}
}

func TestTokenResponses(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantType string
		scopes   []string
	}{
		{"token_type kept as issued", `{"access_token":"opaque","token_type":"bearer","expires_in":60}`, "bearer", nil},
		{"token_type defaults to Bearer", `{"access_token":"opaque","expires_in":60}`, "Bearer", nil},
		{"scope as a list", `{"access_token":"opaque","expires_in":60,"scope":["x","y"]}`, "Bearer", []string{"x", "y"}},
		{"scope with extra spaces", `{"access_token":"opaque","expires_in":60,"scope":" x  y "}`, "Bearer", []string{"x", "y"}},
		{"expires_in string", `{"access_token":"opaque","expires_in":"60"}`, "Bearer", nil},
		{"form-encoded", `access_token=opaque&expires_in=60&scope=x+y`, "Bearer", []string{"x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{})
			contentType := jsonType
			if !strings.HasPrefix(tt.body, "{") {
				contentType = "application/x-www-form-urlencoded"
			}
			f.srv.Intercept(respond(http.StatusOK, map[string]string{"Content-Type": contentType}, tt.body))
			tok, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthBasic))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.TokenType != tt.wantType || tok.AccessToken != "opaque" || !slices.Equal(tok.Scopes, tt.scopes) {
				t.Errorf("token = %v, want type %q, scopes %q", tok, tt.wantType, tt.scopes)
			}
			if tok.LifetimeSource != oauth.LifetimeExpiresIn || !tok.Expiry.Equal(epoch.Add(time.Minute)) {
				t.Errorf("expiry = %s from %s, want %s from expires_in", tok.Expiry, tok.LifetimeSource, epoch.Add(time.Minute))
			}
		})
	}
}

func TestGrantedScopesFallBackToTheRequested(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"scope null", `{"access_token":"x","scope":null}`, []string{"a", "b"}},
		{"scope a number", `{"access_token":"x","scope":7}`, []string{"a", "b"}},
		{"scope absent", `{"access_token":"x"}`, []string{"a", "b"}},
		{"scope empty is no scope", `{"access_token":"x","scope":""}`, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{})
			f.srv.Intercept(respond(http.StatusOK, map[string]string{"Content-Type": jsonType}, tt.body))
			req := f.request("svc", "s3cret-value", oauth.AuthBasic)
			req.Scopes = []string{"a", "b"}
			tok, err := f.client.Exchange(context.Background(), req)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if !slices.Equal(tok.Scopes, tt.want) || tok.Scopes == nil {
				t.Fatalf("granted scopes = %#v, want %q", tok.Scopes, tt.want)
			}
			if len(tok.Scopes) > 0 {
				tok.Scopes[0] = "changed"
				if req.Scopes[0] != "a" {
					t.Errorf("changing the token's scopes changed the request's")
				}
			}
		})
	}
}

func TestErrorResponses(t *testing.T) {
	html := map[string]string{"Content-Type": "text/html; charset=utf-8"}
	js := map[string]string{"Content-Type": jsonType}
	tests := []struct {
		name           string
		status         int
		header         map[string]string
		body           string
		wantKind       oauth.Kind
		wantCode       string
		wantRetryAfter time.Duration
		wantDesc       string // a substring of Description
	}{
		{"invalid_client 401", 401, js, `{"error":"invalid_client","error_description":"Invalid client credentials"}`, oauth.Terminal, "invalid_client", 0, "Invalid client credentials"},
		{"unauthorized_client 400", 400, js, `{"error":"unauthorized_client","error_description":"Invalid client secret"}`, oauth.Terminal, "unauthorized_client", 0, "Invalid client secret"},
		{"invalid_scope 400", 400, js, `{"error":"invalid_scope"}`, oauth.Terminal, "invalid_scope", 0, ""},
		{"invalid_grant 400", 400, js, `{"error":"invalid_grant","error_description":"service accounts disabled"}`, oauth.Terminal, "invalid_grant", 0, "service accounts"},
		{"invalid_request 400", 400, js, `{"error":"invalid_request"}`, oauth.Terminal, "invalid_request", 0, ""},
		{"unsupported_grant_type 400", 400, js, `{"error":"unsupported_grant_type"}`, oauth.Terminal, "unsupported_grant_type", 0, ""},
		{"401 without a body", 401, nil, "", oauth.Terminal, "http_error", 0, ""},
		{"404 HTML", 404, html, "<html>Not Found</html>", oauth.Terminal, "http_error", 0, "text/html"},
		{"HTML page on 200", 200, html, "<!doctype html><html><body>Sign in</body></html>", oauth.Terminal, "invalid_response", 0, `cannot parse json: invalid character '<' looking for beginning of value (Content-Type "text/html`},
		{"JSON without access_token", 200, js, `{"token_type":"Bearer"}`, oauth.Terminal, "invalid_response", 0, "missing access_token"},
		{"access_token not a string", 200, js, `{"access_token":42}`, oauth.Terminal, "invalid_response", 0, "access_token of type string"},
		// golang.org/x/oauth2 takes expires_in only as a whole number.
		{"fractional expires_in", 200, js, `{"access_token":"opaque","expires_in":60.5}`, oauth.Terminal, "invalid_response", 0, `parsing "60.5"`},
		{"expires_in a word", 200, js, `{"access_token":"opaque","expires_in":"soon"}`, oauth.Terminal, "invalid_response", 0, "invalid number literal"},
		{"null", 200, js, `null`, oauth.Terminal, "invalid_response", 0, "missing access_token"},
		{"empty body", 200, js, ``, oauth.Terminal, "invalid_response", 0, "unexpected end of JSON input"},
		{"204", 204, nil, ``, oauth.Terminal, "invalid_response", 0, "unexpected end of JSON input"},
		{"trailing garbage", 200, js, `{"access_token":"x"} x`, oauth.Terminal, "invalid_response", 0, "after top-level value"},
		{"empty access_token", 200, js, `{"access_token":""}`, oauth.Terminal, "invalid_response", 0, "missing access_token"},
		{"token_type not a string", 200, js, `{"access_token":"x","token_type":5}`, oauth.Terminal, "invalid_response", 0, "token_type"},
		{"error not a string", 400, js, `{"error":7}`, oauth.Terminal, "http_error", 0, "not an OAuth2 error response"},
		{"code with spaces and quotes", 400, js, `{"error":"bad \"code\" \\ here"}`, oauth.Terminal, "badcodehere", 0, ""},
		{"JSON array", 200, js, `[1,2]`, oauth.Terminal, "invalid_response", 0, ""},
		{"error on 200", 200, js, `{"error":"invalid_client"}`, oauth.Terminal, "invalid_client", 0, ""},
		{"HTML 502", 502, html, "<html><h1>502 Bad Gateway</h1></html>", oauth.Transient, "server_error", 0, "text/html"},
		{"503", 503, nil, "", oauth.Transient, "server_error", 0, ""},
		{"503 with Retry-After", 503, js, `{"error":"temporarily_unavailable"}`, oauth.Transient, "temporarily_unavailable", 0, ""},
		{"500 with a code", 500, js, `{"error":"server_error","error_description":"db down"}`, oauth.Transient, "server_error", 0, "db down"},
		{"408", 408, nil, "", oauth.Transient, "http_error", 0, ""},
		{"429 Retry-After seconds", 429, map[string]string{"Retry-After": "30"}, "", oauth.Transient, "rate_limited", 30 * time.Second, ""},
		{"429 Retry-After date", 429, map[string]string{"Retry-After": epoch.Add(2 * time.Minute).Format(http.TimeFormat)}, "", oauth.Transient, "rate_limited", 2 * time.Minute, ""},
		{"429 Retry-After in the past", 429, map[string]string{"Retry-After": epoch.Add(-time.Minute).Format(http.TimeFormat)}, "", oauth.Transient, "rate_limited", 0, ""},
		{"429 Retry-After absurd", 429, map[string]string{"Retry-After": "99999999999999999999"}, "", oauth.Transient, "rate_limited", time.Hour, ""},
		{"429 Retry-After garbage", 429, map[string]string{"Retry-After": "soon"}, "", oauth.Transient, "rate_limited", 0, ""},
		{"429 with a code", 429, js, `{"error":"slow_down"}`, oauth.Transient, "slow_down", 0, ""},
		{"unknown code on 400", 400, js, `{"error":"access_denied"}`, oauth.Terminal, "access_denied", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{})
			f.srv.Intercept(respond(tt.status, tt.header, tt.body))
			tok, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthBasic))
			if tok != nil {
				t.Errorf("got a token with the error")
			}
			e := oauthError(t, err)
			if e.Kind != tt.wantKind || e.Code != tt.wantCode || e.StatusCode != tt.status || e.RetryAfter != tt.wantRetryAfter {
				t.Errorf("error = {%s %s %d retry %s}, want {%s %s %d retry %s}",
					e.Kind, e.Code, e.StatusCode, e.RetryAfter, tt.wantKind, tt.wantCode, tt.status, tt.wantRetryAfter)
			}
			if !strings.Contains(e.Description, tt.wantDesc) {
				t.Errorf("Description = %q, want it to hold %q", e.Description, tt.wantDesc)
			}
			if oauth.IsTerminal(err) != (tt.wantKind == oauth.Terminal) {
				t.Errorf("IsTerminal = %v for a %s error", oauth.IsTerminal(err), e.Kind)
			}
			if want := fmt.Sprintf("token endpoint answered %d %s", tt.status, tt.wantCode); !strings.HasPrefix(e.Error(), want) {
				t.Errorf("message %q does not start with %q", e.Error(), want)
			}
			if f.srv.Requests() != 1 {
				t.Errorf("requests = %d, want 1", f.srv.Requests())
			}
		})
	}
}

func TestInvalidScopeFromServer(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value", AllowedScopes: []string{"jobs:read"}})
	req := f.request("svc", "s3cret-value", oauth.AuthAuto)
	req.Scopes = []string{"jobs:read", "admin"}
	_, err := f.client.Exchange(context.Background(), req)
	if e := oauthError(t, err); e.Kind != oauth.Terminal || e.Code != "invalid_scope" || e.StatusCode != 400 {
		t.Errorf("error = %s %s %d, want Terminal invalid_scope 400", e.Kind, e.Code, e.StatusCode)
	}
	if f.srv.Requests() != 1 {
		t.Errorf("invalid_scope made Auto try again: %d requests", f.srv.Requests())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere int
	var mu sync.Mutex
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		elsewhere++
		mu.Unlock()
	}))
	t.Cleanup(other.Close)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFixture(t, oauth.Options{HTTPClient: &http.Client{}})
			f.srv.Intercept(respond(status, map[string]string{"Location": other.URL + "/steal"}, ""))
			_, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthPost))
			e := oauthError(t, err)
			if e.Kind != oauth.Terminal || e.Code != "http_error" || e.StatusCode != status {
				t.Errorf("error = %s %s %d, want Terminal http_error %d", e.Kind, e.Code, e.StatusCode, status)
			}
			if !strings.Contains(e.Description, other.URL+"/steal") || !strings.Contains(e.Error(), "redirect") {
				t.Errorf("message %q does not name the redirect", e.Error())
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if elsewhere != 0 {
		t.Errorf("the redirect target got %d requests", elsewhere)
	}
}

func TestOversizedBodyIsCut(t *testing.T) {
	const size = 5 << 20
	flood := func(status int) func(http.ResponseWriter, *http.Request) bool {
		return func(w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Content-Type", jsonType)
			w.WriteHeader(status)
			chunk := []byte(strings.Repeat("a", 64<<10))
			if _, err := w.Write([]byte(`{"access_token":"`)); err != nil {
				return true
			}
			for written := 0; written < size; written += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return true // the client hung up, as it should
				}
			}
			_, _ = w.Write([]byte(`"}`))
			return true
		}
	}
	tests := []struct {
		status   int
		wantKind oauth.Kind
		wantCode string
	}{
		{http.StatusOK, oauth.Terminal, "invalid_response"},
		{http.StatusInternalServerError, oauth.Transient, "server_error"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			f := newFixture(t, oauth.Options{})
			f.srv.Intercept(flood(tt.status))
			_, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthBasic))
			e := oauthError(t, err)
			if e.Kind != tt.wantKind || e.Code != tt.wantCode {
				t.Errorf("error = %s %s, want %s %s", e.Kind, e.Code, tt.wantKind, tt.wantCode)
			}
			if len(e.Error()) > 1000 {
				t.Errorf("message is %d bytes long", len(e.Error()))
			}
		})
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	const timeout = 200 * time.Millisecond
	f := newFixture(t, oauth.Options{Timeout: timeout})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	f.srv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	})
	start := time.Now()
	_, err := f.client.Exchange(context.Background(), f.request("svc", "s3cret-value", oauth.AuthAuto))
	elapsed := time.Since(start)
	e := oauthError(t, err)
	if e.Kind != oauth.Transient || e.Code != "network_error" || e.StatusCode != 0 {
		t.Errorf("error = %s %s %d, want Transient network_error 0", e.Kind, e.Code, e.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if elapsed < timeout || elapsed > timeout+5*time.Second {
		t.Errorf("Exchange took %s with a %s timeout", elapsed, timeout)
	}
	if f.srv.Requests() != 1 {
		t.Errorf("requests = %d, want 1", f.srv.Requests())
	}
}

// A deadline passing is told as such every time: no second timer in
// net/http may race the request's own and word it as something else.
func TestTimeoutIsAlwaysNamed(t *testing.T) {
	f := newFixture(t, oauth.Options{Timeout: 10 * time.Millisecond})
	f.srv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		<-r.Context().Done()
		return true
	})
	for i := range 100 {
		req := f.request("svc", "s3cret-value", oauth.AuthBasic)
		req.Caller = fmt.Sprint(i) // no sharing between the attempts
		_, err := f.client.Exchange(context.Background(), req)
		if e := oauthError(t, err); !strings.Contains(e.Description, "no answer within 10ms") || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	client := oauth.NewClient(oauth.Options{})
	_, err = client.Exchange(context.Background(), oauth.Request{TokenURL: "http://" + addr + "/oauth/token", ClientID: "svc", ClientSecret: "s3cret-value"})
	e := oauthError(t, err)
	if e.Kind != oauth.Transient || e.Code != "network_error" || e.StatusCode != 0 {
		t.Errorf("error = %s %s %d, want Transient network_error 0", e.Kind, e.Code, e.StatusCode)
	}
	if !strings.Contains(e.Error(), addr) {
		t.Errorf("message %q does not name the endpoint", e.Error())
	}
}

func TestCancelledContext(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client.Exchange(ctx, f.request("svc", "s3cret-value", oauth.AuthAuto))
	if e := oauthError(t, err); e.Kind != oauth.Transient || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want Transient wrapping context.Canceled", err)
	}
}

func TestInvalidInput(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	good := f.request("svc", "s3cret-value", oauth.AuthAuto)
	tests := []struct {
		name   string
		change func(*oauth.Request)
	}{
		{"empty URL", func(r *oauth.Request) { r.TokenURL = "" }},
		{"relative URL", func(r *oauth.Request) { r.TokenURL = "/oauth/token" }},
		{"ftp URL", func(r *oauth.Request) { r.TokenURL = "ftp://127.0.0.1/oauth/token" }},
		{"unparseable URL", func(r *oauth.Request) { r.TokenURL = "http://[::1" }},
		{"credentials in URL", func(r *oauth.Request) { r.TokenURL = strings.Replace(r.TokenURL, "://", "://svc:s@", 1) }},
		{"empty client id", func(r *oauth.Request) { r.ClientID = "" }},
		{"empty secret", func(r *oauth.Request) { r.ClientSecret = "" }},
		{"unknown method", func(r *oauth.Request) { r.AuthMethod = "TLSClientAuth" }},
		{"PrivateKeyJWT without a key", func(r *oauth.Request) { r.AuthMethod = oauth.AuthPrivateKeyJWT }},
		{"a secret and a key", func(r *oauth.Request) { r.PrivateKey = signingKeys()[jose.ES256] }},
		{"ClientSecretBasic with a key", func(r *oauth.Request) {
			r.ClientSecret, r.PrivateKey, r.AuthMethod = "", signingKeys()[jose.ES256], oauth.AuthBasic
		}},
		{"ClientSecretPost with a key", func(r *oauth.Request) {
			r.ClientSecret, r.PrivateKey, r.AuthMethod = "", signingKeys()[jose.ES256], oauth.AuthPost
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			tt.change(&req)
			_, err := f.client.Exchange(context.Background(), req)
			if e := oauthError(t, err); e.Kind != oauth.Terminal || e.Code != "invalid_request" || e.StatusCode != 0 {
				t.Errorf("error = %s %s %d, want Terminal invalid_request 0", e.Kind, e.Code, e.StatusCode)
			}
		})
	}
	if got := f.srv.Requests(); got != 0 {
		t.Errorf("invalid requests reached the server %d times", got)
	}
}

func TestIsTerminal(t *testing.T) {
	terminal := &oauth.Error{Kind: oauth.Terminal, Code: "invalid_client"}
	tests := []struct {
		err  error
		want bool
	}{
		{terminal, true},
		{fmt.Errorf("refreshing: %w", terminal), true},
		{&oauth.Error{Kind: oauth.Transient, Code: "network_error"}, false},
		{errors.New("plain"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := oauth.IsTerminal(tt.err); got != tt.want {
			t.Errorf("IsTerminal(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestConcurrentExchanges(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value", Methods: []string{"post"}})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		// Different scopes: sixteen requests of their own, not one shared.
		req := f.request("svc", "s3cret-value", oauth.AuthAuto)
		req.Scopes = []string{fmt.Sprintf("s%d", i)}
		wg.Go(func() {
			if _, err := f.client.Exchange(context.Background(), req); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Exchange: %v", err)
	}
	if got := len(f.srv.IssuedTokens()); got != 16 {
		t.Errorf("issued %d tokens, want 16", got)
	}
}
