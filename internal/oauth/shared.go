package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// shareWindow is how long after it arrives a token is also handed to
// identical requests from other callers. Credentials created or due
// together reach the token server over a few seconds, not all in one
// instant; within one second their tokens are as good as the same one.
const shareWindow = time.Second

// sharedExchanges lets identical requests (same token URL, client, secret,
// scopes, audience, auth method and TLS settings) share one exchange while
// it is in flight and for shareWindow after it: credentials that use one
// service account for the same scopes cost the token server one request,
// not one each. A caller never gets the same token from the share twice,
// so a credential asking again (a forced refresh) gets a new one.
type sharedExchanges struct {
	clock clock.PassiveClock

	mu    sync.Mutex
	calls map[[sha256.Size]byte]*sharedCall
}

type sharedCall struct {
	done chan struct{}
	tok  *Token
	err  error
	// waiters is how many identical requests joined this one.
	waiters int
	// until is when a token that arrived stops being shared; takers are the
	// callers that have it.
	until  time.Time
	takers map[string]bool
}

// do runs exchange for req, or waits for the identical one in flight, or
// takes the token an identical one got within shareWindow. A waiter whose
// ctx ends first gives up alone.
func (s *sharedExchanges) do(ctx context.Context, req Request, exchange func() (*Token, error)) (*Token, error) {
	key := shareKey(req)
	s.mu.Lock()
	s.forgetExpired()
	if c, ok := s.calls[key]; ok && !c.takers[req.Caller] {
		c.takers[req.Caller] = true
		select {
		case <-c.done:
			// Only successes stay in the map after they end.
			s.mu.Unlock()
			tok := *c.tok
			return &tok, nil
		default:
		}
		c.waiters++
		s.mu.Unlock()
		select {
		case <-c.done:
			if c.tok == nil {
				return nil, c.err
			}
			tok := *c.tok
			return &tok, nil
		case <-ctx.Done():
			return nil, &Error{Kind: Transient, Code: codeNetworkError,
				Description: "abandoned while waiting for an identical token request: " + ctx.Err().Error(), cause: ctx.Err()}
		}
	}
	if s.calls == nil {
		s.calls = map[[sha256.Size]byte]*sharedCall{}
	}
	c := &sharedCall{done: make(chan struct{}), takers: map[string]bool{req.Caller: true}}
	s.calls[key] = c
	s.mu.Unlock()

	c.tok, c.err = exchange()
	s.mu.Lock()
	if c.err == nil {
		c.until = s.clock.Now().Add(shareWindow)
	} else if s.calls[key] == c {
		delete(s.calls, key)
	}
	s.mu.Unlock()
	close(c.done)
	return c.tok, c.err
}

// forgetExpired drops the tokens whose window has passed, so none is kept
// longer than that. The caller holds s.mu.
func (s *sharedExchanges) forgetExpired() {
	now := s.clock.Now()
	for key, c := range s.calls {
		if !c.until.IsZero() && !now.Before(c.until) {
			delete(s.calls, key)
		}
	}
}

// shareKey hashes everything that makes two requests get the same token;
// the hash never leaves the process.
func shareKey(req Request) [sha256.Size]byte {
	h := sha256.New()
	field := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	for _, s := range []string{req.TokenURL, req.ClientID, req.ClientSecret, req.Audience, string(req.method())} {
		field([]byte(s))
	}
	_ = binary.Write(h, binary.BigEndian, uint64(len(req.Scopes)))
	for _, s := range req.Scopes {
		field([]byte(s))
	}
	for _, s := range []string{req.KeyID, req.AssertionAudience, req.IssuerURL, req.ExpectedIssuer} {
		field([]byte(s))
	}
	if req.PrivateKey != nil {
		// The public half names the key; requests signed by other keys of
		// the same client must not share a token.
		der, _ := x509.MarshalPKIXPublicKey(req.PrivateKey.Public())
		field(der)
	}
	field(req.CAPEM)
	if req.InsecureSkipVerify {
		h.Write([]byte{1})
	}
	if req.CommaScopes {
		h.Write([]byte{2})
	}
	var key [sha256.Size]byte
	copy(key[:], h.Sum(nil))
	return key
}
