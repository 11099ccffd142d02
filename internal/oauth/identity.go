package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AuthTestPath is the Vantage API's endpoint that says whom a bearer
// credential authenticates.
const AuthTestPath = "/v1/auth/test"

// Codes of Check's errors that the caller tells apart.
const (
	// CodeInvalidToken: the API refused the credential (401, or 200 with
	// authenticated false). Terminal.
	CodeInvalidToken = "invalid_token"
	// CodeNoAuthTest: the API has no auth/test endpoint (404), so the
	// credential cannot be checked. Terminal.
	CodeNoAuthTest = "auth_test_unavailable"
)

// CheckRequest is one check of a bearer credential (an API key or an
// access token) against the Vantage API.
//
// It formats without the credential, so it can be logged as is.
type CheckRequest struct {
	// APIURL is the API's base URL, such as https://api.vantage.omnivector.solutions.
	APIURL string
	// Credential is sent as Authorization: Bearer.
	Credential string
	// CAPEM and InsecureSkipVerify are as in Request.
	CAPEM              []byte
	InsecureSkipVerify bool
	// Caller names who asks, as in Request: identical checks share one
	// request, but a caller asking again gets an answer of its own.
	Caller string
}

// String describes the check without the credential.
func (r CheckRequest) String() string {
	return fmt.Sprintf("oauth.CheckRequest{APIURL: %q, Credential: %q}", displayURL(r.APIURL), hidden(r.Credential))
}

// GoString is String, for %#v.
func (r CheckRequest) GoString() string { return r.String() }

// Format keeps fmt from printing the fields itself.
func (r CheckRequest) Format(f fmt.State, verb rune) {
	formatSafely(f, verb, "oauth.CheckRequest", r.String, r.GoString)
}

// Checker asks the Vantage API whom a credential authenticates; *Client is
// one.
type Checker interface {
	Check(ctx context.Context, req CheckRequest) (*Identity, error)
}

var _ Checker = (*Client)(nil)

// Identity is what the API says of a credential it accepts.
type Identity struct {
	UserID string
	Scopes []string
	// ExpiresAt is nil for a credential that never expires.
	ExpiresAt *time.Time
}

// Check asks GET <APIURL>/v1/auth/test whom the credential authenticates.
// Every error is an *Error: CodeInvalidToken and CodeNoAuthTest as above,
// Transient for network failures, 5xx, 408 and 429 (with RetryAfter), and
// Terminal for any other answer, such as a page that is not the API.
// Identical checks in flight at once, or within a second of each other,
// share one request.
func (c *Client) Check(ctx context.Context, req CheckRequest) (*Identity, error) {
	return c.checks.do(ctx, req, func() (*Identity, error) {
		id, e := c.check(ctx, req)
		if e != nil {
			e.api = true
			return nil, e
		}
		return id, nil
	})
}

func (c *Client) check(ctx context.Context, req CheckRequest) (*Identity, *Error) {
	red := &redactor{}
	red.add(req.Credential)
	u, err := url.Parse(req.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, invalidInput(fmt.Sprintf("the API URL %q is not an absolute http or https URL without credentials", displayURL(req.APIURL)))
	}
	if req.Credential == "" {
		return nil, invalidInput("the credential to check is empty")
	}
	hc, e := c.httpClient(Request{CAPEM: req.CAPEM, InsecureSkipVerify: req.InsecureSkipVerify})
	if e != nil {
		return nil, e
	}
	release, e := c.limits.acquire(ctx, u.Host, "check\x00"+req.APIURL+"\x00"+req.Credential)
	if e != nil {
		return nil, e
	}
	defer release()
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	endpoint := strings.TrimSuffix(req.APIURL, "/") + AuthTestPath
	httpReq, err := http.NewRequestWithContext(reqCtx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, invalidInput("the check request could not be built")
	}
	httpReq.Header.Set("Authorization", "Bearer "+req.Credential)
	httpReq.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		httpReq.Header.Set("User-Agent", c.userAgent)
	}
	sent := "GET " + displayURL(endpoint)
	resp, err := hc.Do(httpReq)
	if err != nil {
		return nil, c.networkError(ctx, reqCtx, sent, red, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		return nil, c.networkError(ctx, reqCtx, sent, red, err)
	}
	return readIdentity(resp, body, red, c.clock.Now())
}

// readIdentity reads the answer of auth/test.
func readIdentity(resp *http.Response, body []byte, red *redactor, now time.Time) (*Identity, *Error) {
	var answer struct {
		Authenticated *bool    `json:"authenticated"`
		UserID        string   `json:"user_id"`
		Scopes        []string `json:"scopes"`
		ExpiresAt     *string  `json:"expires_at"`
		Error         string   `json:"error"`
		Description   string   `json:"error_description"`
	}
	parseErr := json.Unmarshal(body, &answer)
	if len(body) > maxBodySize {
		parseErr = fmt.Errorf("the answer is larger than %d bytes", maxBodySize)
	}
	status := resp.StatusCode
	said := ""
	if answer.Description != "" {
		said = ": " + answer.Description
	}
	fail := func(kind Kind, code, description string) *Error {
		return &Error{Kind: kind, Code: code, StatusCode: status, Description: red.clean(description),
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now)}
	}
	switch {
	case status == http.StatusUnauthorized:
		return nil, fail(Terminal, CodeInvalidToken, "the Vantage API refused the credential"+said)
	case status == http.StatusNotFound:
		return nil, fail(Terminal, CodeNoAuthTest, "the Vantage API at this URL has no "+AuthTestPath+" endpoint, so the credential cannot be checked")
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		kind, code := classify(status, red.cleanCode(answer.Error))
		return nil, fail(kind, code, fmt.Sprintf("the Vantage API answered %d", status))
	case status < 200 || status > 299:
		_, code := classify(status, red.cleanCode(answer.Error))
		return nil, fail(Terminal, code, fmt.Sprintf("the Vantage API answered %d%s", status, said))
	case parseErr != nil || answer.Authenticated == nil:
		return nil, fail(Terminal, codeInvalidResponse, "the answer is not the Vantage API's auth/test response: check the API URL"+contentTypeNote(resp.Header, red))
	case !*answer.Authenticated:
		return nil, fail(Terminal, CodeInvalidToken, "the Vantage API says the credential does not authenticate")
	}
	id := &Identity{UserID: red.clean(answer.UserID), Scopes: answer.Scopes}
	if answer.ExpiresAt != nil {
		at, err := time.Parse(time.RFC3339, *answer.ExpiresAt)
		if err != nil {
			return nil, fail(Terminal, codeInvalidResponse, "expires_at in the Vantage API's answer is not an RFC 3339 time")
		}
		at = at.UTC()
		id.ExpiresAt = &at
	}
	return id, nil
}

// IsCode says whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
