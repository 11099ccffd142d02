package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// sharedExchanges lets identical requests in flight at the same moment
// (same token URL, client, secret, scopes, audience, auth method and TLS
// settings) share one exchange: credentials that use one service account
// for the same scopes cost the token server one request, not one each.
type sharedExchanges struct {
	mu    sync.Mutex
	calls map[[sha256.Size]byte]*sharedCall
}

type sharedCall struct {
	done chan struct{}
	tok  *Token
	err  error
	// waiters is how many identical requests joined this one.
	waiters int
}

// do runs exchange for req, or waits for the identical one in flight and
// takes its result. A waiter whose ctx ends first gives up alone.
func (s *sharedExchanges) do(ctx context.Context, req Request, exchange func() (*Token, error)) (*Token, error) {
	key := shareKey(req)
	s.mu.Lock()
	if c, ok := s.calls[key]; ok {
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
	c := &sharedCall{done: make(chan struct{})}
	s.calls[key] = c
	s.mu.Unlock()

	c.tok, c.err = exchange()
	s.mu.Lock()
	delete(s.calls, key)
	s.mu.Unlock()
	close(c.done)
	return c.tok, c.err
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
	field(req.CAPEM)
	if req.InsecureSkipVerify {
		h.Write([]byte{1})
	}
	var key [sha256.Size]byte
	copy(key[:], h.Sum(nil))
	return key
}
