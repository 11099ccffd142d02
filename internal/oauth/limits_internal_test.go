package oauth

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestHostsBeyondTheTrackedOnesShareOneLimit(t *testing.T) {
	h := newHostLimits(1e-4, 1, 0)
	ctx := context.Background()
	for i := range maxTrackedHosts {
		if _, e := h.acquire(ctx, fmt.Sprintf("host-%d:443", i), "k"); e != nil {
			t.Fatalf("host %d: %v", i, e)
		}
	}
	if _, e := h.acquire(ctx, "host-0:443", "k"); e == nil || e.Code != codeThrottled {
		t.Fatalf("host 0 again: %v, want throttled", e)
	}
	if _, e := h.acquire(ctx, "one-more:443", "k"); e != nil {
		t.Fatalf("first untracked host: %v", e)
	}
	if _, e := h.acquire(ctx, "and-another:443", "k"); e == nil || e.Code != codeThrottled {
		t.Errorf("second untracked host: %v, want throttled by the shared limit", e)
	}
	if len(h.hosts) != maxTrackedHosts {
		t.Errorf("tracking %d hosts, want %d", len(h.hosts), maxTrackedHosts)
	}
}

func TestHostNamesCompareWithoutCase(t *testing.T) {
	h := newHostLimits(1e-4, 1, 0)
	if _, e := h.acquire(context.Background(), "Auth.Example:443", "k"); e != nil {
		t.Fatal(e)
	}
	if _, e := h.acquire(context.Background(), "auth.example:443", "k"); e == nil || e.Code != codeThrottled {
		t.Errorf("same host in other case: %v, want throttled", e)
	}
}

func TestHeldBackRequestsComeBackSpreadAndUseTheirReservation(t *testing.T) {
	l := newHostLimits(1, 1, 0).newLimit() // one request a second
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	steps := []struct {
		key  string
		now  time.Time
		want time.Duration
	}{
		{"a", t0, 0},                  // the burst
		{"b", t0, time.Second},        // short: the caller sleeps it
		{"c", t0, 2 * time.Second},    // long: held back, token reserved for c
		{"d", t0, 3 * time.Second},    // and the next one for d
		{"c", t0, 2 * time.Second},    // asking again reserves nothing more
		{"c", at(2 * time.Second), 0}, // c's turn: its token, no new one
		{"d", at(2500 * time.Millisecond), 500 * time.Millisecond},
		{"e", at(2500 * time.Millisecond), 1500 * time.Millisecond}, // after d's, not before
	}
	for i, s := range steps {
		if got := l.reserve(s.key, s.now); got != s.want {
			t.Fatalf("step %d: reserve(%s) = %s, want %s", i, s.key, got, s.want)
		}
	}
	// Only e still holds a reservation; c's and d's were used.
	if due, ok := l.pending["e"]; !ok || len(l.pending) != 1 || !due.Equal(at(4*time.Second)) {
		t.Errorf("pending = %v, want only e, due at +4s", l.pending)
	}
}

func TestReservationsNobodyClaimsAreForgotten(t *testing.T) {
	l := newHostLimits(1, 1, 0).newLimit()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l.reserve("a", t0)
	l.reserve("b", t0)
	if l.reserve("gone", t0) <= maxLimiterWait {
		t.Fatal("setup: gone should be held back")
	}
	later := t0.Add(staleReservation + time.Minute)
	l.reserve("x", later)
	l.reserve("y", later)
	if l.reserve("z", later) <= maxLimiterWait {
		t.Fatal("setup: z should be held back")
	}
	if _, ok := l.pending["gone"]; ok || len(l.pending) != 1 {
		t.Errorf("pending = %v, want only z", l.pending)
	}
}

func TestCallersWithTheSameRequestGetTurnsOfTheirOwn(t *testing.T) {
	base := Request{TokenURL: "https://auth.example/t", ClientID: "svc", ClientSecret: "s3cret-value", Scopes: []string{"a"}}
	a, b := base, base
	a.Caller, b.Caller = "ns/a", "ns/b"
	if a.limitKey() == b.limitKey() {
		t.Error("two callers with the same request share one rate-limit turn")
	}
	if base.limitKey() != base.limitKey() || strings.Contains(base.limitKey(), "s3cret-value") {
		t.Errorf("key without a caller %q: want the request's fields, without the secret", base.limitKey())
	}

	// Three credentials asking for the same token at once, one request a
	// second: each keeps its own turn, so they come back spread out.
	l := newHostLimits(1, 1, 0).newLimit()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second} {
		r := base
		r.Caller = fmt.Sprintf("ns/c%d", i)
		if got := l.reserve(r.limitKey(), t0); got != want {
			t.Errorf("caller %d: wait %s, want %s", i, got, want)
		}
	}
}
