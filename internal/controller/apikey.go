package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

// An API key (spec.apiKeySecretRef) runs on the same engine as a
// service-account key: its "token" is the key itself as the Vantage API
// last described it, its "exchange" a check with GET <apiURL>/v1/auth/test,
// and its "refresh" the next check, every validateInterval. What differs
// lives here.

const (
	defaultAPIKeyKey        = "api-key"
	defaultValidateInterval = time.Hour
	defaultExpiryWarning    = 14 * 24 * time.Hour
	// expiryWarningEvery spaces the APIKeyExpiringSoon events.
	expiryWarningEvery = 24 * time.Hour
)

func usesAPIKey(cred credential) bool {
	return cred.GetSpec().APIKeySecretRef != nil
}

// sourceSecret names the Secret holding the credential's key, and says
// what it should hold, for messages.
func sourceSecret(cred credential) (name, holds string) {
	if ref := cred.GetSpec().APIKeySecretRef; ref != nil {
		return ref.Name, fmt.Sprintf("the Vantage API key under key %q", ptr.Deref(ref.Key, defaultAPIKeyKey))
	}
	if ref := cred.GetSpec().ServiceAccountSecretRef; ref != nil {
		return ref.Name, "the service-account key (client_id and client_secret)"
	}
	return "", ""
}

// apiKeySource says whether a target's expiry source marks an API key.
func apiKeySource(s oauth.LifetimeSource) bool {
	return s == oauth.LifetimeAuthTest || s == oauth.LifetimeUnverified
}

func validateInterval(cred credential) time.Duration {
	if d := cred.GetSpec().ValidateInterval; d != nil {
		return d.Duration
	}
	return defaultValidateInterval
}

func expiryWarning(cred credential) time.Duration {
	if d := cred.GetSpec().ExpiryWarning; d != nil {
		return d.Duration
	}
	return defaultExpiryWarning
}

// readAPIKeyInputs reads the API key from its Secret and resolves the
// inputs. Spaces and line breaks around the key are dropped: a key saved
// with `echo` ends in one.
func readAPIKeyInputs(cred credential, source *corev1.Secret, e Endpoints) (*inputs, *problem) {
	ref := cred.GetSpec().APIKeySecretRef
	key := ptr.Deref(ref.Key, defaultAPIKeyKey)
	raw, ok := source.Data[key]
	if !ok {
		return nil, &problem{ReasonSecretKeyNotFound, fmt.Sprintf(
			"Secret %q has no key %q: put the Vantage API key there, or name its key in spec.apiKeySecretRef.key", ref.Name, key), true}
	}
	apiKey, p := checkAPIKey(ref.Name, key, raw)
	if p != nil {
		return nil, p
	}
	templates, p := templateData(cred.GetSpec())
	if p != nil {
		return nil, p
	}
	in := &inputs{
		apiKey:       apiKey,
		apiURL:       firstNonEmpty(ptr.Deref(cred.GetSpec().APIURL, ""), e.APIURL),
		organization: ptr.Deref(cred.GetSpec().Organization, ""),
		templates:    templates,
	}
	in.hash = in.fingerprint()
	return in, nil
}

// checkAPIKey is the API key in raw, spaces around it dropped; it refuses a
// value that cannot be one: empty, or with spaces or control characters
// inside, which an Authorization header cannot carry. The message never
// quotes the value.
func checkAPIKey(secret, key string, raw []byte) (string, *problem) {
	v := strings.TrimSpace(string(raw))
	if v == "" {
		return "", &problem{ReasonInvalidAPIKey, fmt.Sprintf("key %q of Secret %q is empty: put the Vantage API key there", key, secret), true}
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] == 0x7f {
			return "", &problem{ReasonInvalidAPIKey, fmt.Sprintf(
				"key %q of Secret %q holds spaces or control characters inside the value, which no API key has: copy the key again", key, secret), true}
		}
	}
	return v, nil
}

// check asks the Vantage API about the API key and writes it to the target
// when the target does not hold it as the API described it. A key the API
// refuses is never written; a key the API cannot check (no auth/test
// endpoint) is, unverified.
func (r *VantageCredentialReconciler) check(ctx context.Context, f *facts, d decision) (result, error) {
	res := result{decision: d}
	key := client.ObjectKeyFromObject(f.cred)
	interval := validateInterval(f.cred)
	if tok, id := r.unwritten.take(key, f.cred.GetUID(), f.inputs.hash, f.now, func(t *oauth.Token) time.Time {
		return t.IssuedAt.Add(interval)
	}); tok != nil {
		res.checked = true
		return r.writeIssued(ctx, f, res, key, tok, id)
	}
	id, err := r.Checker.Check(ctx, oauth.CheckRequest{
		APIURL:             f.inputs.apiURL,
		Credential:         f.inputs.apiKey,
		CAPEM:              f.inputs.request.CAPEM,
		InsecureSkipVerify: f.inputs.request.InsecureSkipVerify,
		Caller:             key.String(),
	})
	if wait, ok := oauth.IsThrottled(err); ok {
		res.heldBack = wait
		return res, nil
	}
	if f.inputs.request.InsecureSkipVerify {
		// Sent: say so every time, as for a token request.
		r.Recorder.Eventf(f.cred, nil, "Warning", ReasonInsecureSkipVerify, "Check",
			"checked the API key with %s without verifying its certificate (spec.tls.insecureSkipVerify): whoever can intercept the traffic can read the API key",
			hostOf(f.inputs.apiURL))
	}
	r.Metrics.checked(err)
	if err != nil && !oauth.IsCode(err, oauth.CodeNoAuthTest) {
		res.failed = r.classifyWith(f, err, checkReason(ReasonAPIKeyRejected))
		if res.failed.reason == ReasonAPIKeyRejected {
			// Only another key can help: no retry until the Secret changes.
			res.failed.retryAt = time.Time{}
		}
		return res, nil
	}
	// id is nil when the API has no auth/test endpoint: written unverified.
	tok := apiKeyToken(f, id)
	res.checked = true
	holds, err := targetHolds(f, tok)
	switch {
	case err != nil:
		return res, err
	case !holds:
		return r.writeIssued(ctx, f, res, key, tok, id)
	}
	res.scopes = tok.Scopes
	if id != nil {
		res.userID = id.UserID
	}
	return res, nil
}

// apiKeyToken describes the API key as the API's answer id does; nil id:
// the API could not check it.
func apiKeyToken(f *facts, id *oauth.Identity) *oauth.Token {
	tok := &oauth.Token{AccessToken: f.inputs.apiKey, TokenType: "Bearer", IssuedAt: f.now, LifetimeSource: oauth.LifetimeUnverified}
	if id != nil {
		tok.LifetimeSource = oauth.LifetimeAuthTest
		tok.Scopes = id.Scopes
		if id.ExpiresAt != nil {
			tok.Expiry = *id.ExpiresAt
		}
	}
	return tok
}

// targetHolds says whether the target already holds tok as it would be
// written, issue time aside, so a check that learns nothing new writes
// nothing.
func targetHolds(f *facts, tok *oauth.Token) (bool, error) {
	if f.token == nil || f.token.inputsHash != f.inputs.hash {
		return false, nil
	}
	_, want, _, err := renderToken(f, tok)
	if err != nil {
		return false, err
	}
	have := f.holder().secret.Annotations
	for _, a := range []string{vantagev1alpha1.ExpiresAtAnnotation, vantagev1alpha1.ExpirySourceAnnotation, vantagev1alpha1.DataHashAnnotation} {
		w, inWant := want[a]
		h, inHave := have[a]
		if w != h || inWant != inHave {
			return false, nil
		}
	}
	return true, nil
}

// nextCheckAt is when the API key in the target is due for its next check:
// validateInterval after the last one. Zero once the key has expired: no
// check can help then, only a new key, which its Secret's watch brings.
func nextCheckAt(f *facts) time.Time {
	if !f.token.validAt(f.now) {
		return time.Time{}
	}
	last := f.token.issuedAt
	if v := f.cred.GetStatus().LastValidationTime; v != nil && v.After(last) {
		last = v.Time
	}
	return last.Add(validateInterval(f.cred))
}

// expiryWarningDue says whether the APIKeyExpiringSoon event is due: the
// key expires within expiryWarning and the last such event is a day old.
func expiryWarningDue(f *facts, warned *time.Time) bool {
	start, ok := expiryWarningStart(f)
	if !ok || f.now.Before(start) {
		return false
	}
	return warned == nil || !f.now.Before(warned.Add(expiryWarningEvery))
}

// expiryWarningWake is when the next APIKeyExpiringSoon event comes due;
// zero for none.
func expiryWarningWake(f *facts, warned *time.Time) time.Time {
	start, ok := expiryWarningStart(f)
	switch {
	case !ok:
		return time.Time{}
	case f.now.Before(start):
		return start
	case warned != nil && warned.Add(expiryWarningEvery).Before(f.token.expiresAt):
		return warned.Add(expiryWarningEvery)
	}
	return time.Time{}
}

// expiryWarningStart is when a valid API key with an expiry enters the
// warning window.
func expiryWarningStart(f *facts) (time.Time, bool) {
	if !usesAPIKey(f.cred) || f.problem != nil || !f.token.validAt(f.now) || f.token.expiresAt.IsZero() {
		return time.Time{}, false
	}
	return f.token.expiresAt.Add(-expiryWarning(f.cred)), true
}

// validity says how long what the target holds is valid, for messages.
func validity(t *currentToken) string {
	if t.expiresAt.IsZero() {
		return "never expires"
	}
	return "stays valid until " + stamp(t.expiresAt)
}

// heldNoun names what the target holds, for messages.
func heldNoun(cred credential) string {
	if usesAPIKey(cred) {
		return "API key"
	}
	return "token"
}

// expiredReason is the Ready reason for what the target holds once it has
// expired.
func expiredReason(cred credential) string {
	if usesAPIKey(cred) {
		return ReasonAPIKeyExpired
	}
	return ReasonTokenExpired
}

// renewing names what keeps the target valid, for messages.
func renewing(cred credential) string {
	if usesAPIKey(cred) {
		return "checking the key"
	}
	return "refreshing"
}

func apiKeyReadyReason(t *currentToken) string {
	if t.source == oauth.LifetimeUnverified {
		return ReasonAPIKeyUnverified
	}
	return ReasonAPIKeyValid
}

// apiKeyReadyMessage says what the target holds and when the key is
// checked next.
func apiKeyReadyMessage(f *facts, res result) string {
	if f.token.source == oauth.LifetimeUnverified {
		return fmt.Sprintf("Secret %q holds the API key unverified: the Vantage API at %s has no %s endpoint, so the key could not be checked; next attempt at %s",
			f.targetName, f.inputs.apiURL, oauth.AuthTestPath, stamp(res.nextRefresh))
	}
	who := ""
	if user := firstNonEmpty(res.userID, f.cred.GetStatus().UserID); user != "" {
		who = fmt.Sprintf(" for user %q", user)
	}
	return fmt.Sprintf("Secret %q holds an API key the Vantage API accepts%s; it %s; next check at %s",
		f.targetName, who, validity(f.token), stamp(res.nextRefresh))
}

// action names, in events, what the credential's key goes through.
func action(cred credential) string {
	if usesAPIKey(cred) {
		return "Check"
	}
	return "Exchange"
}
