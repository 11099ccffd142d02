package oauth

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestIdenticalRequestsInFlightShareOneExchange(t *testing.T) {
	s := sharedExchanges{sharedCalls[Token]{clock: clocktesting.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))}}
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
	if c := s.calls[shareKey(req)]; c == nil || c.until.IsZero() {
		t.Error("the token is not kept for the share window")
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

func TestATokenIsSharedWithOtherCallersForAMomentAfterItArrives(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	s := sharedExchanges{sharedCalls[Token]{clock: clk}}
	req := Request{TokenURL: "https://auth.example/t", ClientID: "svc", ClientSecret: "s3cret-value"}
	var calls int
	exchange := func() (*Token, error) {
		calls++
		return &Token{AccessToken: fmt.Sprintf("token-%d", calls)}, nil
	}
	get := func(caller string) string {
		r := req
		r.Caller = caller
		tok, err := s.do(context.Background(), r, exchange)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	steps := []struct {
		after  time.Duration
		caller string
		want   string
		why    string
	}{
		{0, "ns/a", "token-1", "the first request is sent"},
		{shareWindow - time.Millisecond, "ns/b", "token-1", "another caller within the window shares it"},
		{0, "ns/a", "token-2", "a caller asking again gets a new token, never the same one twice"},
		{0, "ns/b", "token-2", "which the others may share"},
		{shareWindow, "ns/c", "token-3", "after the window a request is sent again"},
	}
	for _, st := range steps {
		clk.Step(st.after)
		if got := get(st.caller); got != st.want {
			t.Errorf("%s: got %s, want %s", st.why, got, st.want)
		}
	}
	clk.Step(shareWindow)
	get("ns/d")
	if len(s.calls) != 1 {
		t.Errorf("%d tokens kept, want only the newest: tokens past their window are dropped", len(s.calls))
	}
}

func TestAFailureIsNotSharedOnceItHasEnded(t *testing.T) {
	s := sharedExchanges{sharedCalls[Token]{clock: clocktesting.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))}}
	req := Request{TokenURL: "https://auth.example/t", ClientID: "svc", ClientSecret: "s3cret-value"}
	var calls int
	fail := func() (*Token, error) { calls++; return nil, &Error{Kind: Transient, Code: "server_error"} }
	for _, caller := range []string{"ns/a", "ns/b"} {
		r := req
		r.Caller = caller
		if _, err := s.do(context.Background(), r, fail); err == nil {
			t.Fatal("no error")
		}
	}
	if calls != 2 {
		t.Errorf("%d exchanges, want 2: a failure must not stand in for a later request", calls)
	}
	if len(s.calls) != 0 {
		t.Error("a failed exchange is kept")
	}
}
