package controller

import (
	"context"
	"time"

	"k8s.io/utils/clock"
)

// firstStatusGrace is how long a new credential's first reconcile may work
// before its first status (Ready=Unknown, Reconciling=True) is written. A
// token server that answers within it saves that write: the first status
// is then the result, one status write per token as at every refresh. One
// that is slower, or a request the limits hold back, still gives tools a
// status well before they could mistake an empty one for success.
const firstStatusGrace = time.Second

// firstStatus writes a new credential's first status when the grace runs
// out before the reconcile has its result.
type firstStatus struct {
	timer clock.Timer
	// written is closed once the timer's write has ended.
	written chan struct{}
	// cred is the timer's own copy, so it never races the reconcile.
	cred credential
	err  error
}

// firstStatusAfter arms the first status of cred, which has no status yet.
func (r *VantageCredentialReconciler) firstStatusAfter(ctx context.Context, cred credential, grace time.Duration) *firstStatus {
	fs := &firstStatus{written: make(chan struct{}), cred: cred.DeepCopyObject().(credential)}
	// The time is taken now: a clock may run timer functions while it
	// holds its own lock.
	at := r.Clock.Now().Add(grace)
	fs.timer = r.Clock.AfterFunc(grace, func() {
		defer close(fs.written)
		fs.err = r.patchStatus(ctx, fs.cred, func() { *fs.cred.GetStatus() = initialStatus(fs.cred, at) })
	})
	return fs
}

// settle ends the grace. If the timer wrote the first status, cred takes
// it, so the next write starts from what the API server holds. With
// writeNow, a first status not yet written is written at once: the
// reconcile ends without a result to show.
func (fs *firstStatus) settle(ctx context.Context, r *VantageCredentialReconciler, cred credential, writeNow bool) error {
	if fs.timer.Stop() {
		if !writeNow {
			return nil
		}
		return r.patchStatus(ctx, cred, func() { *cred.GetStatus() = initialStatus(cred, r.Clock.Now()) })
	}
	<-fs.written
	if fs.err != nil {
		return fs.err
	}
	*cred.GetStatus() = *fs.cred.GetStatus()
	cred.SetResourceVersion(fs.cred.GetResourceVersion())
	return nil
}
