package oauth

import (
	"context"
	"errors"
)

// CodeTokenURLNotAllowed: Request.AllowURL refused the issuer or the token
// endpoint discovery named, so nothing was sent there. Terminal.
const CodeTokenURLNotAllowed = "token_url_not_allowed"

// resolve fills in what discovery tells when the request names an issuer
// instead of a token URL: the token endpoint, the auth method the server
// lists, and the issuer as the assertion's audience. The discovery cache
// makes this free on all but the first exchange of the hour.
func (c *Client) resolve(ctx context.Context, req Request) (Request, *Error) {
	if req.IssuerURL == "" {
		return req, nil
	}
	// A discovery document must never become a way to send a secret to a
	// host the caller did not allow; the fetch itself obeys the same rule.
	if e := req.allow(req.IssuerURL, "the issuer URL"); e != nil {
		return req, e
	}
	p, err := c.Discover(ctx, DiscoveryRequest{IssuerURL: req.IssuerURL, ExpectedIssuer: req.ExpectedIssuer,
		CAPEM: req.CAPEM, InsecureSkipVerify: req.InsecureSkipVerify})
	if err != nil {
		return req, asError(err)
	}
	if e := req.allow(p.TokenEndpoint, "the token endpoint the issuer's discovery document names"); e != nil {
		return req, e
	}
	method, err := ChooseAuthMethod(p.AuthMethodsSupported, req.signsAssertion(), req.method())
	if err != nil {
		return req, asError(err)
	}
	req.TokenURL, req.AuthMethod = p.TokenEndpoint, method
	if req.AssertionAudience == "" {
		req.AssertionAudience = p.Issuer
	}
	return req, nil
}

// allow asks the caller's AllowURL about a URL before anything is sent.
func (r Request) allow(u, what string) *Error {
	if r.AllowURL == nil {
		return nil
	}
	if err := r.AllowURL(u); err != nil {
		return &Error{Kind: Terminal, Code: CodeTokenURLNotAllowed,
			Description: (&redactor{}).clean(what + " " + displayURL(u) + ": " + err.Error())}
	}
	return nil
}

// asError is err as an *Error; every error of this package is one.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Transient, Code: "error", Description: "unexpected failure", cause: err}
}
