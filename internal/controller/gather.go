package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/serviceaccount"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/targetsecret"
)

// facts is everything one reconcile decides from, read before anything is
// written.
type facts struct {
	now  time.Time
	cred credential
	// sourceVersion is the resourceVersion of the service-account Secret
	// (or of the ServiceAccount of spec.serviceAccountRef), "" when it is
	// missing.
	sourceVersion string
	// serviceAccount is the ServiceAccount whose tokens authenticate the
	// client, with spec.serviceAccountRef; empty otherwise.
	serviceAccount types.NamespacedName
	// inputs is nil exactly when problem is set.
	inputs  *inputs
	problem *problem
	// targetName is the target Secrets' name; targets are their current
	// state, one per namespace the credential writes into.
	targetName string
	targets    []*targetState
	// stale are the Secrets the credential wrote into namespaces it no
	// longer selects, to delete.
	stale []*corev1.Secret
	// token describes the token the credential goes by: the newest that an
	// intact target of its own holds (nobody edited the operator's keys).
	token *currentToken
}

// targetState is one target Secret as gathered, and as written since.
type targetState struct {
	namespace string
	// secret is its current state, nil when it does not exist.
	secret *corev1.Secret
	// token is what it holds, when it is ours and intact.
	token *currentToken
	// problem says why it cannot be written (TargetConflict).
	problem *problem
	// gone is set when its namespace went away while being written.
	gone bool
}

// currentToken is what the target Secret's annotations say about the token
// in it.
type currentToken struct {
	issuedAt time.Time
	// expiresAt is zero for an API key that never expires.
	expiresAt  time.Time
	inputsHash string
	// dataHash is the hash of the data written (DataHashAnnotation): it
	// tells two tokens apart, even two issued in one second.
	dataHash string
	// source says where expiresAt came from; LifetimeDefault means the
	// token server gave no expiry, so it is issuedAt plus the operator's
	// default lifetime.
	source oauth.LifetimeSource
}

// same says whether t and o describe one token, as two targets holding
// copies of it do.
func (t *currentToken) same(o *currentToken) bool {
	return t != nil && o != nil && t.issuedAt.Equal(o.issuedAt) && t.expiresAt.Equal(o.expiresAt) &&
		t.inputsHash == o.inputsHash && t.source == o.source
}

func (t *currentToken) validAt(now time.Time) bool {
	return t != nil && (t.expiresAt.IsZero() || now.Before(t.expiresAt))
}

// gather reads the credential's inputs and its targets. Errors it returns
// are failures to talk to the API server; everything wrong with the inputs
// themselves ends up in facts.problem.
func (r *VantageCredentialReconciler) gather(ctx context.Context, door frontDoor, cred credential) (*facts, error) {
	f := &facts{now: r.Clock.Now(), cred: cred, targetName: targetName(cred)}

	namespaces, stale, p, err := door.targets(ctx, cred)
	if err != nil {
		return nil, err
	}
	f.stale = stale
	for _, ns := range namespaces {
		target, err := r.getTarget(ctx, types.NamespacedName{Namespace: ns, Name: f.targetName})
		if err != nil {
			return nil, err
		}
		t := &targetState{namespace: ns, secret: target, problem: checkTarget(cred, f.targetName, target)}
		if owned(cred, target) {
			t.token = tokenIn(cred, target)
		}
		f.targets = append(f.targets, t)
	}
	f.token = newestToken(f.targets)

	sourceNS := ""
	if p == nil {
		sourceNS, p = door.sourceNamespace(cred)
	}
	if p != nil {
		f.problem = p
		return f, nil
	}
	if usesServiceAccount(cred) {
		f.sourceVersion, f.inputs, f.problem, err = r.readServiceAccountInputs(ctx, cred, sourceNS)
		if err != nil {
			return nil, err
		}
		f.serviceAccount = types.NamespacedName{Namespace: sourceNS, Name: cred.GetSpec().ServiceAccountRef.Name}
		return r.finishGather(ctx, f, sourceNS)
	}
	name, holds := sourceSecret(cred)
	// The cache holds only the operator's own Secrets, so that unrelated
	// Secrets cost no memory; sources are read live, once per version.
	source, err := r.readSource(ctx, types.NamespacedName{Namespace: sourceNS, Name: name})
	switch {
	case err != nil:
		return nil, err
	case source == nil:
		f.problem = &problem{ReasonSecretNotFound, fmt.Sprintf("Secret %q not found%s: create it with %s", name, inNamespace(cred, sourceNS), holds), false}
	case usesAPIKey(cred):
		f.sourceVersion = source.ResourceVersion
		f.inputs, f.problem = readAPIKeyInputs(cred, source, r.Endpoints)
	default:
		f.sourceVersion = source.ResourceVersion
		f.inputs, f.problem = readInputs(cred, source, r.Endpoints)
	}
	return r.finishGather(ctx, f, sourceNS)
}

// finishGather reads the CA bundle, beside the key in sourceNS, once the
// key is good, and checks that some target can be written.
func (r *VantageCredentialReconciler) finishGather(ctx context.Context, f *facts, sourceNS string) (*facts, error) {
	if f.problem == nil {
		caVersion, p, err := r.readTLS(ctx, f.cred, sourceNS, f.inputs)
		if err != nil {
			return nil, err
		}
		f.problem = p
		if caVersion != "" {
			f.sourceVersion += "+" + caVersion
		}
	}
	if f.problem == nil {
		f.problem = noWritableTarget(f.targets)
	}
	return f, nil
}

// inNamespace names the namespace of a cluster credential's Secrets in
// messages; a VantageCredential's are in its own.
func inNamespace(cred credential, ns string) string {
	if cred.GetNamespace() != "" {
		return ""
	}
	return fmt.Sprintf(" in namespace %q", ns)
}

// newestToken is the newest token an intact target holds: after a refresh
// every target holds it, and one written before a namespace matched or an
// edit of a target's data is the one to copy.
func newestToken(targets []*targetState) *currentToken {
	var newest *currentToken
	for _, t := range targets {
		if t.token != nil && t.problem == nil && (newest == nil || t.token.issuedAt.After(newest.issuedAt)) {
			newest = t.token
		}
	}
	return newest
}

// noWritableTarget is the credential's problem when none of its targets
// can be written: the first target's conflict. While some can, the others
// are reported per namespace.
func noWritableTarget(targets []*targetState) *problem {
	for _, t := range targets {
		if t.problem == nil {
			return nil
		}
	}
	if len(targets) == 0 {
		return nil
	}
	return targets[0].problem
}

// getTarget reads the target from the cache, which holds only Secrets the
// operator manages. When it is not there, the metadata cache tells whether
// a Secret of that name exists that the operator does not manage; only then
// is it read live, so a new credential costs no read of a name that is
// free. A Secret created so recently that the metadata cache has not seen it
// makes the create fail, and writeToken reads it then.
func (r *VantageCredentialReconciler) getTarget(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.Get(ctx, key, s)
	if err == nil {
		return s, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading target Secret %s: %w", key.Name, err)
	}
	if _, exists, err := r.secretVersion(ctx, key); err != nil || !exists {
		return nil, err
	}
	err = r.APIReader.Get(ctx, key, s)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading target Secret %s: %w", key.Name, err)
	}
	return s, nil
}

// readInputs parses the service-account key in the source Secret and
// resolves the inputs.
func readInputs(cred credential, source *corev1.Secret, e Endpoints) (*inputs, *problem) {
	ref := cred.GetSpec().ServiceAccountSecretRef
	key, err := serviceaccount.Parse(source.Data, ptr.Deref(ref.Key, ""))
	if err != nil {
		var perr *serviceaccount.Error
		if errors.As(err, &perr) && perr.Reason == serviceaccount.ReasonKeyNotFound {
			return nil, &problem{ReasonSecretKeyNotFound, fmt.Sprintf("Secret %q: %s", ref.Name, err), true}
		}
		return nil, &problem{ReasonInvalidKey, fmt.Sprintf("Secret %q: %s", ref.Name, err), true}
	}
	return resolveInputs(cred.GetSpec(), key, e)
}

// checkTarget refuses to write a Secret the operator does not own: one
// managed by another credential, or, unless the policy is Merge, one made
// by someone else.
func checkTarget(cred credential, name string, target *corev1.Secret) *problem {
	if target == nil {
		return nil
	}
	conflict := func(msg string) *problem {
		return &problem{ReasonTargetConflict, fmt.Sprintf("Secret %q %s", name, msg), true}
	}
	labels := target.Labels
	if labels[vantagev1alpha1.ManagedByLabel] == vantagev1alpha1.ManagedByValue {
		if kind, other := managerOf(labels); kind != kindOf(cred) || other != cred.GetName() {
			return conflict(fmt.Sprintf("is managed by %s %q: give this credential another spec.target.name", kind, other))
		}
	} else if creationPolicy(cred) != vantagev1alpha1.CreationPolicyMerge {
		return conflict("exists and is not managed by this operator: delete it, choose another spec.target.name, or set spec.target.creationPolicy to Merge to add the token keys to it")
	}
	if want := secretType(cred); target.Type != want {
		return conflict(fmt.Sprintf("has type %q but the template asks for %q, and a Secret's type cannot change: delete the Secret to let the operator recreate it", target.Type, want))
	}
	return nil
}

// owned says whether target carries this credential's labels.
func owned(cred credential, target *corev1.Secret) bool {
	if target == nil || target.Labels[vantagev1alpha1.ManagedByLabel] != vantagev1alpha1.ManagedByValue {
		return false
	}
	kind, name := managerOf(target.Labels)
	return kind == kindOf(cred) && name == cred.GetName()
}

// managerOf names the credential that the labels of a Secret the operator
// manages point to.
func managerOf(labels map[string]string) (kind, name string) {
	if name := labels[vantagev1alpha1.ClusterCredentialLabel]; name != "" {
		return clusterKind, name
	}
	return namespacedKind, labels[vantagev1alpha1.CredentialLabel]
}

// The two kinds, as messages name them.
const (
	namespacedKind = "VantageCredential"
	clusterKind    = "ClusterVantageCredential"
)

// kindOf is cred's kind: a cluster credential has no namespace.
func kindOf(cred credential) string {
	if cred.GetNamespace() == "" {
		return clusterKind
	}
	return namespacedKind
}

// credentialLabel is the label naming cred on its targets.
func credentialLabel(cred credential) string {
	if kindOf(cred) == clusterKind {
		return vantagev1alpha1.ClusterCredentialLabel
	}
	return vantagev1alpha1.CredentialLabel
}

// tokenIn reads the token's annotations when the operator's keys in the
// target are as it wrote them; nil otherwise, which gets a new token.
func tokenIn(cred credential, target *corev1.Secret) *currentToken {
	a := target.Annotations
	source := oauth.LifetimeSource(a[vantagev1alpha1.ExpirySourceAnnotation])
	issued, err := time.Parse(time.RFC3339, a[vantagev1alpha1.IssuedAtAnnotation])
	if err != nil {
		return nil
	}
	var expires time.Time
	// Only an API key may lack an expiry.
	if v, ok := a[vantagev1alpha1.ExpiresAtAnnotation]; ok || !apiKeySource(source) {
		if expires, err = time.Parse(time.RFC3339, v); err != nil {
			return nil
		}
	}
	keys := targetsecret.Keys(templates(cred), organizationIn(target))
	if a[vantagev1alpha1.DataHashAnnotation] != targetsecret.Hash(target.Data, keys) {
		return nil
	}
	return &currentToken{issuedAt: issued, expiresAt: expires, inputsHash: a[vantagev1alpha1.InputsHashAnnotation],
		dataHash: a[vantagev1alpha1.DataHashAnnotation], source: source}
}

// organizationIn tells whether the default layout written included
// VANTAGE_ORG. The drift check must use the key set that was written: the
// organization in force now may differ, which the inputs hash catches.
func organizationIn(target *corev1.Secret) string {
	return string(target.Data[targetsecret.OrgEnv])
}

func targetName(cred credential) string {
	if t := cred.GetSpec().Target; t != nil && t.Name != nil {
		return *t.Name
	}
	return cred.GetName()
}

func creationPolicy(cred credential) vantagev1alpha1.CreationPolicy {
	if t := cred.GetSpec().Target; t != nil && t.CreationPolicy != nil {
		return *t.CreationPolicy
	}
	return vantagev1alpha1.CreationPolicyOwner
}

func templates(cred credential) map[string]string {
	if t := cred.GetSpec().Target; t != nil && t.Template != nil {
		return t.Template.Data
	}
	return nil
}

func secretType(cred credential) corev1.SecretType {
	if t := cred.GetSpec().Target; t != nil && t.Template != nil && t.Template.Type != nil {
		return corev1.SecretType(*t.Template.Type)
	}
	return corev1.SecretTypeOpaque
}
