package main

import (
	"context"
	"errors"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

const bound = gracefulShutdownTimeout + shutdownMargin

// stuck never returns, as the manager's Start in controller-runtime#3440.
func stuck(context.Context) error { select {} }

// honest returns when its context ends.
func honest(ctx context.Context) error { <-ctx.Done(); return nil }

// result runs runManager, with caches synced, in the background.
func result(ctx context.Context, clk *clocktesting.FakeClock, start func(context.Context) error, syncFailed <-chan error) <-chan error {
	return resultSynced(ctx, clk, start, syncFailed, true)
}

func resultSynced(ctx context.Context, clk *clocktesting.FakeClock, start func(context.Context) error, syncFailed <-chan error, synced bool) <-chan error {
	done := make(chan error, 1)
	go func() { done <- runManager(ctx, clk, start, syncFailed, func() bool { return synced }) }()
	return done
}

func await(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("runManager did not return")
		return nil
	}
}

func TestRunManagerForcesTheExitWhenStartIgnoresTheSignal(t *testing.T) {
	for _, tt := range []struct {
		name   string
		synced bool
		bound  time.Duration
	}{
		{"after the graceful timeout and the margin once synced", true, bound},
		{"after the margin alone before the caches synced", false, shutdownMargin},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			clk := clocktesting.NewFakeClock(time.Now())
			done := resultSynced(ctx, clk, stuck, nil, tt.synced)
			cancel()
			// Not before the bound...
			deadline := time.Now().Add(5 * time.Second)
			for !clk.HasWaiters() {
				if time.Now().After(deadline) {
					t.Fatal("runManager never started waiting for the bound")
				}
				time.Sleep(time.Millisecond)
			}
			clk.Step(tt.bound - time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("returned before the bound: %v", err)
			default:
			}
			// ...and at it.
			clk.Step(time.Millisecond)
			if err := await(t, done); !errors.Is(err, errShutdownStuck) {
				t.Fatalf("got %v, want errShutdownStuck", err)
			}
		})
	}
}

func TestRunManagerReturnsWhatAStoppedManagerReturns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := result(ctx, clocktesting.NewFakeClock(time.Now()), honest, nil)
	cancel()
	if err := await(t, done); err != nil {
		t.Fatalf("a clean stop is no error: %v", err)
	}

	failed := errors.New("leader election lost")
	done = result(context.Background(), clocktesting.NewFakeClock(time.Now()),
		func(context.Context) error { return failed }, nil)
	if err := await(t, done); !errors.Is(err, failed) {
		t.Fatalf("got %v, want the manager's own error", err)
	}
}

func TestRunManagerReturnsAtOnceWhenTheCachesCannotSync(t *testing.T) {
	syncFailed := make(chan error, 1)
	forbidden := errors.New(`secrets is forbidden: cannot list resource "secrets"`)
	syncFailed <- forbidden
	err := await(t, result(context.Background(), clocktesting.NewFakeClock(time.Now()), stuck, syncFailed))
	if !errors.Is(err, errCachesNotSynced) || !errors.Is(err, forbidden) {
		t.Fatalf("got %v", err)
	}
}
