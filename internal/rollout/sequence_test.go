package rollout_test

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

// TestDecideSequence plays a controller against one workload on a fake
// clock: the first token restarts it, two more within minInterval coalesce
// into one restart at the interval's end, for the newest, and reconciling
// again afterwards restarts nothing.
func TestDecideSequence(t *testing.T) {
	const interval = 10 * time.Minute
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := clocktesting.NewFakeClock(t0)
	key := rollout.CredentialKey("0f8c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6")

	// The workload's annotations, as the API server keeps them; another
	// credential's entry is there and must survive.
	annotation := "ffffffffffff=" + rollout.Hash("TokenChange", "other")
	var restartedAt time.Time
	created := t0.Add(-24 * time.Hour)
	restarts := 0

	// workload reads the workload as the controller would after an
	// operator restart: everything from the object, nothing from memory.
	workload := func() rollout.Workload {
		return rollout.Workload{
			Kind: "Deployment", Namespace: "team-a", Name: "api",
			Created:      created,
			RestartedFor: rollout.RestartedFor(annotation, key),
			RestartedAt:  restartedAt,
		}
	}
	// reconcile decides for the token that reached the Secret at issued
	// and applies a Restart the way the controller patches it.
	reconcile := func(token string, issued time.Time) rollout.Step {
		t.Helper()
		trig := rollout.Trigger{Hash: rollout.Hash("TokenChange", token), Since: issued}
		s := rollout.Decide(clock.Now(), trig, interval, workload())
		if s.Action == rollout.Restart {
			restarts++
			annotation = rollout.Record(annotation, key, trig.Hash)
			restartedAt = clock.Now()
		}
		return s
	}
	expect := func(s rollout.Step, want rollout.Action, wantAt time.Time) {
		t.Helper()
		if s.Action != want || !s.At.Equal(wantAt) {
			t.Fatalf("at %v: got %s at %v, want %s at %v", clock.Now(), s.Action, s.At, want, wantAt)
		}
	}

	// Token A at t0: the workload was created a day before, so it runs
	// with an older token and restarts.
	expect(reconcile("A", t0), rollout.Restart, time.Time{})
	if got := rollout.RestartedFor(annotation, key); got != rollout.Hash("TokenChange", "A") {
		t.Fatalf("after restart for A, RestartedFor = %q", got)
	}
	// A second reconcile for A right away restarts nothing.
	expect(reconcile("A", t0), rollout.Current, time.Time{})

	// Token B at t0+2m: debounced until the interval's end.
	clock.Step(2 * time.Minute)
	expect(reconcile("B", clock.Now()), rollout.Wait, t0.Add(interval))

	// Token C at t0+5m: the same wait, not a new one from C's time.
	clock.Step(3 * time.Minute)
	expect(reconcile("C", clock.Now()), rollout.Wait, t0.Add(interval))
	cIssued := clock.Now()

	// At t0+10m the newest token, C, restarts it once for B and C both.
	clock.Step(5 * time.Minute)
	expect(reconcile("C", cIssued), rollout.Restart, time.Time{})
	if got := rollout.RestartedFor(annotation, key); got != rollout.Hash("TokenChange", "C") {
		t.Fatalf("after restart for C, RestartedFor = %q, want hash of C", got)
	}
	if !restartedAt.Equal(t0.Add(interval)) {
		t.Fatalf("RestartedAt = %v, want %v", restartedAt, t0.Add(interval))
	}

	// Reconciling again, or after an operator restart (workload re-read
	// from the object), restarts nothing: it holds C.
	expect(reconcile("C", cIssued), rollout.Current, time.Time{})
	clock.Step(time.Hour)
	expect(reconcile("C", cIssued), rollout.Current, time.Time{})

	if restarts != 2 {
		t.Errorf("restarts = %d, want 2 (one for A, one for B and C together)", restarts)
	}
	if got := rollout.RestartedFor(annotation, "ffffffffffff"); got != rollout.Hash("TokenChange", "other") {
		t.Errorf("the other credential's entry was lost: annotation %q", annotation)
	}
}
