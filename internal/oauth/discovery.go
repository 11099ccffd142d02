package oauth

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Codes of discovery failures.
const (
	// codeDiscoveryFailed: no discovery document could be read (network,
	// any status but 200, a body that is not a discovery document).
	// Transient: a Keycloak still starting, or a realm not yet created,
	// answers like this for a while.
	codeDiscoveryFailed = "discovery_failed"
	// codeIssuerMismatch: the document names another issuer than the one
	// asked for. Terminal until spec.expectedIssuer or the server changes.
	codeIssuerMismatch = "issuer_mismatch"
	// codeInvalidDiscovery: the document is well formed but its
	// token_endpoint is not a URL a secret may be sent to. Terminal: the
	// server was configured that way, and asking again gets the same answer.
	codeInvalidDiscovery = "invalid_discovery"
)

// Discovery limits.
const (
	// discoveryTTL is how long a discovered provider is used before it is
	// read again. Token endpoints move rarely; a token endpoint answering
	// 404 is the caller's cue to call InvalidateDiscovery sooner.
	discoveryTTL = time.Hour
	// maxDiscoverySize bounds a discovery document. Keycloak's are about
	// 6 KiB; a larger one is not a document worth holding in memory.
	maxDiscoverySize = 1 << 20
)

// Well-known paths: OpenID Connect Discovery 1.0 §4 and RFC 8414 §3.
const (
	oidcWellKnown    = "/.well-known/openid-configuration"
	rfc8414WellKnown = "/.well-known/oauth-authorization-server"
)

// DiscoveryRequest names an issuer to discover.
type DiscoveryRequest struct {
	// IssuerURL is where the discovery document is looked for.
	IssuerURL string
	// ExpectedIssuer, when set, is the issuer the document must name
	// instead of IssuerURL: Keycloak reached through an in-cluster URL
	// names its public one.
	ExpectedIssuer string
	// CAPEM and InsecureSkipVerify are as in Request.
	CAPEM              []byte
	InsecureSkipVerify bool
}

// Provider is what discovery found.
type Provider struct {
	// Issuer is the issuer the document names (and that was accepted).
	Issuer        string
	TokenEndpoint string
	// AuthMethodsSupported is token_endpoint_auth_methods_supported; nil
	// when the document does not list it (see ChooseAuthMethod).
	AuthMethodsSupported []string
}

// discoveries caches providers and lets identical discoveries in flight
// share one fetch. A map with a done channel, as in shared.go, rather
// than golang.org/x/sync/singleflight: the count of waiters lets a test
// see that callers joined one fetch, and the cache is written under the
// same lock that ends the fetch, so no caller can fetch again in between.
type discoveries struct {
	mu       sync.Mutex
	cache    map[[sha256.Size]byte]cachedProvider
	inFlight map[[sha256.Size]byte]*discoveryCall
}

type cachedProvider struct {
	issuerURL string // for InvalidateDiscovery
	provider  Provider
	until     time.Time
}

type discoveryCall struct {
	done     chan struct{}
	provider *Provider
	err      *Error
	// waiters is how many callers joined this call, the first included.
	waiters int
}

// Discover reads the issuer's OpenID Connect discovery document, or, when
// that path answers 404, its RFC 8414 authorization server metadata.
//
// The document's issuer must equal req.ExpectedIssuer, or req.IssuerURL
// when that is empty, exactly: no normalization, so a trailing slash on one
// side and not the other is a mismatch. Both specifications require the
// identical value (OIDC Discovery §4.3, RFC 8414 §3.3), and users can
// name the one to accept in ExpectedIssuer rather than have us guess.
//
// This package enforces no host allowlist. The caller must check
// req.IssuerURL against it before calling, and the returned TokenEndpoint
// after, before sending it a secret: a discovery document must never move
// a secret to a host the administrator did not allow. Discover itself only
// checks that TokenEndpoint is an absolute http(s) URL without userinfo.
//
// Results are cached per issuer URL, expected issuer and TLS settings for
// an hour; failures are not. Identical discoveries in flight share one
// fetch, which runs to its end (at most two requests, each within
// Options.Timeout) even when the callers give up, so that a later call
// finds it cached. Every error is an *Error.
func (c *Client) Discover(ctx context.Context, req DiscoveryRequest) (*Provider, error) {
	if e := validateIssuer(req.IssuerURL); e != nil {
		return nil, e
	}
	key := discoveryKey(req)
	d := &c.discovery
	d.mu.Lock()
	if cached, ok := d.cache[key]; ok && c.clock.Now().Before(cached.until) {
		d.mu.Unlock()
		return cached.provider.clone(), nil
	}
	call, ok := d.inFlight[key]
	if !ok {
		call = &discoveryCall{done: make(chan struct{})}
		if d.inFlight == nil {
			d.inFlight = map[[sha256.Size]byte]*discoveryCall{}
		}
		d.inFlight[key] = call
		go c.runDiscovery(context.WithoutCancel(ctx), key, req, call)
	}
	call.waiters++
	d.mu.Unlock()

	select {
	case <-call.done:
		if call.err != nil {
			return nil, call.err
		}
		return call.provider.clone(), nil
	case <-ctx.Done():
		return nil, &Error{Kind: Transient, Code: codeDiscoveryFailed,
			Description: "abandoned while waiting for the discovery of " + req.IssuerURL + ": " + ctx.Err().Error(), cause: ctx.Err()}
	}
}

// runDiscovery fetches for call, caches a success, and wakes its waiters.
func (c *Client) runDiscovery(ctx context.Context, key [sha256.Size]byte, req DiscoveryRequest, call *discoveryCall) {
	p, e := c.discover(ctx, req)
	d := &c.discovery
	d.mu.Lock()
	now := c.clock.Now()
	if e == nil {
		if d.cache == nil {
			d.cache = map[[sha256.Size]byte]cachedProvider{}
		}
		// Issuers whose credentials are gone would stay forever otherwise.
		for k, cached := range d.cache {
			if !now.Before(cached.until) {
				delete(d.cache, k)
			}
		}
		d.cache[key] = cachedProvider{issuerURL: req.IssuerURL, provider: *p, until: now.Add(discoveryTTL)}
	}
	delete(d.inFlight, key)
	d.mu.Unlock()
	call.provider, call.err = p, e
	close(call.done)
}

// InvalidateDiscovery forgets what was discovered for issuerURL, whatever
// the expected issuer and TLS settings, so the next Discover reads the
// document again. Call it when a discovered token endpoint answers 404.
func (c *Client) InvalidateDiscovery(issuerURL string) {
	d := &c.discovery
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, cached := range d.cache {
		if cached.issuerURL == issuerURL {
			delete(d.cache, k)
		}
	}
}

// discover reads the document, trying the RFC 8414 location after a 404.
func (c *Client) discover(ctx context.Context, req DiscoveryRequest) (*Provider, *Error) {
	hc, e := c.httpClient(Request{CAPEM: req.CAPEM, InsecureSkipVerify: req.InsecureSkipVerify})
	if e != nil {
		return nil, e
	}
	oidcURL, rfc8414URL := wellKnownURLs(req.IssuerURL)
	docURL := oidcURL
	body, status, e := c.fetch(ctx, hc, docURL)
	if e == nil && status == http.StatusNotFound {
		docURL = rfc8414URL
		body, status, e = c.fetch(ctx, hc, docURL)
		if e == nil && status == http.StatusNotFound {
			return nil, discoveryFailed(fmt.Sprintf("no discovery document: GET %s and GET %s answered 404", oidcURL, rfc8414URL), nil)
		}
	}
	if e != nil {
		return nil, e
	}
	if status != http.StatusOK {
		return nil, discoveryFailed(fmt.Sprintf("GET %s answered %d", docURL, status), nil)
	}
	return parseDiscovery(body, docURL, cmp.Or(req.ExpectedIssuer, req.IssuerURL))
}

// fetch GETs one document. A status other than 200 is not an error here,
// so that discover can tell a 404 from the rest. hc never follows
// redirects, so a 3xx comes back as such.
func (c *Client) fetch(ctx context.Context, hc *http.Client, docURL string) ([]byte, int, *Error) {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(reqCtx, http.MethodGet, docURL, nil)
	if err != nil {
		return nil, 0, discoveryFailed("GET "+docURL+": "+err.Error(), err)
	}
	httpReq.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		httpReq.Header.Set("User-Agent", c.userAgent)
	}
	// Not hc itself: a Timeout set on Options.HTTPClient is not ours to use.
	resp, err := (&http.Client{Transport: hc.Transport, CheckRedirect: hc.CheckRedirect}).Do(httpReq)
	if err != nil {
		return nil, 0, c.discoveryNetworkError(ctx, reqCtx, docURL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoverySize+1))
	if err != nil {
		return nil, 0, c.discoveryNetworkError(ctx, reqCtx, docURL, err)
	}
	if len(body) > maxDiscoverySize {
		return nil, 0, discoveryFailed(fmt.Sprintf("the discovery document at %s is larger than %d bytes", docURL, maxDiscoverySize), nil)
	}
	return body, resp.StatusCode, nil
}

// discoveryNetworkError describes a fetch that got no complete answer:
// a transient discovery_failed, or, for a certificate that fails
// verification, a terminal tls_error, as for a token request.
func (c *Client) discoveryNetworkError(ctx, reqCtx context.Context, docURL string, err error) *Error {
	e := c.networkErrorOf(ctx, reqCtx, "the issuer", "GET "+docURL, &redactor{}, err)
	if e.Code == codeNetworkError {
		e.Code = codeDiscoveryFailed
	}
	return e
}

// parseDiscovery checks a document and returns its provider. A body that
// is not a JSON object with string issuer and token_endpoint is taken for
// a transient failure (an ingress error page, a server still starting); a
// document that names them is taken at its word.
func parseDiscovery(body []byte, docURL, wantIssuer string) (*Provider, *Error) {
	var doc struct {
		Issuer        string   `json:"issuer"`
		TokenEndpoint string   `json:"token_endpoint"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	}
	clean := (&redactor{}).clean
	switch err := json.Unmarshal(body, &doc); {
	case err != nil:
		return nil, discoveryFailed(fmt.Sprintf("the answer of %s is not a discovery document: %s", docURL, clean(err.Error())), nil)
	case doc.Issuer == "":
		return nil, discoveryFailed(fmt.Sprintf("the discovery document at %s names no issuer", docURL), nil)
	case doc.TokenEndpoint == "":
		return nil, discoveryFailed(fmt.Sprintf("the discovery document at %s names no token_endpoint", docURL), nil)
	case doc.Issuer != wantIssuer:
		return nil, &Error{Kind: Terminal, Code: codeIssuerMismatch,
			Description: fmt.Sprintf("the discovery document at %s names the issuer %q, not %q", docURL, clean(doc.Issuer), wantIssuer)}
	}
	u, err := url.Parse(doc.TokenEndpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, &Error{Kind: Terminal, Code: codeInvalidDiscovery,
			Description: fmt.Sprintf("the discovery document at %s names the token_endpoint %q, which is not an absolute http or https URL without credentials",
				docURL, clean(displayURL(doc.TokenEndpoint)))}
	}
	return &Provider{Issuer: doc.Issuer, TokenEndpoint: doc.TokenEndpoint, AuthMethodsSupported: doc.AuthMethods}, nil
}

// validateIssuer refuses issuer URLs no discovery can start from. RFC 8414
// §2 and OIDC Discovery §3 rule out a query and a fragment.
func validateIssuer(raw string) *Error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return invalidInput(fmt.Sprintf("the issuer URL %q is not an absolute http or https URL", displayURL(raw)))
	case u.User != nil:
		return invalidInput("the issuer URL must not hold credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return invalidInput(fmt.Sprintf("the issuer URL %q must not have a query or fragment", raw))
	}
	return nil
}

// wellKnownURLs are the OpenID Connect location (the path appended to the
// issuer's, OIDC Discovery §4.1) and the RFC 8414 one (inserted before it,
// §3.1). A trailing slash of the issuer is dropped in both. issuer has
// passed validateIssuer.
func wellKnownURLs(issuer string) (oidc, rfc8414 string) {
	u, _ := url.Parse(issuer)
	path := strings.TrimRight(u.EscapedPath(), "/")
	return strings.TrimRight(issuer, "/") + oidcWellKnown, u.Scheme + "://" + u.Host + rfc8414WellKnown + path
}

// discoveryKey hashes what makes two discoveries the same.
func discoveryKey(req DiscoveryRequest) [sha256.Size]byte {
	h := sha256.New()
	for _, b := range [][]byte{[]byte(req.IssuerURL), []byte(req.ExpectedIssuer), req.CAPEM} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	h.Write([]byte{boolByte(req.InsecureSkipVerify)})
	var key [sha256.Size]byte
	copy(key[:], h.Sum(nil))
	return key
}

func discoveryFailed(description string, cause error) *Error {
	return &Error{Kind: Transient, Code: codeDiscoveryFailed, Description: description, cause: cause}
}

// clone keeps callers from changing the cached list.
func (p Provider) clone() *Provider {
	p.AuthMethodsSupported = append([]string(nil), p.AuthMethodsSupported...)
	return &p
}
