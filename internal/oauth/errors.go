package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Kind says whether retrying an exchange can help.
type Kind string

const (
	// Terminal: retrying cannot help until an input changes (credentials,
	// scopes, token URL) or the token server's configuration does.
	Terminal Kind = "Terminal"
	// Transient: retry with backoff.
	Transient Kind = "Transient"
)

// Codes of our own, for failures the server did not name.
const (
	codeInvalidResponse = "invalid_response" // a 2xx that is not a token
	codeNetworkError    = "network_error"    // no answer: refused, reset, timed out, cancelled
	codeServerError     = "server_error"     // 5xx without a code
	codeRateLimited     = "rate_limited"     // 429 without a code
	codeThrottled       = "throttled"        // held back by the client-side limits, not sent
	codeTLSError        = "tls_error"        // the server's certificate failed verification
	codeHTTPError       = "http_error"       // any other status without a code
)

// RFC 6749 §5.2 codes this package reacts to.
const (
	codeInvalidClient          = "invalid_client"
	codeUnauthorizedClient     = "unauthorized_client"
	codeInvalidScope           = "invalid_scope"
	codeInvalidGrant           = "invalid_grant"
	codeInvalidRequest         = "invalid_request"
	codeUnsupportedGrantType   = "unsupported_grant_type"
	codeTemporarilyUnavailable = "temporarily_unavailable"
)

// Error is every failure Exchange returns.
//
// All of its text is safe to log and to put in a status condition: the
// client secret and any token are never part of it, and the server's words
// are cleaned and shortened before they are kept.
type Error struct {
	Kind Kind
	// Code is the RFC 6749 §5.2 error code when the server sent one;
	// otherwise one of invalid_response, network_error, server_error,
	// rate_limited, http_error, tls_error, or throttled (see IsThrottled). A request
	// this package will not send (a token URL that is not http(s), a
	// missing client id) is invalid_request with StatusCode 0.
	Code string
	// StatusCode is the HTTP status, 0 when there was no answer.
	StatusCode int
	// Description is short, human and safe: the server's
	// error_description (at most 200 runes, control characters removed,
	// secrets replaced by "[redacted]"), or what went wrong in our words.
	Description string
	// RetryAfter is the server's Retry-After, 0 when absent. It is capped at
	// maxRetryAfter.
	RetryAfter time.Duration

	// cause lets errors.Is see context.Canceled and the like. It is never an
	// error whose text could hold a credential (a *url.Error is unwrapped).
	cause error
	// api says the request went to the Vantage API (Check), not to the
	// token endpoint.
	api bool
	// assertion says Request.Assertion failed, so nothing was sent; its
	// description is the whole story.
	assertion bool
	// by is what authenticated the client, so that a refusal of the client
	// points at the input that holds its credential.
	by clientAuth
}

// clientAuth is what authenticates a client: a secret, a private key, or
// assertions made elsewhere.
type clientAuth int

const (
	bySecret clientAuth = iota
	byPrivateKey
	byAssertion
)

// checkClient says what to check when the token server refuses a client.
func (by clientAuth) checkClient() string {
	switch by {
	case byPrivateKey:
		return "check client_id, private_key and key_id in the service-account Secret, and that the token server holds the key's public half for the client"
	case byAssertion:
		return "check the client id, and that the token server trusts the client's assertions: for a ServiceAccount's tokens, the cluster's service-account issuer (its keys readable by the server) and the ServiceAccount, system:serviceaccount:<namespace>:<name>, as the client's subject"
	default:
		return "check client_id and client_secret in the service-account Secret"
	}
}

// Error says what happened and what the user can do about it.
func (e *Error) Error() string {
	if e.assertion {
		return fmt.Sprintf("no client assertion (%s): %s", e.Code, e.Description)
	}
	var b strings.Builder
	switch {
	case e.Code == codeDiscoveryFailed || e.Code == codeIssuerMismatch || e.Code == codeInvalidDiscovery:
		fmt.Fprintf(&b, "issuer discovery failed (%s)", e.Code)
	case e.api && e.StatusCode != 0:
		fmt.Fprintf(&b, "Vantage API answered %d %s", e.StatusCode, e.Code)
	case e.api:
		fmt.Fprintf(&b, "Vantage API request failed (%s)", e.Code)
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "token endpoint answered %d %s", e.StatusCode, e.Code)
	default:
		fmt.Fprintf(&b, "token request failed (%s)", e.Code)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	b.WriteString("; ")
	b.WriteString(e.hint())
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// IsStatus says whether err is an *Error for an answer with this status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == status
}

// IsTerminal says whether err is an *Error that retrying cannot fix.
func IsTerminal(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == Terminal
}

// hint is the part of the message a user can act on.
func (e *Error) hint() string {
	if e.api {
		return e.apiHint()
	}
	if e.Kind == Transient {
		switch {
		case e.StatusCode == http.StatusTooManyRequests || e.Code == codeRateLimited:
			if e.RetryAfter > 0 {
				return fmt.Sprintf("the token server is rate limiting requests, will retry in %s or later", e.RetryAfter)
			}
			return "requests to the token server are rate limited, will retry"
		case e.Code == codeNetworkError:
			return "the token endpoint could not be reached, will retry"
		case e.StatusCode == http.StatusRequestTimeout:
			return "the token server timed out, will retry"
		case e.Code == codeDiscoveryFailed:
			return "the issuer's discovery document could not be read, will retry: check spec.issuerURL if this persists"
		default:
			return "the token server is failing or unavailable, will retry"
		}
	}
	switch e.Code {
	case codeInvalidClient:
		return "the token server refused the client credentials: " + e.by.checkClient()
	case codeUnauthorizedClient:
		return "the token server refused the client: " + e.by.checkClient() + "; check also that the client may use the client-credentials grant"
	case codeInvalidScope:
		return "the client may not request these scopes: check the requested scopes against those the client is allowed"
	case codeInvalidGrant:
		return "the token server refused the client-credentials grant: check that the client has service accounts enabled"
	case codeInvalidRequest:
		return "the token request was malformed: check the token URL, audience, client auth method and service-account Secret"
	case codeUnsupportedGrantType:
		return "the endpoint does not offer the client-credentials grant: check that the token URL is the server's token endpoint"
	case codeInvalidResponse:
		return "the answer is not an OAuth2 token response: check that the token URL is the server's token endpoint"
	case codeIssuerMismatch:
		return "the discovery document names another issuer: set spec.expectedIssuer to the issuer it names if this server is the one meant, or correct spec.issuerURL"
	case codeInvalidDiscovery:
		return "the issuer's discovery document names an unusable token endpoint: fix the token server's configuration, or set spec.tokenURL instead of spec.issuerURL"
	case codeAuthMethodUnsupported:
		return "the token server does not list this client auth method: set spec.clientAuthMethod to one it lists, or enable the method for the client on the token server"
	case codeTLSError:
		return "trust the server's CA with spec.tls.caBundleRef, or fix the server's certificate"
	}
	switch {
	case e.StatusCode >= 300 && e.StatusCode < 400:
		return "redirects are not followed: set the token URL to the address it redirects to"
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return "the token server refused the request: check the client credentials and the token URL"
	case e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusMethodNotAllowed:
		return "there is no token endpoint at this address: check the token URL"
	default:
		return "the token server refused the request: check the token URL and the client's configuration on the token server"
	}
}

// apiHint is hint for a check against the Vantage API.
func (e *Error) apiHint() string {
	switch {
	case e.Kind == Transient:
		return "the Vantage API is failing or unreachable, will retry"
	case e.Code == CodeInvalidToken:
		return "the credential is not valid for this API: check the key or the client, and the API URL"
	case e.Code == CodeNoAuthTest:
		return "check the API URL"
	default:
		return "check the API URL: it must be the Vantage API, such as https://api.vantage.omnivector.solutions"
	}
}

// classify names a failed answer and says whether to retry it. Statuses that
// announce a temporary condition win over the code: a 503 is retried
// whatever its body says.
func classify(status int, code string) (Kind, string) {
	if code == "" {
		switch {
		case status == http.StatusTooManyRequests:
			code = codeRateLimited
		case status >= 500:
			code = codeServerError
		default:
			code = codeHTTPError
		}
	}
	switch {
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return Transient, code
	case code == codeServerError, code == codeTemporarilyUnavailable:
		return Transient, code
	default:
		return Terminal, code
	}
}

// invalidInput is the error for a request this package refuses to send.
func invalidInput(description string) *Error {
	return &Error{Kind: Terminal, Code: codeInvalidRequest, Description: description}
}
