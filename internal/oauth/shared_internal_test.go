package oauth

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestIdenticalRequestsInFlightShareOneExchange(t *testing.T) {
	var s sharedExchanges
	req := Request{TokenURL: "https://auth.example/t", ClientID: "svc", ClientSecret: "s3cret-value", Scopes: []string{"a"}}
	var calls atomic.Int32
	release := make(chan struct{})
	exchange := func() (*Token, error) {
		n := calls.Add(1)
		<-release
		return &Token{AccessToken: fmt.Sprintf("token-%d", n)}, nil
	}
	const callers = 8
	tokens := make(chan string, callers)
	for i := range callers {
		r := req
		r.Caller = fmt.Sprintf("ns/%d", i) // callers differ; the request does not
		go func() {
			tok, err := s.do(context.Background(), r, exchange)
			if err != nil {
				t.Error(err)
			}
			tokens <- tok.AccessToken
		}()
	}
	// Wait, with a bound, until one exchange runs and the others joined it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		c := s.calls[shareKey(req)]
		joined := c != nil && c.waiters == callers-1
		s.mu.Unlock()
		if joined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the identical requests never joined one exchange")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range callers {
		if got := <-tokens; got != "token-1" {
			t.Errorf("token %q, want the one shared exchange's", got)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("exchanges = %d, want 1", calls.Load())
	}
	if len(s.calls) != 0 {
		t.Error("a finished exchange is still shared")
	}
}

func TestShareKeyDiffersForAnythingThatChangesTheToken(t *testing.T) {
	base := Request{TokenURL: "https://auth.example/t", ClientID: "svc", ClientSecret: "s", Scopes: []string{"a", "b"}}
	variants := map[string]func(*Request){
		"token URL":    func(r *Request) { r.TokenURL += "2" },
		"client":       func(r *Request) { r.ClientID = "other" },
		"secret":       func(r *Request) { r.ClientSecret = "other" },
		"scopes":       func(r *Request) { r.Scopes = []string{"a"} },
		"scope split":  func(r *Request) { r.Scopes = []string{"a b"} },
		"audience":     func(r *Request) { r.Audience = "x" },
		"auth method":  func(r *Request) { r.AuthMethod = AuthPost },
		"CA bundle":    func(r *Request) { r.CAPEM = []byte("x") },
		"verification": func(r *Request) { r.InsecureSkipVerify = true },
	}
	for name, change := range variants {
		r := base
		r.Scopes = append([]string(nil), base.Scopes...)
		change(&r)
		if shareKey(r) == shareKey(base) {
			t.Errorf("%s: same key, so a different request would share a token", name)
		}
	}
	same := base
	same.Caller = "ns/other"
	if shareKey(same) != shareKey(base) {
		t.Error("the caller changed the key: identical requests would not share")
	}
}
