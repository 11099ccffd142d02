package oauth

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"sync"
)

// maxTLSClients bounds the cached HTTP clients for requests with their own
// TLS settings; beyond it a request gets a client of its own that keeps no
// idle connections.
const maxTLSClients = 256

// tlsClients keeps one HTTP client per distinct CA bundle and verification
// setting, so requests with the same settings share connections.
type tlsClients struct {
	mu      sync.Mutex
	clients map[[sha256.Size]byte]*http.Client
}

// httpClient returns the HTTP client for req: the default one, or one
// trusting req.CAPEM (and nothing else), or one that does not verify.
func (c *Client) httpClient(req Request) (*http.Client, *Error) {
	if len(req.CAPEM) == 0 && !req.InsecureSkipVerify {
		return c.http, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if req.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true //nolint:gosec // asked for by spec.tls.insecureSkipVerify, and reported
	} else {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(req.CAPEM) {
			return nil, &Error{Kind: Terminal, Code: codeInvalidRequest, Description: "the CA bundle holds no PEM certificate"}
		}
		cfg.RootCAs = pool
	}
	key := sha256.Sum256(append([]byte{boolByte(req.InsecureSkipVerify)}, req.CAPEM...))

	c.tls.mu.Lock()
	defer c.tls.mu.Unlock()
	if hc, ok := c.tls.clients[key]; ok {
		return hc, nil
	}
	t := defaultTransport().(*http.Transport)
	t.TLSClientConfig = cfg
	hc := &http.Client{Transport: t, CheckRedirect: c.http.CheckRedirect}
	if c.tls.clients == nil {
		c.tls.clients = map[[sha256.Size]byte]*http.Client{}
	}
	if len(c.tls.clients) < maxTLSClients {
		c.tls.clients[key] = hc
	} else {
		t.DisableKeepAlives = true
	}
	return hc, nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// certificateError finds a failed verification of the server's
// certificate in err (crypto/tls wraps every one, unknown authority and
// wrong name included): retrying cannot fix that until the CA bundle or the
// server's certificate changes.
func certificateError(err error) bool {
	var verr *tls.CertificateVerificationError
	return errors.As(err, &verr)
}
