package refresh

import "time"

// RefreshTime says when a token issued at issued and expiring at expires is
// due for refresh: refreshBefore ahead of expiry (one third of the lifetime
// when refreshBefore is nil), brought forward by the object's jitter.
//
// A refreshBefore that would leave less than half the lifetime (for example
// 10m against a 5m token) is capped at half the lifetime, so a token server
// issuing shorter tokens than expected is not asked again at once. The result
// is truncated to whole seconds, the precision status keeps, and is never
// sooner than MinInterval after issue.
func (p Policy) RefreshTime(issued, expires time.Time, refreshBefore *time.Duration, uid string) time.Time {
	lifetime := expires.Sub(issued)
	if lifetime <= 0 {
		return issued.Add(p.MinInterval).Truncate(time.Second)
	}
	before := lifetime / 3
	if refreshBefore != nil {
		before = min(*refreshBefore, lifetime/2)
	}
	at := expires.Add(-before - p.Jitter(uid, lifetime))
	return roundUpFrom(at, issued.Add(p.MinInterval))
}

// roundUpFrom truncates at to whole seconds but keeps it at or after floor.
func roundUpFrom(at, floor time.Time) time.Time {
	if at.Before(floor) {
		at = floor
	}
	t := at.Truncate(time.Second)
	if t.Before(floor) {
		t = t.Add(time.Second)
	}
	return t
}

// Backoff says how long to wait after the failures-th consecutive transient
// failure. The delay grows exponentially from BackoffBase to BackoffMax with
// a stable per-object jitter of up to ±20%. While the current token is still
// valid the delay is at most half the time left, so retries get denser as
// expiry approaches and a token server that recovers before then is used in
// time. A server's Retry-After is honoured as a lower bound.
func (p Policy) Backoff(failures int32, now, expires time.Time, retryAfter time.Duration, uid string) time.Duration {
	d := exponential(p.BackoffBase, p.BackoffMax, failures)
	d = time.Duration(float64(d) * (0.8 + 0.4*attemptFraction(uid, failures)))
	if left := expires.Sub(now); left > 0 && d > left/2 {
		d = left / 2
	}
	d = max(d, retryAfter, p.MinInterval)
	return d.Truncate(time.Second)
}

// StalledRetry says how long to wait before trying again after the
// failures-th consecutive terminal failure (a refused client or scope). Such
// failures wait for an input to change, which triggers a retry at once; this
// slow retry only covers a fix made on the token server's side.
func (p Policy) StalledRetry(failures int32) time.Duration {
	return exponential(p.StalledBase, p.StalledMax, failures)
}

// exponential returns base·2^(n-1) capped at limit, for n ≥ 1.
func exponential(base, limit time.Duration, n int32) time.Duration {
	d := base
	for i := int32(1); i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
