// Package oauth exchanges an OAuth2 confidential client's credentials
// (client_id and client_secret) for an access token with the
// client-credentials grant (RFC 6749 §4.4).
//
// golang.org/x/oauth2/clientcredentials does the exchange on the wire. This
// package adds what a controller needs around it, for token servers as they
// are found rather than as the RFC describes them: Keycloak clients that
// only accept credentials in the form body, servers that refuse a bad
// secret with unauthorized_client (Auto tries the other method once, and
// only then), tokens whose expiry is only in the JWT exp claim, an expiry
// computed with an injected clock, per-host rate limits, and identical
// requests sharing one exchange. Every failure is an *Error that says
// whether retrying can help, so a caller can back off on a transient
// failure and wait for an input to change on a terminal one.
//
// Secrets stay out of everything this package prints: Request, Token and
// Error format without the client secret or the access token, and the
// server's error text is cleaned of both before it is kept. The library's
// own error texts, which quote the server's body, are never passed on.
//
// The package knows nothing of Kubernetes; the controller maps its inputs
// and results to Secrets and status.
package oauth
