package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/utils/clock"
)

// gracefulShutdownTimeout is how long the manager gives its runnables to
// stop after SIGTERM: a reconcile in flight may be in one token request
// (--token-request-timeout, 10 s by default) followed by a Secret and a
// status write, and the lease is released after them. The Deployment's
// terminationGracePeriodSeconds (30, config/manager/manager.yaml) must stay
// above gracefulShutdownTimeout plus shutdownMargin, so that the process
// ends on its own, with its log saying why, before the kubelet kills it.
const gracefulShutdownTimeout = 15 * time.Second

// shutdownMargin is how long past gracefulShutdownTimeout the process waits
// for the manager's Start to return before it exits regardless.
const shutdownMargin = 2 * time.Second

var (
	errShutdownStuck   = errors.New("the manager did not stop after the signal; forcing the exit")
	errCachesNotSynced = errors.New("giving up: the caches did not sync")
)

// runManager runs start(ctx) and returns when it does, when syncFailed
// delivers an error, or, once ctx has ended, after a bound at most:
// gracefulShutdownTimeout plus shutdownMargin, or only shutdownMargin when
// synced says the caches had not synced by then.
//
// The bound is a guard against a controller-runtime bug: in v0.25.2 (and
// v0.25.3) the manager's runnableGroup.Start (pkg/manager/runnable_group.go)
// waits for the caches to sync in a loop that selects on ctx.Done() and
// never leaves it once ctx is cancelled, so a manager told to stop before
// its caches synced (API server unreachable, no RBAC) spins a CPU and never
// returns. The upstream fix, kubernetes-sigs/controller-runtime#3440, was
// closed unmerged. Remove the bound once a release returns from that loop.
//
// Before the caches sync no controller runs and no lease is held (both wait
// for the caches), so nothing needs a graceful stop: a sync failure returns
// at once, and a signal before the sync waits only the margin.
func runManager(ctx context.Context, clk clock.Clock, start func(context.Context) error, syncFailed <-chan error, synced func() bool) error {
	done := make(chan error, 1)
	go func() { done <- start(ctx) }()
	select {
	case err := <-done:
		return err
	case err := <-syncFailed:
		return fmt.Errorf("%w: %w", errCachesNotSynced, err)
	case <-ctx.Done():
	}
	bound := gracefulShutdownTimeout + shutdownMargin
	if !synced() {
		bound = shutdownMargin
	}
	select {
	case err := <-done:
		return err
	case <-clk.After(bound):
		return fmt.Errorf("%w: still running %s after it (controller-runtime's runnableGroup.Start waiting for caches on a cancelled context, kubernetes-sigs/controller-runtime#3440)",
			errShutdownStuck, bound)
	}
}
