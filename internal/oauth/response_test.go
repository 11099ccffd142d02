package oauth

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

func TestExpiresIn(t *testing.T) {
	// Values as golang.org/x/oauth2 hands them over: float64 from a JSON
	// number, string from a JSON string, int64 or float64 or string from a
	// form-encoded answer.
	tests := []struct {
		raw    any
		want   time.Duration
		wantOK bool
	}{
		{float64(3600), time.Hour, true},
		{"3600", time.Hour, true},
		{" 3600 ", time.Hour, true},
		{int64(3600), time.Hour, true},
		{1.5, time.Second, true},
		{float64(1e300), maxExpiresIn * time.Second, true},
		{"99999999999", maxExpiresIn * time.Second, true},
		{float64(0), 0, false},
		{float64(-60), 0, false},
		{int64(-60), 0, false},
		{"-60", 0, false},
		{"0x10", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{nil, 0, false},
		{true, 0, false},
		{map[string]any{}, 0, false},
		{0.5, 0, false},
		{math.NaN(), 0, false},
	}
	for _, tt := range tests {
		got, ok := expiresIn(tt.raw)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("expiresIn(%#v) = %s, %v; want %s, %v", tt.raw, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestGrantedScopes(t *testing.T) {
	tests := []struct {
		raw    any
		comma  bool
		want   []string
		wantOK bool
	}{
		{"a,b c", true, []string{"a", "b", "c"}, true},
		{"a,b", false, []string{"a,b"}, true},
		{"", true, []string{}, true},
		{"a b", false, []string{"a", "b"}, true},
		{" a  b ", false, []string{"a", "b"}, true},
		{"", false, []string{}, true},
		{[]any{"a", "b"}, false, []string{"a", "b"}, true},
		{[]any{}, false, []string{}, true},
		{[]any{"a", 7.0}, false, nil, false},
		{7.0, false, nil, false},
		{nil, false, nil, false},
	}
	for _, tt := range tests {
		got, ok := grantedScopes(tt.raw, tt.comma)
		if !slices.Equal(got, tt.want) || ok != tt.wantOK || ok && got == nil {
			t.Errorf("grantedScopes(%#v) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.wantOK)
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
