package rollout_test

import (
	"testing"
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

// TestDecide has one row per rule of Decide, in its first-match order, and
// the edges where a rule stops applying.
func TestDecide(t *testing.T) {
	// since has a sub-second part: creationTimestamp has whole seconds,
	// so Decide compares against since truncated to the second.
	since := time.Date(2025, 3, 1, 12, 0, 0, 750_000_000, time.UTC)
	sinceSec := since.Truncate(time.Second)
	now := since.Add(time.Hour)
	cur := rollout.Hash("TokenChange", "token-b")
	old := rollout.Hash("TokenChange", "token-a")
	trig := rollout.Trigger{Hash: cur, Since: since}
	longAgo := since.Add(-24 * time.Hour)
	const interval = 10 * time.Minute

	tests := []struct {
		name     string
		now      time.Time
		interval time.Duration
		w        rollout.Workload
		want     rollout.Action
		wantAt   time.Time
	}{
		{
			name: "missing workload is Missing",
			w:    rollout.Workload{Missing: true},
			want: rollout.Missing,
		},
		{
			// Missing is the first rule: a stale annotation on an object
			// the lister no longer has must not read as Current.
			name: "missing wins over a matching hash",
			w:    rollout.Workload{Missing: true, RestartedFor: cur, Created: longAgo},
			want: rollout.Missing,
		},
		{
			name: "restarted for the trigger is Current",
			w:    rollout.Workload{Created: longAgo, RestartedFor: cur, RestartedAt: longAgo},
			want: rollout.Current,
		},
		{
			// Holding the trigger wins over the interval: no Wait for a
			// restart already done.
			name: "restarted for the trigger moments ago is Current, not Wait",
			w:    rollout.Workload{Created: longAgo, RestartedFor: cur, RestartedAt: now.Add(-time.Minute)},
			want: rollout.Current,
		},
		{
			// Same second as the token counts: Created has no sub-second
			// part, and the pods of a workload created in that second
			// read the Secret after it was written.
			name: "never restarted, created in the same second as Since is Current",
			w:    rollout.Workload{Created: sinceSec},
			want: rollout.Current,
		},
		{
			name: "never restarted, created after Since is Current",
			w:    rollout.Workload{Created: since.Add(time.Minute)},
			want: rollout.Current,
		},
		{
			// The "workload already runs" case: its pods started with the
			// previous token.
			name: "never restarted, created one second before Since restarts",
			w:    rollout.Workload{Created: sinceSec.Add(-time.Second)},
			want: rollout.Restart,
		},
		{
			name: "never restarted, created long before Since restarts",
			w:    rollout.Workload{Created: longAgo},
			want: rollout.Restart,
		},
		{
			name: "restarted for an older hash restarts",
			w:    rollout.Workload{Created: longAgo, RestartedFor: old, RestartedAt: longAgo},
			want: rollout.Restart,
		},
		{
			// The creation time only counts for a workload never
			// restarted: once it holds an entry, hashes decide.
			name: "restarted for an older hash, created after Since, still restarts",
			w:    rollout.Workload{Created: since.Add(time.Minute), RestartedFor: old, RestartedAt: longAgo},
			want: rollout.Restart,
		},
		{
			name: "paused Deployment needing a restart is Paused",
			w:    rollout.Workload{Kind: "Deployment", Created: longAgo, RestartedFor: old, RestartedAt: longAgo, Paused: true},
			want: rollout.Paused,
		},
		{
			// A paused workload that holds the token is not a problem to
			// report.
			name: "paused Deployment already restarted for the trigger stays Current",
			w:    rollout.Workload{Kind: "Deployment", Created: longAgo, RestartedFor: cur, RestartedAt: longAgo, Paused: true},
			want: rollout.Current,
		},
		{
			name: "paused Deployment created after Since stays Current",
			w:    rollout.Workload{Kind: "Deployment", Created: since.Add(time.Minute), Paused: true},
			want: rollout.Current,
		},
		{
			// Paused comes before Wait: the interval is moot while paused.
			name:     "paused Deployment within minInterval is Paused, not Wait",
			interval: interval,
			w:        rollout.Workload{Kind: "Deployment", Created: longAgo, RestartedFor: old, RestartedAt: now.Add(-time.Minute), Paused: true},
			want:     rollout.Paused,
		},
		{
			name:     "within minInterval of RestartedAt waits until its end",
			interval: interval,
			w:        rollout.Workload{Created: longAgo, RestartedFor: old, RestartedAt: now.Add(-3 * time.Minute)},
			want:     rollout.Wait,
			wantAt:   now.Add(7 * time.Minute),
		},
		{
			name:     "one nanosecond before the interval's end still waits",
			now:      now.Add(interval - time.Nanosecond),
			interval: interval,
			w:        rollout.Workload{Created: longAgo, RestartedFor: old, RestartedAt: now},
			want:     rollout.Wait,
			wantAt:   now.Add(interval),
		},
		{
			// The interval's end is inclusive: due means restart now, not
			// wait for zero more.
			name:     "exactly at RestartedAt+minInterval restarts",
			now:      now.Add(interval),
			interval: interval,
			w:        rollout.Workload{Created: longAgo, RestartedFor: old, RestartedAt: now},
			want:     rollout.Restart,
		},
		{
			// RestartedAt is shared by all credentials: a restart by
			// another one also starts this credential's interval.
			name:     "never restarted by this credential but recently by another waits",
			interval: interval,
			w:        rollout.Workload{Created: longAgo, RestartedAt: now.Add(-time.Minute)},
			want:     rollout.Wait,
			wantAt:   now.Add(9 * time.Minute),
		},
		{
			// A zero RestartedAt means never restarted: no interval to
			// wait for, and no Wait with a year-1 At.
			name:     "never restarted at all with a minInterval restarts",
			interval: interval,
			w:        rollout.Workload{Created: longAgo},
			want:     rollout.Restart,
		},
		{
			// Two tokens in one second are two restarts: hashes, not
			// times, decide, and minInterval 0 never waits.
			name: "minInterval 0 restarts even when restarted the same second",
			w:    rollout.Workload{Created: longAgo, RestartedFor: old, RestartedAt: now},
			want: rollout.Restart,
		},
		{
			// With no interval, RestartedAt never delays a restart, even
			// when it lies ahead of now (another replica's clock runs
			// ahead, or a sub-second now against a later stamp).
			name: "minInterval 0 restarts even with RestartedAt ahead of now",
			w:    rollout.Workload{Created: longAgo, RestartedFor: old, RestartedAt: now.Add(2 * time.Second)},
			want: rollout.Restart,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.now
			if at.IsZero() {
				at = now
			}
			got := rollout.Decide(at, trig, tt.interval, tt.w)
			if got.Action != tt.want {
				t.Errorf("Action = %s, want %s", got.Action, tt.want)
			}
			if !got.At.Equal(tt.wantAt) {
				t.Errorf("At = %v, want %v", got.At, tt.wantAt)
			}
			if got.Workload != tt.w {
				t.Errorf("Workload = %+v, want it passed through as %+v", got.Workload, tt.w)
			}
		})
	}
}
