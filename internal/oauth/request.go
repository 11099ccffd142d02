package oauth

import (
	"context"
	"crypto"
	"fmt"
	"net/url"
	"strings"
)

// AuthMethod says how the client authenticates to the token endpoint.
type AuthMethod string

const (
	// AuthAuto tries HTTP Basic first and the form body only when the server
	// answered invalid_client or unauthorized_client. The method that worked
	// is remembered per token URL and client, so later exchanges start with it.
	AuthAuto AuthMethod = "Auto"
	// AuthBasic sends HTTP Basic, the id and secret form-urlencoded first
	// (RFC 6749 §2.3.1).
	AuthBasic AuthMethod = "ClientSecretBasic"
	// AuthPost sends client_id and client_secret in the form body.
	AuthPost AuthMethod = "ClientSecretPost"
	// AuthPrivateKeyJWT sends client_id and an assertion signed with
	// Request.PrivateKey in the form body (RFC 7523 §2.2). Auto means this
	// for a request with a private key.
	AuthPrivateKeyJWT AuthMethod = "PrivateKeyJWT"
)

// Request is one client-credentials exchange.
//
// It formats (String, GoString, and every fmt verb) without the client
// secret, so it can be logged as is.
type Request struct {
	// TokenURL is the token endpoint; or IssuerURL names an issuer whose
	// discovery document says where it is and which auth methods it takes
	// (ExpectedIssuer, when set, is the issuer the document must name).
	TokenURL       string
	IssuerURL      string
	ExpectedIssuer string
	// AllowURL, when set, is asked about the issuer URL and the discovered
	// token endpoint before anything is sent to them; an error refuses the
	// URL with CodeTokenURLNotAllowed.
	AllowURL func(url string) error
	ClientID string
	// One of ClientSecret, PrivateKey and Assertion authenticates the client.
	ClientSecret string
	// PrivateKey signs a private_key_jwt assertion; KeyID, when set, is its
	// kid header. AssertionAudience is the assertion's aud: the issuer when
	// it is known, else "" for the token URL.
	PrivateKey        crypto.Signer
	KeyID             string
	AssertionAudience string
	// Assertion, when set, supplies a client assertion made elsewhere (a
	// Kubernetes ServiceAccount token) instead of one PrivateKey signs. It
	// is called once per attempt with the audience the assertion must name
	// (AssertionAudience, else the issuer or the token URL), and what it
	// returns is sent as client_assertion in the form body, hidden from
	// every message and kept nowhere. An *AssertionError it returns says
	// how to report its failure. AssertionSource names where assertions
	// come from, so that requests from different sources never share a
	// token.
	Assertion       func(ctx context.Context, audience string) (string, error)
	AssertionSource string
	// Scopes are sent space-joined as scope, or comma-joined with
	// CommaScopes (the form Vantage's API documentation shows); none
	// means the client's default scopes.
	Scopes      []string
	CommaScopes bool
	// Audience is sent as audience when non-empty.
	Audience string
	// AuthMethod "" means AuthAuto.
	AuthMethod AuthMethod
	// CAPEM, when set, holds the only CA certificates (PEM) trusted for
	// the token server, for a server with a private CA.
	CAPEM []byte
	// InsecureSkipVerify turns off verification of the server's certificate.
	InsecureSkipVerify bool
	// Caller names who asks (a credential), so that a request the rate
	// limit holds back keeps its turn for that caller; callers with the same
	// request must not share one turn. Empty: the request's own fields.
	Caller string
}

// redacted stands in for a secret in anything this package prints.
const redacted = "[redacted]"

// String describes the request without the client secret.
func (r Request) String() string {
	return fmt.Sprintf("oauth.Request{TokenURL: %q, IssuerURL: %q, ClientID: %q, Scopes: %q, Audience: %q, AuthMethod: %q, ClientSecret: %q, PrivateKey: %q, KeyID: %q, AssertionSource: %q}",
		displayURL(r.TokenURL), displayURL(r.IssuerURL), r.ClientID, r.Scopes, r.Audience, r.method(), hidden(r.ClientSecret), hiddenKey(r.PrivateKey), r.KeyID, r.AssertionSource)
}

// GoString is String in Go syntax, for %#v.
func (r Request) GoString() string {
	return fmt.Sprintf("oauth.Request{TokenURL:%#v, IssuerURL:%#v, ClientID:%#v, ClientSecret:%#v, PrivateKey:%#v, KeyID:%#v, AssertionSource:%#v, Scopes:%#v, Audience:%#v, AuthMethod:%#v}",
		displayURL(r.TokenURL), displayURL(r.IssuerURL), r.ClientID, hidden(r.ClientSecret), hiddenKey(r.PrivateKey), r.KeyID, r.AssertionSource, r.Scopes, r.Audience, string(r.AuthMethod))
}

// Format keeps fmt from printing the fields itself, which it would do for
// verbs such as %d or %x that bypass String.
func (r Request) Format(f fmt.State, verb rune) {
	formatSafely(f, verb, "oauth.Request", r.String, r.GoString)
}

// signsAssertion says whether the client authenticates with a client
// assertion (private_key_jwt), signed by PrivateKey or made by Assertion.
func (r Request) signsAssertion() bool {
	return r.PrivateKey != nil || r.Assertion != nil
}

// auth says what authenticates the client.
func (r Request) auth() clientAuth {
	switch {
	case r.Assertion != nil:
		return byAssertion
	case r.PrivateKey != nil:
		return byPrivateKey
	default:
		return bySecret
	}
}

// method resolves the default.
func (r Request) method() AuthMethod {
	if r.AuthMethod == "" {
		return AuthAuto
	}
	return r.AuthMethod
}

// hiddenKey says whether a private key is set without showing it.
func hiddenKey(k crypto.Signer) string {
	if k == nil {
		return ""
	}
	return redacted
}

// hidden says whether a secret is set without showing it.
func hidden(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// displayURL drops the userinfo of a URL, the one part of a token URL that
// could hold a credential, so the URL can appear in messages.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	return u.String()
}

// formatSafely implements fmt.Formatter for types whose fields hold secrets:
// every verb prints the safe description or a bad-verb marker.
func formatSafely(f fmt.State, verb rune, typeName string, str, goStr func() string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, goStr())
			return
		}
		fmt.Fprint(f, str())
	case 's':
		fmt.Fprint(f, str())
	case 'q':
		fmt.Fprintf(f, "%q", str())
	default:
		fmt.Fprintf(f, "%%!%c(%s)", verb, typeName)
	}
}

// limitKey names the request for the rate limiter's reservations: the
// caller, or else what a token is asked for; never the secret.
func (r Request) limitKey() string {
	if r.Caller != "" {
		return r.Caller
	}
	return strings.Join([]string{r.TokenURL, r.ClientID, r.Audience, strings.Join(r.Scopes, " ")}, "\x00")
}
