package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"hash"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// shareWindow is how long after it arrives a token (or a check's answer) is
// also handed to identical requests from other callers. Credentials created
// or due together reach the server over a few seconds, not all in one
// instant; within one second their tokens are as good as the same one.
const shareWindow = time.Second

// sharedCalls lets identical requests share one call while it is in flight
// and for shareWindow after it: credentials that use one service account
// for the same scopes cost the token server one request, not one each, and
// credentials holding one API key cost the Vantage API one check. A caller
// never gets the same answer from the share twice, so a credential asking
// again (a forced refresh) gets a new one.
type sharedCalls[T any] struct {
	clock clock.PassiveClock

	mu    sync.Mutex
	calls map[[sha256.Size]byte]*sharedCall[T]
}

type sharedCall[T any] struct {
	done   chan struct{}
	answer *T
	err    error
	// waiters is how many identical requests joined this one.
	waiters int
	// until is when an answer that arrived stops being shared; takers are
	// the callers that have it.
	until  time.Time
	takers map[string]bool
}

// sharedExchanges shares token requests with the same token URL, client,
// secret, scopes, audience, auth method and TLS settings.
type sharedExchanges struct{ sharedCalls[Token] }

func (s *sharedExchanges) do(ctx context.Context, req Request, exchange func() (*Token, error)) (*Token, error) {
	return s.sharedCalls.do(ctx, shareKey(req), req.Caller, exchange)
}

// sharedChecks shares checks of one credential at one API with the same
// TLS settings.
type sharedChecks struct{ sharedCalls[Identity] }

func (s *sharedChecks) do(ctx context.Context, req CheckRequest, check func() (*Identity, error)) (*Identity, error) {
	return s.sharedCalls.do(ctx, checkShareKey(req), req.Caller, check)
}

// do runs call for the request of key, or waits for the identical one in
// flight, or takes the answer an identical one got within shareWindow. A
// waiter whose ctx ends first gives up alone.
func (s *sharedCalls[T]) do(ctx context.Context, key [sha256.Size]byte, caller string, call func() (*T, error)) (*T, error) {
	s.mu.Lock()
	s.forgetExpired()
	if c, ok := s.calls[key]; ok && !c.takers[caller] {
		c.takers[caller] = true
		select {
		case <-c.done:
			// Only successes stay in the map after they end.
			s.mu.Unlock()
			answer := *c.answer
			return &answer, nil
		default:
		}
		c.waiters++
		s.mu.Unlock()
		select {
		case <-c.done:
			if c.answer == nil {
				return nil, c.err
			}
			answer := *c.answer
			return &answer, nil
		case <-ctx.Done():
			return nil, &Error{Kind: Transient, Code: codeNetworkError,
				Description: "abandoned while waiting for an identical request: " + ctx.Err().Error(), cause: ctx.Err()}
		}
	}
	if s.calls == nil {
		s.calls = map[[sha256.Size]byte]*sharedCall[T]{}
	}
	c := &sharedCall[T]{done: make(chan struct{}), takers: map[string]bool{caller: true}}
	s.calls[key] = c
	s.mu.Unlock()

	c.answer, c.err = call()
	s.mu.Lock()
	if c.err == nil {
		c.until = s.clock.Now().Add(shareWindow)
	} else if s.calls[key] == c {
		delete(s.calls, key)
	}
	s.mu.Unlock()
	close(c.done)
	return c.answer, c.err
}

// forgetExpired drops the answers whose window has passed, so none is kept
// longer than that. The caller holds s.mu.
func (s *sharedCalls[T]) forgetExpired() {
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
	h := newKeyHash()
	for _, s := range []string{req.TokenURL, req.ClientID, req.ClientSecret, req.Audience, string(req.method())} {
		h.field([]byte(s))
	}
	h.count(len(req.Scopes))
	for _, s := range req.Scopes {
		h.field([]byte(s))
	}
	for _, s := range []string{req.KeyID, req.AssertionAudience, req.IssuerURL, req.ExpectedIssuer, req.AssertionSource} {
		h.field([]byte(s))
	}
	if req.PrivateKey != nil {
		// The public half names the key; requests signed by other keys of
		// the same client must not share a token.
		der, _ := x509.MarshalPKIXPublicKey(req.PrivateKey.Public())
		h.field(der)
	}
	h.field(req.CAPEM)
	h.flag(req.InsecureSkipVerify, 1)
	h.flag(req.CommaScopes, 2)
	return h.sum()
}

// checkShareKey hashes what makes two checks get the same answer.
func checkShareKey(req CheckRequest) [sha256.Size]byte {
	h := newKeyHash()
	h.field([]byte(req.APIURL))
	h.field([]byte(req.Credential))
	h.field(req.CAPEM)
	h.flag(req.InsecureSkipVerify, 1)
	return h.sum()
}

// keyHash hashes fields with their lengths, so that no two requests hash
// alike by moving bytes from one field to the next.
type keyHash struct{ h hash.Hash }

func newKeyHash() keyHash { return keyHash{sha256.New()} }

func (k keyHash) count(n int) { _ = binary.Write(k.h, binary.BigEndian, uint64(n)) }

func (k keyHash) field(b []byte) {
	k.count(len(b))
	k.h.Write(b)
}

func (k keyHash) flag(set bool, mark byte) {
	if set {
		k.h.Write([]byte{mark})
	}
}

func (k keyHash) sum() [sha256.Size]byte {
	var key [sha256.Size]byte
	copy(key[:], k.h.Sum(nil))
	return key
}
