// Package cachesync tells whether a manager's informers have synced, and if
// not, which ones and why: the readiness check and the start-up deadline of
// the manager are built on it.
package cachesync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// checkTimeout bounds one readiness check: a probe must answer quickly even
// while the API server does not.
const checkTimeout = time.Second

// pollInterval is how often WaitSynced looks again.
const pollInterval = time.Second

// reportInterval is how often WaitSynced logs what has not synced.
const reportInterval = 10 * time.Second

// informer is one informer the manager needs before it can work.
type informer struct {
	name     string
	resource schema.GroupResource
	cache    cache.Informers
	object   client.Object
}

// Tracker knows the informers a manager needs and the last error the list
// or watch of each resource met. Register it as the caches'
// DefaultWatchErrorHandler so it sees those errors.
type Tracker struct {
	mu        sync.Mutex
	informers []informer
	// errs holds the last list or watch error per resource; the key ""
	// holds the last one that names no resource (a refused connection).
	errs map[schema.GroupResource]error
}

// NewTracker returns a Tracker with no informers.
func NewTracker() *Tracker {
	return &Tracker{errs: map[schema.GroupResource]error{}}
}

// Add registers the informer of c for obj, named name in messages and
// reading resource.
func (t *Tracker) Add(name string, resource schema.GroupResource, c cache.Informers, obj client.Object) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.informers = append(t.informers, informer{name: name, resource: resource, cache: c, object: obj})
}

// WatchErrorHandler records err for the resource it names, then logs it as
// client-go does by default.
func (t *Tracker) WatchErrorHandler(ctx context.Context, r *toolscache.Reflector, err error) {
	var key schema.GroupResource
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if d := status.Status().Details; d != nil {
			key = schema.GroupResource{Group: d.Group, Resource: d.Kind}
		}
	}
	t.mu.Lock()
	t.errs[key] = err
	t.mu.Unlock()
	toolscache.DefaultWatchErrorHandler(ctx, r, err)
}

// Unsynced returns nil once every registered informer has synced, else an
// error naming each one that has not, with the last error its list met.
// It does not wait for the informers.
func (t *Tracker) Unsynced(ctx context.Context) error {
	t.mu.Lock()
	informers := append([]informer(nil), t.informers...)
	t.mu.Unlock()
	var problems []string
	for _, in := range informers {
		inf, err := in.cache.GetInformer(ctx, in.object, cache.BlockUntilSynced(false))
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", in.name, err))
		case !inf.HasSynced():
			problems = append(problems, in.name+" not synced"+t.lastError(in.resource))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// lastError is ": " and the last error met listing resource, or the last
// one naming no resource, or "" when there was none.
func (t *Tracker) lastError(resource schema.GroupResource) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	err, ok := t.errs[resource]
	if !ok {
		err = t.errs[schema.GroupResource{}]
	}
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// Synced reports whether every registered informer has synced.
func (t *Tracker) Synced() bool {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	return t.Unsynced(ctx) == nil
}

// Check is a readiness check (healthz.Checker): it fails while an informer
// has not synced, saying which.
func (t *Tracker) Check(req *http.Request) error {
	ctx, cancel := context.WithTimeout(req.Context(), checkTimeout)
	defer cancel()
	return t.Unsynced(ctx)
}

// WaitSynced returns nil once every informer has synced or ctx has ended,
// and an error naming those that have not when timeout passes first.
// Meanwhile it logs those every reportInterval: the readiness endpoint is
// public, so controller-runtime withholds the reason there.
func (t *Tracker) WaitSynced(ctx context.Context, clk clock.WithTicker, timeout time.Duration, log logr.Logger) error {
	deadline := clk.NewTimer(timeout)
	defer deadline.Stop()
	tick := clk.NewTicker(pollInterval)
	defer tick.Stop()
	reported := clk.Now()
	for {
		err := t.Unsynced(ctx)
		if err == nil {
			return nil
		}
		if clk.Since(reported) >= reportInterval {
			log.Info("waiting for the caches to sync", "unsynced", err.Error())
			reported = clk.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C():
			return fmt.Errorf("caches not synced within %s: %w", timeout, err)
		case <-tick.C():
		}
	}
}
