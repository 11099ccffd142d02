package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterWait is the longest a request waits for its host's rate limit
// inside Exchange. A longer wait is handed back to the caller (see
// IsThrottled), so a worker is not held while credentials of other
// token servers could be served.
const maxLimiterWait = time.Second

// slotRetry is when to try again after finding every request slot of a
// host taken: a request in flight ends within the client timeout, most of
// them far sooner.
const slotRetry = time.Second

// staleReservation is how long a reserved rate-limit token is kept for a
// request that does not come back for it.
const staleReservation = 10 * time.Minute

// maxTrackedHosts bounds the per-host state; hosts beyond it share one
// limit, so credentials naming ever new hosts cannot grow memory without end.
const maxTrackedHosts = 1024

// IsThrottled reports whether Exchange's error says the client's own
// per-host limits held the request back (nothing was sent), and when to try
// again. That is not a failure of the credential: the caller should simply
// retry after the returned duration.
func IsThrottled(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.Code == codeThrottled {
		return e.RetryAfter, true
	}
	return 0, false
}

func throttled(host, limit string, retry time.Duration) *Error {
	return &Error{Kind: Transient, Code: codeThrottled, RetryAfter: retry,
		Description: fmt.Sprintf("held back by the operator's own limit on %s toward %s; retrying in %s", limit, host, retry.Round(time.Millisecond))}
}

// hostLimits keeps a rate limiter and a cap on requests in flight per token
// host, so a slow or busy token server holds back only the credentials
// that use it.
type hostLimits struct {
	rate        rate.Limit // 0: no rate limit
	burst       int
	concurrency int // 0: no cap

	mu       sync.Mutex
	hosts    map[string]*hostLimit
	overflow *hostLimit
}

type hostLimit struct {
	rate  *rate.Limiter // nil: no rate limit
	slots chan struct{} // nil: no cap

	mu sync.Mutex
	// pending are rate-limit tokens reserved for requests that were told
	// to come back later, by request key, with the time they are due.
	pending map[string]time.Time
}

func newHostLimits(rps float64, burst, concurrency int) *hostLimits {
	h := &hostLimits{rate: rate.Limit(max(rps, 0)), burst: max(burst, 1), concurrency: max(concurrency, 0), hosts: map[string]*hostLimit{}}
	h.overflow = h.newLimit()
	return h
}

func (h *hostLimits) newLimit() *hostLimit {
	l := &hostLimit{pending: map[string]time.Time{}}
	if h.rate > 0 {
		l.rate = rate.NewLimiter(h.rate, h.burst)
	}
	if h.concurrency > 0 {
		l.slots = make(chan struct{}, h.concurrency)
	}
	return l
}

func (h *hostLimits) get(host string) *hostLimit {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.hosts[host]
	if !ok {
		if len(h.hosts) >= maxTrackedHosts {
			return h.overflow
		}
		l = h.newLimit()
		h.hosts[host] = l
	}
	return l
}

// acquire takes a request slot and a rate-limit token for host, waiting at
// most maxLimiterWait (and never past ctx). The returned release gives the
// slot back once the request is over.
//
// A longer wait is handed back as a throttled error, but the token stays
// reserved for the request (by key) at the time the error names: when the
// caller comes back then, the request goes out at once. So callers held
// back together come back spread at the limit's rate, not all at once.
func (h *hostLimits) acquire(ctx context.Context, host, key string) (release func(), e *Error) {
	host = strings.ToLower(host)
	l := h.get(host)
	release = func() {}
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
			release = func() { <-l.slots }
		default:
			return nil, throttled(host, "requests in flight", slotRetry)
		}
	}
	if l.rate == nil {
		return release, nil
	}
	delay := l.reserve(key, time.Now())
	if delay > maxLimiterWait {
		release()
		return nil, throttled(host, "requests per second", delay)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			release()
			return nil, &Error{Kind: Transient, Code: codeNetworkError,
				Description: "abandoned while waiting for the client-side rate limit: " + ctx.Err().Error(), cause: ctx.Err()}
		}
	}
	return release, nil
}

// reserve returns how long the request key must wait for its rate-limit
// token. A wait of up to maxLimiterWait is the caller's to sleep; a longer
// one is remembered, so the token reserved now is the one key uses when it
// comes back.
func (l *hostLimit) reserve(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if due, ok := l.pending[key]; ok {
		if wait := due.Sub(now); wait > maxLimiterWait {
			return wait
		}
		delete(l.pending, key)
		return max(due.Sub(now), 0)
	}
	delay := l.rate.ReserveN(now, 1).DelayFrom(now)
	if delay > maxLimiterWait {
		l.forgetStale(now)
		l.pending[key] = now.Add(delay)
	}
	return delay
}

// forgetStale drops reservations nobody came back for (a credential deleted
// while it waited), so the map cannot grow without end.
func (l *hostLimit) forgetStale(now time.Time) {
	for k, due := range l.pending {
		if now.Sub(due) > staleReservation {
			delete(l.pending, k)
		}
	}
}
