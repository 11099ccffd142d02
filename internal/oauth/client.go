package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultLifetime = time.Hour
)

// Exchanger trades client credentials for an access token.
type Exchanger interface {
	Exchange(ctx context.Context, req Request) (*Token, error)
}

// Options configure a Client. The zero value is usable.
type Options struct {
	// HTTPClient's transport sends the requests; nil means one with the
	// proxy from the environment. Its Timeout is not used (Timeout is).
	// Redirects are never followed, whatever
	// its CheckRedirect says: a token endpoint has no reason to redirect, and
	// a 307 would resend the form body, client secret included, wherever it
	// points.
	HTTPClient *http.Client
	// Timeout bounds each request, reading the answer included; default 10s.
	Timeout time.Duration
	// DefaultLifetime is assumed when a response has neither expires_in nor
	// a JWT exp claim; default 1h.
	DefaultLifetime time.Duration
	// Clock stamps IssuedAt and reads Retry-After dates; default the real clock.
	Clock clock.PassiveClock
	// RequestsPerSecond limits requests toward each token host, so a mass
	// refresh does not trip its rate limits; 0 means unlimited. Burst
	// defaults to 1. MaxConcurrentPerHost caps the requests in flight to
	// one host; 0 means no cap. A request the limits would hold back for
	// long is not sent: Exchange returns a *Throttled instead.
	RequestsPerSecond    float64
	Burst                int
	MaxConcurrentPerHost int
	// UserAgent is sent when non-empty.
	UserAgent string
}

// Client is the Exchanger that talks HTTP. It is safe for concurrent use.
type Client struct {
	http            *http.Client
	timeout         time.Duration
	defaultLifetime time.Duration
	clock           clock.PassiveClock
	limits          *hostLimits
	tls             tlsClients
	shared          sharedExchanges
	checks          sharedChecks
	userAgent       string
	methods         methodMemory
	discovery       discoveries
}

var _ Exchanger = (*Client)(nil)

// NewClient returns a Client with the defaults filled in.
func NewClient(opts Options) *Client {
	c := &Client{
		timeout:         opts.Timeout,
		defaultLifetime: opts.DefaultLifetime,
		clock:           opts.Clock,
		userAgent:       opts.UserAgent,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.defaultLifetime <= 0 {
		c.defaultLifetime = DefaultLifetime
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.shared.clock, c.checks.clock = c.clock, c.clock
	var hc http.Client
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	} else {
		hc = http.Client{Transport: defaultTransport()}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc
	c.limits = newHostLimits(opts.RequestsPerSecond, opts.Burst, opts.MaxConcurrentPerHost)
	return c
}

// defaultTransport is a private copy of http.DefaultTransport, so other
// users of the default cannot change ours; it takes the proxy from the
// environment.
func defaultTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment}
}

// Exchange performs the client-credentials grant. Every error it returns is
// an *Error. Identical requests in flight at once, or within a second of
// each other, share one exchange.
func (c *Client) Exchange(ctx context.Context, req Request) (*Token, error) {
	if e := validate(req); e != nil {
		return nil, e
	}
	return c.shared.do(ctx, req, func() (*Token, error) { return c.exchange(ctx, req) })
}

// exchange is Exchange for one request of its own.
func (c *Client) exchange(ctx context.Context, req Request) (*Token, error) {
	req, e := c.resolve(ctx, req)
	if e != nil {
		return nil, e
	}
	tok, err := c.authenticate(ctx, req)
	if req.IssuerURL != "" && IsStatus(err, http.StatusNotFound) {
		// The token endpoint moved: the next attempt reads where to.
		c.InvalidateDiscovery(req.IssuerURL)
	}
	return tok, err
}

// authenticate sends the request with its auth method, or with Auto's
// methods in turn.
func (c *Client) authenticate(ctx context.Context, req Request) (*Token, error) {
	method := req.method()
	if method == AuthAuto && req.signsAssertion() {
		method = AuthPrivateKeyJWT
	}
	if method != AuthAuto {
		return result(c.attempt(ctx, req, method))
	}
	method = c.methods.first(req)
	tok, e := c.attempt(ctx, req, method)
	if e != nil && refusesClient(e) {
		method = otherMethod(method)
		tok, e = c.attempt(ctx, req, method)
	}
	if e == nil {
		c.methods.remember(req, method)
	}
	return result(tok, e)
}

// result keeps a nil *Error from becoming a non-nil error.
func result(tok *Token, e *Error) (*Token, error) {
	if e != nil {
		return nil, e
	}
	return tok, nil
}

// validate refuses requests that cannot succeed, before any secret is sent.
// An issuer URL is checked by Discover.
func validate(req Request) *Error {
	u, err := url.Parse(req.TokenURL)
	switch {
	case req.IssuerURL != "" && req.TokenURL != "":
		return invalidInput("the request names both a token URL and an issuer URL; give one")
	case req.IssuerURL != "":
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return invalidInput(fmt.Sprintf("the token URL %q is not an absolute http or https URL", displayURL(req.TokenURL)))
	case u.User != nil:
		return invalidInput("the token URL must not hold credentials")
	}
	switch {
	case req.ClientID == "":
		return invalidInput("the client id is empty")
	case req.PrivateKey != nil && req.Assertion != nil:
		return invalidInput("the client has both a private key and an assertion source; give one")
	case req.ClientSecret != "" && req.signsAssertion():
		return invalidInput("the client has both a secret and a private key or assertion source; give one")
	case req.ClientSecret == "" && !req.signsAssertion():
		return invalidInput("the client secret is empty")
	}
	switch m := req.method(); {
	case m == AuthAuto:
		return nil
	case m == AuthBasic || m == AuthPost:
		if req.signsAssertion() {
			return invalidInput(fmt.Sprintf("%s needs a client secret, and the client signs assertions: use PrivateKeyJWT or Auto", m))
		}
		return nil
	case m == AuthPrivateKeyJWT:
		if !req.signsAssertion() {
			return invalidInput("PrivateKeyJWT needs a private key, and the client has a secret: use ClientSecretBasic, ClientSecretPost or Auto")
		}
		return nil
	default:
		return invalidInput(fmt.Sprintf("unknown client auth method %q", truncate(string(req.AuthMethod), 40)))
	}
}

// attempt sends one token request with one auth method. golang.org/x/oauth2
// builds the request and reads the answer; around it sit our limits, our
// HTTP client (TLS, proxy, timeout, no redirects) and a recorder for what
// the library's errors leave out.
func (c *Client) attempt(ctx context.Context, req Request, method AuthMethod) (*Token, *Error) {
	hc, e := c.httpClient(req)
	if e != nil {
		return nil, e
	}
	u, _ := url.Parse(req.TokenURL) // validate has parsed it already
	release, e := c.limits.acquire(ctx, u.Host, req.limitKey())
	if e != nil {
		return nil, e
	}
	defer release()
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	rec := &recorder{next: hc.Transport, userAgent: c.userAgent}
	cfg := clientcredentials.Config{
		ClientID:     req.ClientID,
		ClientSecret: req.ClientSecret,
		TokenURL:     req.TokenURL,
		Scopes:       req.Scopes,
		AuthStyle:    authStyle(method),
	}
	red := newRedactor(req)
	cfg.EndpointParams = url.Values{}
	if req.CommaScopes && len(req.Scopes) > 0 {
		// The library joins Scopes with spaces only.
		cfg.Scopes = nil
		cfg.EndpointParams.Set("scope", strings.Join(req.Scopes, ","))
	}
	if req.Audience != "" {
		cfg.EndpointParams.Set("audience", req.Audience)
	}
	if method == AuthPrivateKeyJWT {
		// Made per attempt, so that no jti is ever sent twice.
		assertion, e := c.assertionFor(ctx, req)
		if e != nil {
			return nil, e
		}
		cfg.EndpointParams.Set("client_assertion_type", jwtBearer)
		cfg.EndpointParams.Set("client_assertion", assertion)
		// Until it expires the assertion is as good as the key; its
		// signature alone would make it again.
		red.add(assertion, assertion[strings.LastIndexByte(assertion, '.')+1:])
	}
	tok, err := cfg.Token(context.WithValue(reqCtx, oauth2.HTTPClient, rec.client(hc)))
	arrived := c.clock.Now()
	if err != nil {
		e := c.failure(ctx, reqCtx, req, red, rec, err, arrived)
		e.by = req.auth()
		return nil, e
	}
	t := newToken(tok, req, arrived, c.defaultLifetime)
	t.TokenURL = req.TokenURL
	return t, nil
}

// networkError describes a request that got no (complete) answer; sent
// says which, such as "POST <token URL>". The text of a *url.Error is not
// used as is: it quotes the URL, userinfo included.
func (c *Client) networkError(ctx, reqCtx context.Context, sent string, red *redactor, err error) *Error {
	return c.networkErrorOf(ctx, reqCtx, "the token server", sent, red, err)
}

// networkErrorOf is networkError for a request to server, as a certificate
// error names it.
func (c *Client) networkErrorOf(ctx, reqCtx context.Context, server, sent string, red *redactor, err error) *Error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var netErr net.Error
	var what string
	switch {
	case ctx.Err() != nil:
		what = "abandoned: " + ctx.Err().Error()
		err = ctx.Err()
	case reqCtx.Err() != nil:
		what = fmt.Sprintf("no answer within %s", c.timeout)
		err = reqCtx.Err()
	case errors.As(err, &netErr) && netErr.Timeout():
		what = "timed out: " + err.Error()
	case certificateError(err):
		return &Error{
			Kind:        Terminal,
			Code:        codeTLSError,
			Description: red.clean(server + "'s certificate is not trusted: " + err.Error()),
			cause:       err,
		}
	default:
		what = err.Error()
	}
	return &Error{
		Kind:        Transient,
		Code:        codeNetworkError,
		Description: red.clean(sent + ": " + what),
		cause:       err,
	}
}
