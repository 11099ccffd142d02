package oauth

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxBodySize bounds how much of an answer is read, as golang.org/x/oauth2
// does: a token response is a few KiB, and a server streaming more must not
// tie up memory or the reconcile loop.
const maxBodySize = 1 << 20

// maxExpiresIn caps expires_in, as golang.org/x/oauth2 does, so a huge value
// cannot overflow a time.Duration.
const maxExpiresIn = math.MaxInt32

// maxRetryAfter caps Retry-After, so a confused or hostile server cannot park
// a credential for days; the caller's own backoff still applies on top.
const maxRetryAfter = time.Hour

// response is what an exchange read off the wire.
type response struct {
	status int
	header http.Header
	// body holds at most maxBodySize bytes; truncated says there was more.
	body      []byte
	truncated bool
}

// parseResponse turns a token endpoint's answer into a Token or an *Error;
// exactly one of the two is non-nil. now is when the answer arrived.
func parseResponse(resp response, req Request, now time.Time, defaultLifetime time.Duration) (*Token, *Error) {
	red := newRedactor(req)
	var fields map[string]json.RawMessage
	jsonErr := json.Unmarshal(resp.body, &fields)
	// Tokens in the body are secrets too, whatever the status.
	for _, name := range []string{"access_token", "refresh_token", "id_token"} {
		if s, ok := stringField(fields, name); ok {
			red.add(s)
		}
	}
	retryAfter := parseRetryAfter(resp.header.Get("Retry-After"), now)

	if resp.status < 200 || resp.status > 299 {
		code, _ := stringField(fields, "error")
		return nil, failure(resp, red, code, fields, jsonErr == nil, retryAfter)
	}
	if resp.truncated {
		return nil, &Error{Kind: Terminal, Code: codeInvalidResponse, StatusCode: resp.status,
			Description: fmt.Sprintf("the response is larger than %d bytes", maxBodySize)}
	}
	if jsonErr != nil || fields == nil {
		return nil, &Error{Kind: Terminal, Code: codeInvalidResponse, StatusCode: resp.status,
			Description: red.clean("the response is not a JSON object" + contentTypeNote(resp.header, red))}
	}
	accessToken, _ := stringField(fields, "access_token")
	if accessToken == "" {
		// Some servers put an RFC 6749 §5.2 error in a 200.
		if code, _ := stringField(fields, "error"); code != "" {
			return nil, failure(resp, red, code, fields, true, retryAfter)
		}
		return nil, &Error{Kind: Terminal, Code: codeInvalidResponse, StatusCode: resp.status,
			Description: "the response has no access_token"}
	}

	tok := &Token{AccessToken: accessToken, TokenType: "Bearer", IssuedAt: now}
	if tt, _ := stringField(fields, "token_type"); tt != "" {
		tok.TokenType = tt
	}
	if lifetime, ok := parseExpiresIn(fields["expires_in"]); ok {
		tok.Expiry, tok.LifetimeSource = now.Add(lifetime), LifetimeExpiresIn
	} else if exp, ok := jwtExpiry(accessToken); ok {
		tok.Expiry, tok.LifetimeSource = exp, LifetimeJWT
	} else {
		tok.Expiry, tok.LifetimeSource = now.Add(defaultLifetime), LifetimeDefault
	}
	if granted, ok := parseScope(fields["scope"]); ok {
		tok.Scopes = granted
	} else {
		tok.Scopes = slices.Clone(req.Scopes)
	}
	return tok, nil
}

// failure builds the *Error for an answer that is not a token. isJSON says
// whether the body parsed as a JSON object, so that an HTML error page is
// described by its type rather than left unexplained.
func failure(resp response, red *redactor, code string, fields map[string]json.RawMessage, isJSON bool, retryAfter time.Duration) *Error {
	kind, code := classify(resp.status, red.cleanCode(code))
	e := &Error{Kind: kind, Code: code, StatusCode: resp.status, RetryAfter: retryAfter}
	switch desc, _ := stringField(fields, "error_description"); {
	case desc != "":
		e.Description = red.clean(desc)
	case resp.status >= 300 && resp.status < 400:
		if loc := resp.header.Get("Location"); loc != "" {
			e.Description = red.clean("redirected to " + redirectTarget(loc))
		}
	case !isJSON && len(resp.body) > 0:
		e.Description = red.clean("the body is not an OAuth2 error response" + contentTypeNote(resp.header, red))
	}
	return e
}

// redirectTarget shows where a redirect points, enough to fix the token URL:
// scheme, host and the decoded path, so that redaction sees the path as the
// server meant it. Userinfo, query and fragment are left out.
func redirectTarget(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.Host == "" {
		return u.Path
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// contentTypeNote names the Content-Type, which usually tells an HTML login
// or proxy page apart from a broken token server. It is cleaned before it is
// shortened, so no part of a secret survives the cut.
func contentTypeNote(h http.Header, red *redactor) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		return ""
	}
	return ` (Content-Type "` + truncate(red.clean(ct), 100) + `")`
}

// stringField returns a JSON string member of an object, if it is one.
func stringField(fields map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := fields[name]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// parseExpiresIn accepts a positive number of seconds, as a JSON number or
// as a string holding a decimal ("3600"), which some servers send. Anything
// else counts as absent.
func parseExpiresIn(raw json.RawMessage) (time.Duration, bool) {
	text := string(raw)
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(raw, &text); err != nil || !isDecimal(strings.TrimSpace(text)) {
			return 0, false
		}
		text = strings.TrimSpace(text)
	}
	secs, err := strconv.ParseFloat(text, 64)
	if err != nil || !(secs > 0) {
		return 0, false
	}
	secs = min(secs, maxExpiresIn)
	d := time.Duration(secs * float64(time.Second))
	return d, d > 0
}

// isDecimal accepts digits with an optional fraction, and nothing that
// strconv.ParseFloat would also take (hex, "Inf", exponents, signs).
func isDecimal(s string) bool {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	return allDigits(intPart) && (!hasFrac || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseScope reads the granted scopes: a space-separated string per RFC 6749,
// or a list of strings, which some servers send. Anything else counts as
// absent, and the requested scopes are assumed.
func parseScope(raw json.RawMessage) ([]string, bool) {
	if raw == nil || string(raw) == "null" {
		return nil, false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.Fields(s), true
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil && list != nil {
		return list, true
	}
	return nil, false
}

// parseRetryAfter reads Retry-After as delta-seconds or an HTTP-date
// (RFC 9110 §10.2.3), relative to now; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if allDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
