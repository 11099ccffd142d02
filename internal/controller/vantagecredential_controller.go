// Package controller holds the VantageCredential reconciler: it gathers the
// credential's inputs, decides with pure functions whether a token is due,
// and only then writes the target Secret, the status and events.
package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/cachesync"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

// VantageCredentialReconciler keeps each VantageCredential's target Secret
// holding a fresh token.
type VantageCredentialReconciler struct {
	// Client reads from the cache (credentials and the operator's own
	// Secrets) and writes to the API server.
	client.Client
	// APIReader reads live, for Secrets the cache does not hold.
	APIReader client.Reader
	// metadata reads the metadata of every Secret and ConfigMap, from the
	// cache SetupWithManager starts for the watches.
	metadata client.Reader
	// sources holds the data of source Secrets by version (sources.go).
	sources *sourceData
	// unwritten holds tokens the API server did not take (unwritten.go).
	unwritten *unwrittenTokens
	Scheme    *runtime.Scheme
	Recorder  recorder.EventRecorder
	// Exchanger requests tokens; the controller knows it only by this interface.
	Exchanger oauth.Exchanger
	// Checker asks the Vantage API about a token, for spec.verifyToken.
	Checker oauth.Checker
	// Clock gives the time and the timer of the first status.
	Clock     clock.WithDelayedExecution
	Policy    refresh.Policy
	Endpoints Endpoints
	Metrics   *Metrics
	// CacheSync, when set, learns the informers the watches use (and sees
	// their list errors), for the readiness check and the sync deadline.
	CacheSync *cachesync.Tracker
	// Scope is the credentials and namespaces this manager handles, as
	// given to ManagerOptions.
	Scope Scope
	// ClusterCredentialNamespace holds the key Secrets (and CA bundles) of
	// ClusterVantageCredentials. When Scope limits the namespaces, the
	// cluster kind is not handled at all.
	ClusterCredentialNamespace string
	// EnableRolloutRestart lets spec.rolloutRestart patch workloads; it
	// needs RBAC the default install does not give (config/rollout-restart).
	EnableRolloutRestart bool
}

// +kubebuilder:rbac:groups=vantage.omnivector.solutions,resources=vantagecredentials,verbs=get;list;watch
// +kubebuilder:rbac:groups=vantage.omnivector.solutions,resources=vantagecredentials/status,verbs=patch
// +kubebuilder:rbac:groups=vantage.omnivector.solutions,resources=vantagecredentials/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// credential is either kind, as the engine sees it.
type credential = vantagev1alpha1.GenericCredential

// Reconcile is the VantageCredential front door: the key and the target
// are in the credential's own namespace.
func (r *VantageCredentialReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cred := &vantagev1alpha1.VantageCredential{}
	if err := r.Get(ctx, req.NamespacedName, cred); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !cred.DeletionTimestamp.IsZero() {
		// The target goes with the credential through its owner reference
		// (Owner) or stays (Orphan, Merge); nothing to do here.
		return ctrl.Result{}, nil
	}
	return r.reconcile(ctx, ownNamespace{}, cred)
}

// forget drops what the engine keeps for a deleted credential.
func (r *VantageCredentialReconciler) forget(key types.NamespacedName) {
	r.Metrics.forget(key.Namespace, key.Name)
	r.unwritten.forget(key)
}

// reconcile is the engine both kinds share: it gathers, decides, then
// acts. The front door says where the key is and which targets to write.
func (r *VantageCredentialReconciler) reconcile(ctx context.Context, door frontDoor, cred credential) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	// A new credential's first status waits a moment for the result, so a
	// quick first token costs one status write, not two.
	var first *firstStatus
	if len(cred.GetStatus().Conditions) == 0 {
		first = r.firstStatusAfter(ctx, cred, firstStatusGrace)
	}
	settle := func(writeNow bool) error {
		if first == nil {
			return nil
		}
		fs := first
		first = nil
		return fs.settle(ctx, r, cred, writeNow)
	}
	// A reconcile that fails still leaves the first status behind.
	defer func() { _ = settle(true) }()

	f, err := r.gather(ctx, door, cred)
	if err != nil {
		return ctrl.Result{}, err
	}
	d := decide(f, r.Policy)
	res := result{decision: d}

	if d.exchange != triggerNone {
		if usesAPIKey(cred) {
			log.V(1).Info("checking the API key", "trigger", string(d.exchange), "apiURL", f.inputs.apiURL)
			res, err = r.check(ctx, f, d)
		} else {
			log.V(1).Info("requesting a token", "trigger", string(d.exchange), "tokenURL", f.inputs.request.TokenURL)
			res, err = r.exchange(ctx, f, d)
		}
		if err != nil {
			return ctrl.Result{}, err
		}
		if res.heldBack > 0 {
			// Nothing was sent, so nothing changed: no status, no event.
			// The client reserved this request's turn for then.
			log.V(1).Info("token request held back by the client-side limits", "retryAfter", res.heldBack)
			r.Metrics.heldBack.Inc()
			return ctrl.Result{RequeueAfter: res.heldBack}, settle(true)
		}
	}
	if f.problem == nil && res.failed == nil {
		// After a new token, this only checks; without one, it copies the
		// token to targets that lack it and syncs metadata.
		if err := r.syncTargets(ctx, f); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.prune(ctx, f); err != nil {
		return ctrl.Result{}, err
	}
	if f.token != nil && res.failed == nil && f.problem == nil && !ptr.Deref(cred.GetSpec().Suspend, false) {
		res.nextRefresh = refreshAt(f, r.Policy)
	}
	if res.rollout, err = r.rolloutRestart(ctx, f, res); err != nil {
		return ctrl.Result{}, err
	}

	if err := settle(false); err != nil {
		return ctrl.Result{}, err
	}
	prev := cred.GetStatus().DeepCopy()
	st := computeStatus(f, res)
	if err := r.patchStatus(ctx, cred, func() {
		*cred.GetStatus() = st
		door.setTargetStatus(cred, f)
	}); err != nil {
		return ctrl.Result{}, err
	}
	r.recordEvents(cred, prev, &st, f, res)
	r.recordRestarts(cred, prev, f, res.rollout)
	r.Metrics.observe(cred, &st, tokenRefreshDue(f, r.Policy))

	// Targets that failed to take a token written to others are retried
	// with backoff; the others and the status already hold it.
	return ctrl.Result{RequeueAfter: requeueAfter(f.now, wakeAt(f, res, &st))}, res.writeErr
}

// tokenRefreshDue is when the token now in the target is due for refresh,
// for the metrics: unlike status.nextRefreshTime it stays put while
// attempts fail (the backoff moves that), so an alert can tell how overdue
// the refresh is. Zero when there is nothing the operator would refresh: no
// token, an API key (checked, never renewed), a token that never expires,
// or a suspended credential (its owner stopped the refreshes).
func tokenRefreshDue(f *facts, p refresh.Policy) time.Time {
	if f.token == nil || usesAPIKey(f.cred) || f.token.expiresAt.IsZero() || ptr.Deref(f.cred.GetSpec().Suspend, false) {
		return time.Time{}
	}
	return tokenRefreshAt(f.cred, f.token.issuedAt, f.token.expiresAt, p)
}

// exchange requests a token and writes it. Failures of the token server end
// up in the result (and so in status); only API server errors are returned.
func (r *VantageCredentialReconciler) exchange(ctx context.Context, f *facts, d decision) (result, error) {
	res := result{decision: d}
	start := time.Now()
	key := client.ObjectKeyFromObject(f.cred)
	if tok, id := r.unwritten.take(key, f.cred.GetUID(), f.inputs.hash, f.now, func(t *oauth.Token) time.Time {
		return tokenRefreshAt(f.cred, t.IssuedAt, t.Expiry, r.Policy)
	}); tok != nil {
		return r.writeIssued(ctx, f, res, key, tok, id)
	}
	req := f.inputs.request
	req.Caller = key.String()
	if f.serviceAccount.Name != "" {
		req.Assertion = r.serviceAccountToken(f.serviceAccount, f.inputs.audiences)
	}
	tok, err := r.Exchanger.Exchange(ctx, req)
	if wait, ok := oauth.IsThrottled(err); ok {
		res.heldBack = wait
		return res, nil
	}
	if req.InsecureSkipVerify {
		// Sent: say so every time verification was skipped.
		r.Recorder.Eventf(f.cred, nil, "Warning", ReasonInsecureSkipVerify, "Exchange",
			"requested a token from %s without verifying its certificate (spec.tls.insecureSkipVerify): whoever can intercept the traffic can read the client secret",
			hostOf(req.TokenURL))
	}
	r.Metrics.exchanged(err, time.Since(start))
	if err != nil {
		res.failed = r.classify(f, err)
		return res, nil
	}
	id, failed := r.verify(ctx, f, tok)
	if failed != nil {
		res.failed = failed
		return res, nil
	}
	return r.writeIssued(ctx, f, res, key, tok, id)
}

// writeIssued writes an issued token to the targets. When the API server
// fails every write, the token (and what verifyToken learnt of it) is kept
// for the retry and the error returned, so the credential is not marked
// failed: the token server did its part. When some targets took it, the
// others are retried later (result.writeErr) and get a copy.
func (r *VantageCredentialReconciler) writeIssued(ctx context.Context, f *facts, res result, key types.NamespacedName, tok *oauth.Token, id *oauth.Identity) (result, error) {
	written, err := r.writeToken(ctx, f, tok)
	if written == nil {
		if err != nil {
			r.unwritten.keep(key, f.cred.GetUID(), f.inputs.hash, tok, id)
		}
		return res, err
	}
	res.writeErr = err
	res.sourceChanged = f.token == nil || f.token.inputsHash != written.inputsHash
	f.token = written
	res.exchanged = true
	res.scopes = tok.Scopes
	res.tokenURL = tok.TokenURL
	if id != nil {
		res.userID = id.UserID
	}
	return res, nil
}

// classify turns an exchange error into status words and a retry time.
func (r *VantageCredentialReconciler) classify(f *facts, err error) *failure {
	return r.classifyWith(f, err, failureReason)
}

// classifyWith is classify with the reasons of another step, such as the
// check of a token with the Vantage API.
func (r *VantageCredentialReconciler) classifyWith(f *facts, err error, reasonOf func(*oauth.Error) string) *failure {
	st := f.cred.GetStatus()
	n := st.ConsecutiveFailures + 1
	var oerr *oauth.Error
	if !errors.As(err, &oerr) {
		oerr = &oauth.Error{Kind: oauth.Transient, Code: "error", Description: "token request failed"}
	}
	fl := &failure{reason: reasonOf(oerr), message: oerr.Error(), stalled: oerr.Kind == oauth.Terminal}
	if fl.stalled {
		fl.retryAt = f.now.Add(r.Policy.StalledRetry(n)).Truncate(time.Second)
		return fl
	}
	var expires time.Time
	if f.token != nil {
		expires = f.token.expiresAt
	}
	fl.retryAt = f.now.Add(r.Policy.Backoff(n, f.now, expires, oerr.RetryAfter, string(f.cred.GetUID()))).Truncate(time.Second)
	return fl
}

// failureReason maps an OAuth2 error to a condition reason.
func failureReason(e *oauth.Error) string {
	switch e.Code {
	case "discovery_failed", "invalid_discovery":
		return ReasonDiscoveryFailed
	case "issuer_mismatch":
		return ReasonIssuerMismatch
	case "auth_method_unsupported":
		return ReasonAuthMethodUnsupported
	case oauth.CodeTokenURLNotAllowed:
		return ReasonTokenURLNotAllowed
	case codeTokenRequestForbidden:
		return ReasonTokenRequestForbidden
	case codeAudienceNotAllowed:
		return ReasonAudienceNotAllowed
	case codeServiceAccountGone:
		return ReasonServiceAccountNotFound
	}
	if e.Kind == oauth.Transient {
		return ReasonTokenRequestFailed
	}
	switch e.Code {
	case "invalid_client", "unauthorized_client":
		return ReasonInvalidClient
	case "invalid_scope":
		return ReasonInvalidScope
	case "tls_error":
		return ReasonTLSVerificationFailed
	}
	return ReasonTokenRequestRejected
}

// patchStatus applies set to cred's status and writes it only when it
// changed, so steady state makes no writes.
func (r *VantageCredentialReconciler) patchStatus(ctx context.Context, cred credential, set func()) error {
	base := cred.DeepCopyObject().(credential)
	set()
	if apiequality.Semantic.DeepEqual(base, cred) {
		return nil
	}
	if err := r.Status().Patch(ctx, cred, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("updating status: %w", err)
	}
	return nil
}

// wakeAt is when to reconcile again without an event: the next refresh or
// retry, or the token's expiry so Ready turns False on time.
func wakeAt(f *facts, res result, st *vantagev1alpha1.VantageCredentialStatus) time.Time {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if st.NextRefreshTime != nil {
		earliest(st.NextRefreshTime.Time)
	}
	earliest(res.decision.wakeAt)
	earliest(expiryWake(f))
	earliest(expiryWarningWake(f, timeOf(st.ExpiryWarningTime)))
	if res.rollout != nil {
		earliest(res.rollout.summary.WakeAt)
	}
	return at
}

// requeueAfter turns a wake time into a delay; zero means no timed requeue.
// A time already past asks for a prompt, but not immediate, look.
func requeueAfter(now, at time.Time) time.Duration {
	if at.IsZero() {
		return 0
	}
	if d := at.Sub(now); d > 0 {
		return d
	}
	return time.Second
}

// recordEvents emits an event for a new token, for each failed exchange,
// and when the Ready reason changes to a problem, so events mark changes
// and never repeat on every reconcile.
func (r *VantageCredentialReconciler) recordEvents(cred credential, prev, st *vantagev1alpha1.VantageCredentialStatus, f *facts, res result) {
	if w := st.ExpiryWarningTime; w != nil && !w.Equal(prev.ExpiryWarningTime) {
		name, _ := sourceSecret(cred)
		r.Recorder.Eventf(cred, nil, "Warning", ReasonAPIKeyExpiringSoon, "Check",
			"the API key in Secret %q expires at %s, in %s: put a new key in Secret %q before then",
			f.targetName, stamp(f.token.expiresAt), f.token.expiresAt.Sub(f.now).Round(time.Minute), name)
	}
	switch {
	case res.exchanged && usesAPIKey(cred):
		if f.token.source == oauth.LifetimeUnverified {
			r.Recorder.Eventf(cred, nil, "Warning", ReasonAPIKeyUnverified, "Check",
				"wrote the API key to Secret %q unverified: the Vantage API at %s has no %s endpoint", f.targetName, f.inputs.apiURL, oauth.AuthTestPath)
			return
		}
		r.Recorder.Eventf(cred, nil, "Normal", ReasonAPIKeyValid, "Check",
			"wrote the API key to Secret %q: the Vantage API accepts it for user %q; it %s", f.targetName, res.userID, validity(f.token))
	case res.exchanged:
		reason := ReasonRefreshed
		if res.decision.exchange == triggerFirst {
			reason = ReasonIssued
		}
		r.Recorder.Eventf(cred, nil, "Normal", reason, "Exchange",
			"wrote a token valid until %s to %s (%s; scopes: %s)", stamp(f.token.expiresAt), f.written(),
			res.decision.exchange, strings.Join(res.scopes, " "))
	case res.failed != nil && res.failed.retryAt.IsZero():
		r.Recorder.Eventf(cred, nil, "Warning", res.failed.reason, action(cred), "%s; no new attempt until %s changes",
			res.failed.message, sourceObject(cred))
	case res.failed != nil:
		r.Recorder.Eventf(cred, nil, "Warning", res.failed.reason, action(cred), "%s; next attempt at %s",
			res.failed.message, stamp(res.failed.retryAt))
	case f.problem != nil:
		if readyReason(prev) != f.problem.reason {
			r.Recorder.Eventf(cred, nil, "Warning", f.problem.reason, "Reconcile", "%s", f.problem.message)
		}
	case readyReason(st) == expiredReason(cred) && readyReason(prev) != expiredReason(cred):
		r.Recorder.Eventf(cred, nil, "Warning", expiredReason(cred), "Reconcile", "the %s in Secret %q has expired", heldNoun(cred), f.targetName)
	}
}

func readyReason(st *vantagev1alpha1.VantageCredentialStatus) string {
	for _, c := range st.Conditions {
		if c.Type == vantagev1alpha1.ConditionReady {
			return c.Reason
		}
	}
	return ""
}
