package oauth

import (
	"fmt"
	"time"
)

// LifetimeSource says where a token's expiry came from.
type LifetimeSource string

const (
	// LifetimeExpiresIn: the response's expires_in.
	LifetimeExpiresIn LifetimeSource = "expires_in"
	// LifetimeJWT: the exp claim of a JWT access token, for servers that
	// omit expires_in.
	LifetimeJWT LifetimeSource = "jwt_exp"
	// LifetimeDefault: neither was there; Options.DefaultLifetime was assumed.
	LifetimeDefault LifetimeSource = "default"
	// LifetimeAuthTest: an API key, with the expires_at of the Vantage
	// API's auth/test answer; no expiry when it said null.
	LifetimeAuthTest LifetimeSource = "auth_test"
	// LifetimeUnverified: an API key the Vantage API could not check (it
	// has no auth/test endpoint), so its expiry is unknown.
	LifetimeUnverified LifetimeSource = "unverified"
)

// Token is an issued access token.
//
// It formats (String, GoString, and every fmt verb) without the access
// token, so it can be logged as is.
type Token struct {
	AccessToken string
	// TokenType is as issued ("Bearer", "bearer", ...); "Bearer" when the
	// server omitted it.
	TokenType string
	// IssuedAt is when the response arrived, by the client's clock.
	IssuedAt time.Time
	// Expiry is IssuedAt + expires_in; else the JWT exp claim; else
	// IssuedAt + Options.DefaultLifetime. LifetimeSource says which.
	Expiry         time.Time
	LifetimeSource LifetimeSource
	// Scopes are the granted scopes: the response's scope split on spaces,
	// or the requested scopes when the response has none (RFC 6749 §5.1).
	Scopes []string
	// TokenURL is the endpoint that issued the token: the request's, or
	// the one discovery named.
	TokenURL string
}

// String describes the token without the access token.
func (t Token) String() string {
	return fmt.Sprintf("oauth.Token{TokenType: %q, IssuedAt: %s, Expiry: %s, LifetimeSource: %q, Scopes: %q, AccessToken: %q}",
		t.TokenType, t.IssuedAt.Format(time.RFC3339), t.Expiry.Format(time.RFC3339), t.LifetimeSource, t.Scopes, hidden(t.AccessToken))
}

// GoString is String in Go syntax, for %#v.
func (t Token) GoString() string {
	return fmt.Sprintf("oauth.Token{AccessToken:%#v, TokenType:%#v, IssuedAt:%#v, Expiry:%#v, LifetimeSource:%#v, Scopes:%#v}",
		hidden(t.AccessToken), t.TokenType, t.IssuedAt, t.Expiry, string(t.LifetimeSource), t.Scopes)
}

// Format keeps fmt from printing the fields itself, which it would do for
// verbs such as %d or %x that bypass String.
func (t Token) Format(f fmt.State, verb rune) {
	formatSafely(f, verb, "oauth.Token", t.String, t.GoString)
}
