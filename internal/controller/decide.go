package controller

import (
	"time"

	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

// trigger says why a token is requested now.
type trigger string

const (
	triggerNone          trigger = ""
	triggerFirst         trigger = "first token"
	triggerTargetChanged trigger = "target Secret missing or edited"
	triggerInputsChanged trigger = "inputs changed"
	triggerRequested     trigger = "refresh requested"
	triggerScheduled     trigger = "scheduled refresh"
	triggerRetry         trigger = "retry after failure"
)

// decision is what one reconcile does.
type decision struct {
	// exchange says to request a token now, and why.
	exchange trigger
	// wakeAt is when to look again when nothing else happens; zero for
	// never (watches bring every input change).
	wakeAt time.Time
}

// decide is the policy chain: the first rule that applies decides. It is
// pure; every fact it needs is in f.
func decide(f *facts, p refresh.Policy) decision {
	cred := f.cred
	switch {
	case f.problem != nil:
		// Watches bring the fix (a created Secret, an edited key); until
		// then only the token's expiry changes anything.
		return decision{wakeAt: expiryWake(f)}
	case ptr.Deref(cred.GetSpec().Suspend, false):
		return decision{wakeAt: expiryWake(f)}
	case cred.GetStatus().ConsecutiveFailures > 0:
		return decideRetry(f)
	}
	if t := exchangeTrigger(f, p); t != triggerNone {
		return decision{exchange: t}
	}
	return decision{wakeAt: refreshAt(f, p)}
}

// exchangeTrigger says whether, with no failure pending, a token is needed now.
func exchangeTrigger(f *facts, p refresh.Policy) trigger {
	switch {
	case f.token == nil && f.cred.GetStatus().LastRefreshTime == nil:
		return triggerFirst
	case f.token == nil:
		return triggerTargetChanged
	case f.token.inputsHash != f.inputs.hash:
		return triggerInputsChanged
	case refreshRequested(f.cred):
		return triggerRequested
	}
	if at := refreshAt(f, p); !at.IsZero() && !f.now.Before(at) {
		return triggerScheduled
	}
	return triggerNone
}

// decideRetry handles a credential whose last exchange failed: it waits out
// the backoff recorded in status.nextRefreshTime (so a restart of the
// operator does not retry in a burst) unless an input changed since, which
// may be the fix.
func decideRetry(f *facts) decision {
	st := f.cred.GetStatus()
	if inputsChangedSinceFailure(f) {
		return decision{exchange: triggerInputsChanged}
	}
	if refreshRequested(f.cred) {
		return decision{exchange: triggerRequested}
	}
	if usesAPIKey(f.cred) && st.NextRefreshTime == nil {
		// The API refused the key: only another one can help, and its
		// Secret's watch brings it.
		return decision{wakeAt: expiryWake(f)}
	}
	if st.NextRefreshTime == nil || !f.now.Before(st.NextRefreshTime.Time) {
		return decision{exchange: triggerRetry}
	}
	wake := st.NextRefreshTime.Time
	if e := expiryWake(f); !e.IsZero() && e.Before(wake) {
		wake = e
	}
	return decision{wakeAt: wake}
}

// inputsChangedSinceFailure: a new generation of the spec, or a changed
// service-account Secret.
func inputsChangedSinceFailure(f *facts) bool {
	st := f.cred.GetStatus()
	return f.cred.GetGeneration() != st.ObservedGeneration || f.sourceVersion != st.FailedSourceVersion
}

// refreshRequested: the refresh annotation holds a value not handled yet.
func refreshRequested(cred credential) bool {
	v, ok := cred.GetAnnotations()[vantagev1alpha1.RefreshRequestedAnnotation]
	return ok && v != "" && v != cred.GetStatus().LastHandledRefreshRequest
}

// refreshAt is when the current token is due for refresh, or an API key
// for its next check; zero for never.
func refreshAt(f *facts, p refresh.Policy) time.Time {
	if usesAPIKey(f.cred) {
		return nextCheckAt(f)
	}
	return tokenRefreshAt(f.cred, f.token.issuedAt, f.token.expiresAt, p)
}

// tokenRefreshAt is when cred's token issued at issued and expiring at
// expires is due for refresh.
func tokenRefreshAt(cred credential, issued, expires time.Time, p refresh.Policy) time.Time {
	var before *time.Duration
	if rb := cred.GetSpec().RefreshBefore; rb != nil {
		before = &rb.Duration
	}
	return p.RefreshTime(issued, expires, before, string(cred.GetUID()))
}

// expiryWake is when the current token expires, so Ready turns False on
// time; zero when there is no valid token or it never expires.
func expiryWake(f *facts) time.Time {
	if f.token.validAt(f.now) {
		return f.token.expiresAt
	}
	return time.Time{}
}
