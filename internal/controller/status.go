package controller

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

// failure is a failed exchange as status reports it.
type failure struct {
	reason  string
	message string
	stalled bool
	// retryAt is when the next attempt is due.
	retryAt time.Time
}

// result is what one reconcile did, for the status setters.
type result struct {
	decision decision
	// exchanged is set when a token (or an API key) was written this
	// reconcile.
	exchanged bool
	// sourceChanged is set when the token written is the first made from
	// the current inputs (key, spec): what on: SourceChange restarts for.
	sourceChanged bool
	// checked is set when an API key passed its check, or could not be
	// checked (no auth/test endpoint), this reconcile.
	checked  bool
	scopes   []string
	tokenURL string
	// userID is whom the Vantage API said the token is, with verifyToken.
	userID string
	// failed is set when an exchange failed this reconcile.
	failed *failure
	// heldBack is set when the token client's own limits kept the request
	// from being sent: retry after it, with nothing to report.
	heldBack time.Duration
	// nextRefresh is when the current token is due for refresh.
	nextRefresh time.Time
	// writeErr is the API server's refusal of a target write when other
	// targets took the token: the reconcile is retried for it.
	writeErr error
	// rollout is what spec.rolloutRestart found and did; nil leaves its
	// condition as it was.
	rollout *rolloutResult
}

// initialStatus is written before the first exchange, so tools never take
// an empty status for success (kstatus reads a custom resource without
// conditions as Current).
func initialStatus(cred credential, now time.Time) vantagev1alpha1.VantageCredentialStatus {
	st := *cred.GetStatus().DeepCopy()
	st.ObservedGeneration = cred.GetGeneration()
	st.TargetSecretName = targetName(cred)
	msg := "requesting the first token"
	if usesAPIKey(cred) {
		msg = "checking the API key"
	}
	setCondition(&st, cred, now, vantagev1alpha1.ConditionReady, metav1.ConditionUnknown, ReasonProgressing, msg)
	setCondition(&st, cred, now, vantagev1alpha1.ConditionReconciling, metav1.ConditionTrue, reconcilingFirstToken, msg)
	setCondition(&st, cred, now, vantagev1alpha1.ConditionStalled, metav1.ConditionFalse, reconcilingFirstToken, "")
	return st
}

// computeStatus is the status after a reconcile: a pure function of the
// previous status, the facts as they stand after acting, and what was done.
func computeStatus(f *facts, res result) vantagev1alpha1.VantageCredentialStatus {
	cred := f.cred
	st := *cred.GetStatus().DeepCopy()
	now := f.now
	st.ObservedGeneration = cred.GetGeneration()
	st.TargetSecretName = f.targetName
	st.ExpiresAt = nil
	if f.token != nil && !f.token.expiresAt.IsZero() {
		st.ExpiresAt = timePtr(f.token.expiresAt)
	}

	switch {
	case res.exchanged || res.checked:
		st.LastRefreshTime = timePtr(f.token.issuedAt)
		st.GrantedScopes = res.scopes
		st.TokenURL = res.tokenURL
		st.UserID = res.userID
		st.ConsecutiveFailures = 0
		st.LastFailureTime = nil
		st.FailedSourceVersion = ""
		markRequestHandled(&st, cred)
		if res.checked {
			st.LastValidationTime = timePtr(now)
		}
		if res.exchanged {
			// A new key gets its own warning.
			st.ExpiryWarningTime = nil
		}
		if res.exchanged && (res.sourceChanged || st.LastSourceChangeTime == nil) {
			st.LastSourceChangeTime = timePtr(f.token.issuedAt)
		}
	case res.failed != nil:
		st.ConsecutiveFailures++
		st.LastFailureTime = timePtr(now)
		st.FailedSourceVersion = f.sourceVersion
		markRequestHandled(&st, cred)
	}
	switch {
	case res.failed != nil && res.failed.retryAt.IsZero():
		// Not retried until an input changes.
		st.NextRefreshTime = nil
	case res.failed != nil:
		st.NextRefreshTime = timePtr(res.failed.retryAt)
	case st.ConsecutiveFailures > 0 && f.problem == nil && !ptr.Deref(cred.GetSpec().Suspend, false):
		// Waiting out a backoff: its time is already in status.
	case !res.nextRefresh.IsZero():
		st.NextRefreshTime = timePtr(res.nextRefresh)
	default:
		st.NextRefreshTime = nil
	}

	if expiryWarningDue(f, timeOf(st.ExpiryWarningTime)) {
		st.ExpiryWarningTime = timePtr(now)
	}

	setConditions(&st, f, res)
	setTLSCondition(&st, f)
	setRolloutStatus(&st, f, res.rollout)
	return st
}

// timeOf is t's time, nil for nil.
func timeOf(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	return &t.Time
}

// setConditions derives Ready, Reconciling and Stalled.
func setConditions(st *vantagev1alpha1.VantageCredentialStatus, f *facts, res result) {
	cred, now := f.cred, f.now
	valid := f.token.validAt(now)
	until := ""
	if valid {
		until = fmt.Sprintf("; the %s in Secret %q %s", heldNoun(cred), f.targetName, validity(f.token))
	}
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		setCondition(st, cred, now, typ, status, reason, msg)
	}
	settled := func(ready metav1.ConditionStatus, reason, msg string) {
		set(vantagev1alpha1.ConditionReady, ready, reason, msg)
		set(vantagev1alpha1.ConditionReconciling, metav1.ConditionFalse, reconcilingDone, "")
		set(vantagev1alpha1.ConditionStalled, metav1.ConditionFalse, reconcilingDone, "")
	}
	stalled := func(reason, msg string) {
		set(vantagev1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg+until)
		set(vantagev1alpha1.ConditionReconciling, metav1.ConditionFalse, reconcilingStalled, "")
		set(vantagev1alpha1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	}
	progressing := func(ready metav1.ConditionStatus, reason, msg string) {
		set(vantagev1alpha1.ConditionReady, ready, reason, msg)
		set(vantagev1alpha1.ConditionReconciling, metav1.ConditionTrue, progressReason(f), msg)
		set(vantagev1alpha1.ConditionStalled, metav1.ConditionFalse, progressReason(f), "")
	}

	switch {
	case f.problem != nil && f.problem.stalled:
		stalled(f.problem.reason, f.problem.message)
	case f.problem != nil:
		progressing(metav1.ConditionFalse, f.problem.reason, f.problem.message+until)
	case ptr.Deref(cred.GetSpec().Suspend, false):
		set(vantagev1alpha1.ConditionReconciling, metav1.ConditionFalse, reconcilingSuspended, "")
		set(vantagev1alpha1.ConditionStalled, metav1.ConditionFalse, reconcilingSuspended, "")
		if valid {
			set(vantagev1alpha1.ConditionReady, metav1.ConditionTrue, ReasonSuspended,
				fmt.Sprintf("suspended: the %s in Secret %q is not refreshed or checked and %s", heldNoun(cred), f.targetName, validity(f.token)))
		} else {
			set(vantagev1alpha1.ConditionReady, metav1.ConditionFalse, ReasonSuspended, fmt.Sprintf("suspended: Secret %q holds no valid %s", f.targetName, heldNoun(cred)))
		}
	case res.failed != nil && res.failed.stalled:
		stalled(res.failed.reason, res.failed.message)
	case res.failed != nil:
		transientFailure(st, f, res.failed.reason, res.failed.message, set, progressing)
	case st.ConsecutiveFailures > 0:
		// Waiting out a backoff: the conditions describe the failure, except
		// that a token that has expired since can no longer count as Ready.
		if ready := meta.FindStatusCondition(st.Conditions, vantagev1alpha1.ConditionReady); ready != nil &&
			ready.Status == metav1.ConditionTrue && !valid {
			set(vantagev1alpha1.ConditionReady, metav1.ConditionFalse, expiredReason(cred), fmt.Sprintf(
				"the %s expired at %s and %s has failed %d times since %s: %s", heldNoun(cred),
				stamp(f.token.expiresAt), renewing(cred), st.ConsecutiveFailures, stamp(st.LastFailureTime.Time), ready.Message))
		}
	case valid && usesAPIKey(cred):
		settled(metav1.ConditionTrue, apiKeyReadyReason(f.token), apiKeyReadyMessage(f, res))
	case f.token != nil && usesAPIKey(cred):
		name, _ := sourceSecret(cred)
		stalled(ReasonAPIKeyExpired, fmt.Sprintf("the API key in Secret %q expired at %s: put a new one in Secret %q", f.targetName, stamp(f.token.expiresAt), name))
	case valid:
		settled(metav1.ConditionTrue, ReasonTokenValid, fmt.Sprintf("Secret %q holds a token valid until %s; next refresh at %s%s",
			f.targetName, stamp(f.token.expiresAt), stamp(res.nextRefresh), assumedNote(f.token)))
	case f.token != nil:
		settled(metav1.ConditionFalse, ReasonTokenExpired, fmt.Sprintf("the token in Secret %q expired at %s", f.targetName, stamp(f.token.expiresAt)))
	case usesAPIKey(cred):
		progressing(metav1.ConditionUnknown, ReasonProgressing, "checking the API key")
	default:
		progressing(metav1.ConditionUnknown, ReasonProgressing, "requesting a token")
	}
}

// transientFailure: a token still valid keeps Ready=True (RefreshFailing);
// otherwise Ready=False with the failure's reason (TokenRequestFailed,
// DiscoveryFailed), as TokenExpired when there was a token.
func transientFailure(st *vantagev1alpha1.VantageCredentialStatus, f *facts, reason, msg string,
	set func(string, metav1.ConditionStatus, string, string), progressing func(metav1.ConditionStatus, string, string)) {
	retry := fmt.Sprintf("; next attempt at %s", stamp(st.NextRefreshTime.Time))
	ready := metav1.ConditionFalse
	switch {
	case f.token.validAt(f.now):
		ready = metav1.ConditionTrue
		if !usesAPIKey(f.cred) {
			// An API key keeps its check's own reason, ValidationFailed.
			reason = ReasonRefreshFailing
		}
		msg = fmt.Sprintf("%s; the %s in Secret %q %s", msg, heldNoun(f.cred), f.targetName, validity(f.token))
	case f.token != nil:
		reason = expiredReason(f.cred)
		msg = fmt.Sprintf("the %s expired at %s and %s failed: %s", heldNoun(f.cred), stamp(f.token.expiresAt), renewing(f.cred), msg)
	}
	if isProgressing(f) {
		progressing(ready, reason, msg+retry)
		return
	}
	set(vantagev1alpha1.ConditionReady, ready, reason, msg+retry)
	set(vantagev1alpha1.ConditionReconciling, metav1.ConditionFalse, reconcilingDone, "")
	set(vantagev1alpha1.ConditionStalled, metav1.ConditionFalse, reconcilingDone, "")
}

// isProgressing: the operator works towards a first token or new inputs,
// not a routine refresh. GitOps tools show Reconciling=True as progressing,
// so routine refreshes must not set it.
func isProgressing(f *facts) bool {
	return f.token == nil || f.inputs == nil || f.token.inputsHash != f.inputs.hash
}

func progressReason(f *facts) string {
	if f.token == nil && f.cred.GetStatus().LastRefreshTime == nil {
		return reconcilingFirstToken
	}
	return reconcilingNewGeneration
}

func markRequestHandled(st *vantagev1alpha1.VantageCredentialStatus, cred credential) {
	if v := cred.GetAnnotations()[vantagev1alpha1.RefreshRequestedAnnotation]; v != "" {
		st.LastHandledRefreshRequest = v
	}
}

// setCondition sets one condition, keeping its transition time unless its
// status changes. Times come from the injected clock, in whole seconds as
// the API server stores them, so an unchanged status compares equal.
func setCondition(st *vantagev1alpha1.VantageCredentialStatus, cred credential, now time.Time,
	typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            truncate(msg, 1024),
		ObservedGeneration: cred.GetGeneration(),
		LastTransitionTime: metav1.NewTime(now.Truncate(time.Second)),
	})
}

func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// truncate keeps messages within what a condition allows (32768) and what
// a person reads.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// assumedNote flags an expiry the operator assumed, as DESIGN §5 asks: the
// token may in truth expire sooner, and only the token server can tell.
func assumedNote(t *currentToken) string {
	if t == nil || t.source != oauth.LifetimeDefault {
		return ""
	}
	return fmt.Sprintf(" (the token server gave no expiry, neither expires_in nor a JWT exp, so a lifetime of %s was assumed from --default-token-lifetime)",
		t.expiresAt.Sub(t.issuedAt))
}

// setTLSCondition keeps TLSVerified=False in status while certificate
// verification is off, so the risk shows in kubectl get -o wide, GitOps
// tools and alerts, not only in events; without it the condition is absent.
func setTLSCondition(st *vantagev1alpha1.VantageCredentialStatus, f *facts) {
	if tls := f.cred.GetSpec().TLS; tls == nil || !ptr.Deref(tls.InsecureSkipVerify, false) {
		meta.RemoveStatusCondition(&st.Conditions, vantagev1alpha1.ConditionTLSVerified)
		return
	}
	setCondition(st, f.cred, f.now, vantagev1alpha1.ConditionTLSVerified, metav1.ConditionFalse, ReasonInsecureSkipVerify,
		"spec.tls.insecureSkipVerify is true: the token server's certificate is not verified, so whoever can intercept the traffic can read the client secret; set spec.tls.caBundleRef instead")
}
