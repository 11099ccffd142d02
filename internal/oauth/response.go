package oauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// maxExpiresIn caps expires_in, as golang.org/x/oauth2 does, so a huge value
// cannot overflow a time.Duration.
const maxExpiresIn = math.MaxInt32

// maxRetryAfter caps Retry-After, so a confused or hostile server cannot park
// a credential for days; the caller's own backoff still applies on top.
const maxRetryAfter = time.Hour

// newToken is our Token for the library's, with the expiry by our clock:
// now is when the answer arrived.
func newToken(t *oauth2.Token, req Request, now time.Time, defaultLifetime time.Duration) *Token {
	tok := &Token{AccessToken: t.AccessToken, TokenType: cmp.Or(t.TokenType, "Bearer"), IssuedAt: now}
	// clientcredentials leaves Token.ExpiresIn empty and stamps Expiry with
	// time.Now, so the seconds come from the raw field, which the library
	// has already checked is a whole number.
	if lifetime, ok := expiresIn(t.Extra("expires_in")); ok {
		tok.Expiry, tok.LifetimeSource = now.Add(lifetime), LifetimeExpiresIn
	} else if exp, ok := jwtExpiry(t.AccessToken); ok {
		tok.Expiry, tok.LifetimeSource = exp, LifetimeJWT
	} else {
		tok.Expiry, tok.LifetimeSource = now.Add(defaultLifetime), LifetimeDefault
	}
	if granted, ok := grantedScopes(t.Extra("scope"), req.CommaScopes); ok {
		tok.Scopes = granted
	} else {
		tok.Scopes = slices.Clone(req.Scopes)
	}
	return tok
}

// expiresIn reads expires_in as the library hands it over: a JSON number or
// numeric string, or a form value. Zero, negative and unreadable values
// count as absent.
func expiresIn(v any) (time.Duration, bool) {
	var secs float64
	switch v := v.(type) {
	case float64:
		secs = v
	case int64:
		secs = float64(v)
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, false
		}
		secs = float64(n)
	default:
		return 0, false
	}
	if !(secs >= 1) {
		return 0, false
	}
	return time.Duration(min(secs, maxExpiresIn)) * time.Second, true
}

// grantedScopes reads the granted scopes: a space-separated string per
// RFC 6749 (commas separate too when the request used them), or a list of
// strings, which some servers send. Anything else counts as absent, and
// the requested scopes are assumed.
func grantedScopes(v any, comma bool) ([]string, bool) {
	switch v := v.(type) {
	case string:
		if comma {
			return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }), true
		}
		return strings.Fields(v), true
	case []any:
		list := make([]string, 0, len(v))
		for _, s := range v {
			s, ok := s.(string)
			if !ok {
				return nil, false
			}
			list = append(list, s)
		}
		return list, true
	}
	return nil, false
}

// failure turns what the library returned into an *Error, with what the
// recorder saw where the library's error is silent.
func (c *Client) failure(ctx, reqCtx context.Context, req Request, red *redactor, rec *recorder, err error, now time.Time) *Error {
	var urlErr *url.Error
	var refused *oauth2.RetrieveError
	switch {
	case errors.As(err, &urlErr):
		return c.networkError(ctx, reqCtx, "POST "+displayURL(req.TokenURL), red, urlErr)
	case rec.readErr != nil:
		return c.networkError(ctx, reqCtx, "POST "+displayURL(req.TokenURL), red, rec.readErr)
	case errors.As(err, &refused):
		return refusal(refused, red, now)
	case rec.status != 0:
		return unreadable(rec, red, err)
	default:
		// The library refused to build the request; validate lets through
		// nothing it would refuse, so this is a bug worth its own words.
		return invalidInput(red.clean("the token request could not be built: " + err.Error()))
	}
}

// refusal is the *Error for an answer with an error status, or a 2xx
// carrying an RFC 6749 §5.2 error code.
func refusal(re *oauth2.RetrieveError, red *redactor, now time.Time) *Error {
	resp := re.Response
	// A token in the body is a secret too, whatever the status.
	red.addTokensIn(re.Body)
	kind, code := classify(resp.StatusCode, red.cleanCode(re.ErrorCode))
	e := &Error{Kind: kind, Code: code, StatusCode: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now)}
	switch {
	case re.ErrorDescription != "":
		e.Description = red.clean(re.ErrorDescription)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		if loc := resp.Header.Get("Location"); loc != "" {
			e.Description = red.clean("redirected to " + redirectTarget(loc))
		}
	case re.ErrorCode == "" && len(re.Body) > 0:
		e.Description = red.clean("the body is not an OAuth2 error response" + contentTypeNote(resp.Header, red))
	}
	return e
}

// unreadable is the *Error for a 2xx the library could not make a token of:
// cut off, not JSON, a field of the wrong type, no access_token. The
// library's words say which; they hold no part of the body but a character
// or a value it could not read, and are cleaned like any server text.
func unreadable(rec *recorder, red *redactor, err error) *Error {
	e := &Error{Kind: Terminal, Code: codeInvalidResponse, StatusCode: rec.status}
	if rec.truncated {
		e.Description = fmt.Sprintf("the response is larger than %d bytes", maxBodySize)
		return e
	}
	e.Description = red.clean(strings.TrimPrefix(err.Error(), "oauth2: ") + contentTypeNote(rec.header, red))
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
