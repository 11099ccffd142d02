package refresh

import (
	"fmt"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

var epoch = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func dur(d time.Duration) *time.Duration { return &d }

func TestRefreshTime(t *testing.T) {
	p := DefaultPolicy()
	noJitter := p
	noJitter.JitterFraction = 0

	tests := []struct {
		name          string
		policy        Policy
		lifetime      time.Duration
		refreshBefore *time.Duration
		want          time.Duration // after issue
	}{
		{"default is two thirds of the lifetime", noJitter, time.Hour, nil, 40 * time.Minute},
		{"explicit refreshBefore", noJitter, time.Hour, dur(10 * time.Minute), 50 * time.Minute},
		{"refreshBefore longer than the lifetime is capped at half", noJitter, 5 * time.Minute, dur(10 * time.Minute), 150 * time.Second},
		{"refreshBefore of exactly half", noJitter, 10 * time.Minute, dur(5 * time.Minute), 5 * time.Minute},
		{"tiny lifetime still waits the minimum interval", noJitter, 1500 * time.Millisecond, nil, time.Second},
		{"lifetime of zero refreshes after the minimum interval", noJitter, 0, nil, time.Second},
		{"already expired token refreshes after the minimum interval", noJitter, -time.Hour, nil, time.Second},
		{"huge lifetime", noJitter, 10 * 365 * 24 * time.Hour, nil, 10 * 365 * 24 * time.Hour * 2 / 3},
		{"sub-second results are truncated", noJitter, 3*time.Second + 300*time.Millisecond, nil, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(epoch)
			issued := clk.Now()
			got := tt.policy.RefreshTime(issued, issued.Add(tt.lifetime), tt.refreshBefore, "uid-1")
			if want := issued.Add(tt.want); !got.Equal(want) {
				t.Fatalf("RefreshTime = %s after issue, want %s", got.Sub(issued), tt.want)
			}
		})
	}
}

func TestRefreshTimeIsWholeSecondsAndBeforeExpiry(t *testing.T) {
	p := DefaultPolicy()
	issued := epoch.Add(123456789 * time.Nanosecond)
	for _, lifetime := range []time.Duration{5 * time.Second, time.Minute, time.Hour, 24 * time.Hour} {
		for i := range 200 {
			uid := fmt.Sprintf("uid-%d", i)
			at := p.RefreshTime(issued, issued.Add(lifetime), nil, uid)
			if at.Nanosecond() != 0 {
				t.Fatalf("lifetime %s uid %s: %s is not whole seconds", lifetime, uid, at)
			}
			if !at.After(issued) || !at.Before(issued.Add(lifetime)) {
				t.Fatalf("lifetime %s uid %s: refresh at %s not within the lifetime", lifetime, uid, at.Sub(issued))
			}
		}
	}
}

func TestJitterBoundsAndStability(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		lifetime time.Duration
		max      time.Duration
	}{
		{time.Hour, 5 * time.Minute},           // 10% would be 6m: capped
		{10 * time.Minute, time.Minute},        // 10%
		{10 * time.Second, time.Second},        // 10%
		{30 * 24 * time.Hour, 5 * time.Minute}, // capped
		{0, 0},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for i := range 1000 {
			uid := fmt.Sprintf("8d0f2a64-%04d", i)
			j := p.Jitter(uid, tt.lifetime)
			if j < 0 || (tt.max > 0 && j >= tt.max) || (tt.max == 0 && j != 0) {
				t.Fatalf("lifetime %s: jitter %s outside [0, %s)", tt.lifetime, j, tt.max)
			}
			if again := p.Jitter(uid, tt.lifetime); again != j {
				t.Fatalf("jitter for %s not stable: %s then %s", uid, j, again)
			}
			seen[j.Truncate(tt.max/10+1)] = true
		}
		// 1000 objects must spread over the whole window, not bunch up.
		if tt.max > 0 && len(seen) < 10 {
			t.Fatalf("lifetime %s: jitter of 1000 objects fell into only %d of 10 buckets", tt.lifetime, len(seen))
		}
	}
}

func TestRefreshesOfObjectsCreatedTogetherSpreadOut(t *testing.T) {
	p := DefaultPolicy()
	issued := epoch
	times := map[time.Time]int{}
	for i := range 1000 {
		times[p.RefreshTime(issued, issued.Add(time.Hour), nil, fmt.Sprintf("uid-%d", i))]++
	}
	// With a 5 minute jitter window, 1000 objects land on many distinct
	// seconds; no single second takes more than a few of them.
	most := 0
	for _, n := range times {
		most = max(most, n)
	}
	if len(times) < 200 || most > 15 {
		t.Fatalf("1000 refreshes on %d distinct seconds, at most %d in one; want spread", len(times), most)
	}
}

func TestBackoff(t *testing.T) {
	p := DefaultPolicy()
	p.BackoffBase = 4 * time.Second
	p.BackoffMax = 64 * time.Second
	far := epoch.Add(24 * time.Hour)

	tests := []struct {
		name       string
		failures   int32
		expires    time.Time
		retryAfter time.Duration
		min, max   time.Duration
	}{
		{"first failure near the base", 1, far, 0, 3 * time.Second, 5 * time.Second},
		{"doubles", 2, far, 0, 6 * time.Second, 10 * time.Second},
		{"doubles again", 3, far, 0, 12 * time.Second, 20 * time.Second},
		{"capped", 30, far, 0, 51 * time.Second, 77 * time.Second},
		{"bounded by half the time left", 30, epoch.Add(20 * time.Second), 0, 10 * time.Second, 10 * time.Second},
		{"never below the minimum interval near expiry", 30, epoch.Add(500 * time.Millisecond), 0, time.Second, time.Second},
		{"expired token: plain exponential", 2, epoch.Add(-time.Hour), 0, 6 * time.Second, 10 * time.Second},
		{"Retry-After raises the delay", 1, far, 90 * time.Second, 90 * time.Second, 90 * time.Second},
		{"Retry-After honoured even near expiry", 1, epoch.Add(10 * time.Second), 30 * time.Second, 30 * time.Second, 30 * time.Second},
		{"Retry-After shorter than backoff changes nothing", 3, far, time.Second, 12 * time.Second, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(epoch)
			got := p.Backoff(tt.failures, clk.Now(), tt.expires, tt.retryAfter, "uid-7")
			if got < tt.min || got > tt.max {
				t.Fatalf("Backoff = %s, want within [%s, %s]", got, tt.min, tt.max)
			}
			if got%time.Second != 0 {
				t.Fatalf("Backoff = %s, want whole seconds", got)
			}
		})
	}
}

// A token server down until shortly before expiry must still be retried in
// time: following the backoff from the first failure, some retry falls in
// the last tenth of the remaining lifetime, and none falls after expiry.
func TestBackoffRetriesGetDenserBeforeExpiry(t *testing.T) {
	p := DefaultPolicy()
	clk := clocktesting.NewFakeClock(epoch)
	expires := epoch.Add(20 * time.Minute)
	var gaps []time.Duration
	for n := int32(1); clk.Now().Before(expires.Add(-2 * time.Second)); n++ {
		d := p.Backoff(n, clk.Now(), expires, 0, "uid-9")
		gaps = append(gaps, d)
		clk.Step(d)
		if clk.Now().After(expires) {
			t.Fatalf("retry %d at %s is after expiry", n, clk.Now().Sub(epoch))
		}
	}
	if len(gaps) < 3 {
		t.Fatalf("only %d retries before expiry", len(gaps))
	}
	last, peak := gaps[len(gaps)-1], time.Duration(0)
	for _, g := range gaps {
		peak = max(peak, g)
	}
	if last >= peak {
		t.Fatalf("last gap %s not shorter than the longest %s: retries did not get denser", last, peak)
	}
}

func TestBackoffJitterIsStablePerObjectAndDiffersBetweenObjects(t *testing.T) {
	p := DefaultPolicy()
	far := epoch.Add(24 * time.Hour)
	distinct := map[time.Duration]bool{}
	for i := range 50 {
		uid := fmt.Sprintf("uid-%d", i)
		a := p.Backoff(4, epoch, far, 0, uid)
		if b := p.Backoff(4, epoch, far, 0, uid); a != b {
			t.Fatalf("backoff for %s not stable: %s then %s", uid, a, b)
		}
		distinct[a] = true
	}
	if len(distinct) < 5 {
		t.Fatalf("50 objects share only %d distinct delays", len(distinct))
	}
}

func TestStalledRetry(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		failures int32
		want     time.Duration
	}{
		{1, 10 * time.Minute},
		{2, 20 * time.Minute},
		{3, 40 * time.Minute},
		{4, time.Hour},
		{1000, time.Hour},
	}
	for _, tt := range tests {
		if got := p.StalledRetry(tt.failures); got != tt.want {
			t.Errorf("StalledRetry(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}
