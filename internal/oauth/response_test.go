package oauth

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

func TestParseExpiresIn(t *testing.T) {
	tests := []struct {
		raw    string
		want   time.Duration
		wantOK bool
	}{
		{`3600`, time.Hour, true},
		{`"3600"`, time.Hour, true},
		{`" 3600 "`, time.Hour, true},
		{`1.5`, 1500 * time.Millisecond, true},
		{`"1.5"`, 1500 * time.Millisecond, true},
		{`3.6e3`, time.Hour, true},
		{`1e300`, maxExpiresIn * time.Second, true},
		{`0`, 0, false},
		{`-60`, 0, false},
		{`"-60"`, 0, false},
		{`"0x10"`, 0, false},
		{`"Inf"`, 0, false},
		{`"1e3"`, 0, false},
		{`""`, 0, false},
		{`"soon"`, 0, false},
		{`null`, 0, false},
		{`true`, 0, false},
		{`{}`, 0, false},
		{`1e-300`, 0, false},
		{``, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseExpiresIn(json.RawMessage(tt.raw))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseExpiresIn(%s) = %s, %v; want %s, %v", tt.raw, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"3601", time.Hour},
		{"99999999999999999999999", time.Hour},
		{"-5", 0},
		{"1.5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(30 * time.Second).Format(time.RFC850), 30 * time.Second},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.value, got, tt.want)
		}
	}
}

func TestParseResponseEdges(t *testing.T) {
	req := Request{ClientID: "svc", ClientSecret: "a-long-enough-secret", Scopes: []string{"a", "b"}}
	tests := []struct {
		name       string
		status     int
		body       string
		truncated  bool
		wantCode   string // "" for a token
		wantScopes []string
	}{
		{"null", 200, `null`, false, "invalid_response", nil},
		{"empty body", 200, ``, false, "invalid_response", nil},
		{"trailing garbage", 200, `{"access_token":"x"} x`, false, "invalid_response", nil},
		{"truncated", 200, `{"access_token":"x"}`, true, "invalid_response", nil},
		{"empty access_token", 200, `{"access_token":""}`, false, "invalid_response", nil},
		{"scope null falls back", 200, `{"access_token":"x","scope":null}`, false, "", []string{"a", "b"}},
		{"scope number falls back", 200, `{"access_token":"x","scope":7}`, false, "", []string{"a", "b"}},
		{"empty scope is no scope", 200, `{"access_token":"x","scope":""}`, false, "", []string{}},
		{"non-string token_type ignored", 200, `{"access_token":"x","token_type":5}`, false, "", []string{"a", "b"}},
		{"204", 204, ``, false, "invalid_response", nil},
		{"1xx", 101, ``, false, "http_error", nil},
		{"truncated error", 400, `{"error":"invalid_client"}`, true, "invalid_client", nil},
		{"error not a string", 400, `{"error":7}`, false, "http_error", nil},
		{"code with spaces and quotes", 400, `{"error":"bad \"code\" \\ here"}`, false, "badcodehere", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, e := parseResponse(response{status: tt.status, header: http.Header{}, body: []byte(tt.body), truncated: tt.truncated}, req, now, time.Hour)
			if (tok == nil) == (e == nil) {
				t.Fatalf("parseResponse = %v, %v; want exactly one", tok, e)
			}
			if tt.wantCode != "" {
				if e == nil || e.Code != tt.wantCode {
					t.Errorf("got %v, %v; want code %s", tok, e, tt.wantCode)
				}
				return
			}
			if e != nil {
				t.Fatalf("error %v", e)
			}
			if !slices.Equal(tok.Scopes, tt.wantScopes) || tok.TokenType != "Bearer" || tok.LifetimeSource != LifetimeDefault {
				t.Errorf("token = %v", tok)
			}
		})
	}
}

func TestParseResponseDoesNotAliasRequestScopes(t *testing.T) {
	req := Request{Scopes: []string{"a"}}
	tok, e := parseResponse(response{status: 200, header: http.Header{}, body: []byte(`{"access_token":"x"}`)}, req, now, time.Hour)
	if e != nil {
		t.Fatal(e)
	}
	tok.Scopes[0] = "changed"
	if req.Scopes[0] != "a" {
		t.Errorf("changing the token's scopes changed the request's")
	}
}

func TestClean(t *testing.T) {
	const secret = "hunter2-hunter2"
	red := newRedactor(Request{ClientID: "svc", ClientSecret: secret})
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Invalid client credentials", "Invalid client credentials"},
		{"secret", "secret " + secret + " is wrong", "secret [redacted] is wrong"},
		{"secret split by a control character", "hunter2-\x00hunter2", "[redacted]"},
		{"whitespace folded", "a\tb\nc", "a b c"},
		{"secret at the cut", strings.Repeat("x", 195) + secret, strings.Repeat("x", 195) + "[red…"},
		{"long", strings.Repeat("y", 300), strings.Repeat("y", 199) + "…"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abc_-1 rejected", "token [redacted] rejected"},
	}
	for _, tt := range tests {
		if got := red.clean(tt.in); got != tt.want {
			t.Errorf("%s: clean(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestCleanTokenHoldingTheSecret(t *testing.T) {
	red := newRedactor(Request{ClientID: "svc", ClientSecret: "s3cret"})
	red.add("tok-s3cret-tok")
	if got := red.clean("tok-s3cret-tok and s3cret"); got != "[redacted] and [redacted]" {
		t.Errorf("clean = %q", got)
	}
}

func TestCleanSecretHoldingWhitespace(t *testing.T) {
	red := newRedactor(Request{ClientID: "svc", ClientSecret: "tab\tand space"})
	if got := red.clean("got tab\tand space"); got != "got [redacted]" {
		t.Errorf("clean = %q", got)
	}
	if got := red.cleanCode("tab\tand space"); got != "[redacted]" {
		t.Errorf("cleanCode = %q", got)
	}
}

func TestCleanWithTinySecret(t *testing.T) {
	// A one-letter secret is redacted everywhere, mangling the text, but
	// the codes Auto and callers branch on survive.
	red := newRedactor(Request{ClientID: "svc", ClientSecret: "a"})
	if got := red.clean("bad"); strings.Contains(got, "a") && !strings.Contains(got, redacted) {
		t.Errorf("clean = %q", got)
	}
	for _, code := range []string{"invalid_client", "unauthorized_client", "invalid_scope"} {
		if got := red.cleanCode(code); got != code {
			t.Errorf("cleanCode(%q) = %q", code, got)
		}
	}
}
