package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/targetsecret"
)

// conflictError carries a target problem found while writing (someone
// created the Secret between our read and our write).
type conflictError struct{ p *problem }

func (e *conflictError) Error() string { return e.p.message }

// writeToken puts a new token into every target that can take it and
// returns what the targets now say about their token, nil when none took
// it. A target found taken by someone else gets the conflict as its
// problem; a namespace that went away is skipped; other API errors are
// returned (the first), after every target was tried.
func (r *VantageCredentialReconciler) writeToken(ctx context.Context, f *facts, tok *oauth.Token) (*currentToken, error) {
	data, tokenAnnotations, written, err := renderToken(f, tok)
	if err != nil {
		return nil, err
	}
	var took bool
	var firstErr error
	for _, t := range f.targets {
		if t.problem != nil {
			continue
		}
		err := r.writeTarget(ctx, f, t, data, tokenAnnotations)
		switch {
		case err == nil:
			t.token, took = written, true
		case firstErr == nil:
			firstErr = err
		}
	}
	if !took {
		if firstErr == nil {
			// Every target turned out taken: that is the credential's problem.
			f.problem = noWritableTarget(f.targets)
		}
		return nil, firstErr
	}
	return written, firstErr
}

// writeTarget writes data and the token annotations into one target,
// creating it if needed. On a write conflict it rereads the Secret and
// tries again with the same token: a token once requested is never thrown
// away for a lost race. A conflict found on the way becomes t.problem, and
// a namespace found gone sets t.gone; neither is an error.
func (r *VantageCredentialReconciler) writeTarget(ctx context.Context, f *facts, t *targetState, data map[string][]byte, tokenAnnotations map[string]string) error {
	current := t.secret
	for attempt := 0; ; attempt++ {
		desired, err := r.desiredTarget(f.cred, t.namespace, f.targetName, current)
		var conflict *conflictError
		if errors.As(err, &conflict) {
			t.problem = conflict.p
			return nil
		}
		if err != nil {
			return err
		}
		setData(f.cred, desired, data)
		maps.Copy(desired.Annotations, tokenAnnotations)
		if _, ok := tokenAnnotations[vantagev1alpha1.ExpiresAtAnnotation]; !ok {
			delete(desired.Annotations, vantagev1alpha1.ExpiresAtAnnotation)
		}
		if current == nil {
			err = r.Create(ctx, desired)
		} else {
			err = r.Update(ctx, desired)
		}
		if err == nil {
			t.secret = desired
			return nil
		}
		if namespaceGone(err) {
			t.gone = true
			return nil
		}
		if attempt == 2 || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)) {
			return fmt.Errorf("writing target Secret %s: %w", f.targetName, err)
		}
		if current, err = r.readTargetLive(ctx, f, t.namespace); err != nil {
			if errors.As(err, &conflict) {
				t.problem = conflict.p
				return nil
			}
			return err
		}
	}
}

// namespaceGone tells a write refused because its namespace was deleted,
// or is being deleted, from other failures: such a target is no error.
func namespaceGone(err error) bool {
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return true
	}
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Kind == "namespaces"
}

// syncTargets brings the targets in line with the spec without a token
// request. A target lacking the current token (its namespace started to
// match, or someone edited its data while another target holds it intact)
// gets a copy of the token's Secret data; the others get their labels,
// template annotations and owner reference synced, which writes only when
// something differs.
func (r *VantageCredentialReconciler) syncTargets(ctx context.Context, f *facts) error {
	from := f.holder()
	copyOK := from != nil && f.token.validAt(f.now) && !ptr.Deref(f.cred.GetSpec().Suspend, false)
	var firstErr error
	for _, t := range f.targets {
		var err error
		switch {
		case t.problem != nil:
			continue
		case !t.token.same(f.token) && copyOK:
			if err = r.writeTarget(ctx, f, t, from.secret.Data, tokenAnnotationsOf(from.secret)); err == nil && t.problem == nil && !t.gone {
				t.token = f.token
			}
		default:
			err = r.syncTargetMetadata(ctx, f, t)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// written names where the token went, for events: the Secret, and for a
// cluster credential the number of namespaces that hold it.
func (f *facts) written() string {
	where := fmt.Sprintf("Secret %q", f.targetName)
	if kindOf(f.cred) != clusterKind {
		return where
	}
	n := 0
	for _, t := range f.targets {
		if t.token.same(f.token) {
			n++
		}
	}
	return fmt.Sprintf("%s in %d namespaces", where, n)
}

// holder is the target whose token is f.token.
func (f *facts) holder() *targetState {
	for _, t := range f.targets {
		if t.token != nil && t.token == f.token {
			return t
		}
	}
	return nil
}

// tokenAnnotationsOf is the token's annotations on a target, copied with
// its data.
func tokenAnnotationsOf(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for _, k := range []string{
		vantagev1alpha1.IssuedAtAnnotation, vantagev1alpha1.ExpiresAtAnnotation, vantagev1alpha1.ExpirySourceAnnotation,
		vantagev1alpha1.DataHashAnnotation, vantagev1alpha1.InputsHashAnnotation,
	} {
		if v, ok := s.Annotations[k]; ok {
			out[k] = v
		}
	}
	return out
}

// prune deletes the Secrets a credential wrote into namespaces it no
// longer selects. Only a Secret it controls is deleted, and only the very
// one it saw (a UID precondition), so a Secret someone created since under
// that name survives.
func (r *VantageCredentialReconciler) prune(ctx context.Context, f *facts) error {
	for _, s := range f.stale {
		if err := r.deleteTarget(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// deleteTarget deletes s if it is still the Secret seen.
func (r *VantageCredentialReconciler) deleteTarget(ctx context.Context, s *corev1.Secret) error {
	err := r.Delete(ctx, s, client.Preconditions{UID: ptr.To(s.UID)})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return fmt.Errorf("deleting target Secret %s in namespace %s: %w", s.Name, s.Namespace, err)
}

// renderToken is the target's data and token annotations for tok, and
// what the target will say of it once written.
func renderToken(f *facts, tok *oauth.Token) (map[string][]byte, map[string]string, *currentToken, error) {
	data, err := targetsecret.Render(f.inputs.templates, targetsecret.Values{
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		ExpiresAt:    tok.Expiry,
		Scopes:       tok.Scopes,
		APIURL:       f.inputs.apiURL,
		Organization: f.inputs.organization,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("rendering the target Secret: %w", err)
	}
	keys := targetsecret.Keys(f.inputs.templates, f.inputs.organization)
	written := &currentToken{
		issuedAt:   tok.IssuedAt.Truncate(time.Second),
		expiresAt:  tok.Expiry.Truncate(time.Second),
		inputsHash: f.inputs.hash,
		dataHash:   targetsecret.Hash(data, keys),
		source:     tok.LifetimeSource,
	}
	annotations := map[string]string{
		vantagev1alpha1.IssuedAtAnnotation:     written.issuedAt.UTC().Format(time.RFC3339),
		vantagev1alpha1.InputsHashAnnotation:   written.inputsHash,
		vantagev1alpha1.ExpirySourceAnnotation: string(tok.LifetimeSource),
		vantagev1alpha1.DataHashAnnotation:     written.dataHash,
	}
	if !written.expiresAt.IsZero() {
		annotations[vantagev1alpha1.ExpiresAtAnnotation] = written.expiresAt.UTC().Format(time.RFC3339)
	}
	return data, annotations, written, nil
}

// readTargetLive rereads a target after a lost race and checks that it is
// still ours to write.
func (r *VantageCredentialReconciler) readTargetLive(ctx context.Context, f *facts, namespace string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: f.targetName}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading target Secret %s: %w", f.targetName, err)
	}
	if p := checkTarget(f.cred, f.targetName, s); p != nil {
		return nil, &conflictError{p}
	}
	return s, nil
}

// syncTargetMetadata brings labels, template annotations and the owner
// reference of an existing target in line with the spec without a new
// token: switching creationPolicy or editing template labels costs no
// token request. It writes only when something differs.
func (r *VantageCredentialReconciler) syncTargetMetadata(ctx context.Context, f *facts, t *targetState) error {
	if t.secret == nil || !owned(f.cred, t.secret) {
		return nil
	}
	desired, err := r.desiredTarget(f.cred, t.namespace, f.targetName, t.secret)
	if err != nil {
		return err
	}
	if apiequality.Semantic.DeepEqual(desired.ObjectMeta, t.secret.ObjectMeta) {
		return nil
	}
	if err := r.Update(ctx, desired); err != nil {
		if apierrors.IsConflict(err) {
			// A newer version is on its way through the watch, which
			// brings this credential back.
			return nil
		}
		return fmt.Errorf("updating target Secret %s: %w", f.targetName, err)
	}
	t.secret = desired
	return nil
}

// desiredTarget is the target's metadata as the spec wants it, starting
// from what exists so that labels and annotations others added survive.
func (r *VantageCredentialReconciler) desiredTarget(cred credential, namespace, name string, current *corev1.Secret) (*corev1.Secret, error) {
	var s *corev1.Secret
	if current != nil {
		s = current.DeepCopy()
	} else {
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Type:       secretType(cred),
		}
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	if t := cred.GetSpec().Target; t != nil && t.Template != nil {
		maps.Copy(s.Labels, t.Template.Labels)
		maps.Copy(s.Annotations, t.Template.Annotations)
	}
	s.Labels[vantagev1alpha1.ManagedByLabel] = vantagev1alpha1.ManagedByValue
	s.Labels[credentialLabel(cred)] = cred.GetName()
	if err := setOwner(cred, s, r.Scheme); err != nil {
		return nil, err
	}
	return s, nil
}

// setOwner gives the target a controller reference under Owner, and takes
// ours away under Orphan and Merge.
func setOwner(cred credential, s *corev1.Secret, scheme *runtime.Scheme) error {
	if creationPolicy(cred) == vantagev1alpha1.CreationPolicyOwner {
		err := controllerutil.SetControllerReference(cred, s, scheme)
		var owned *controllerutil.AlreadyOwnedError
		if errors.As(err, &owned) {
			return &conflictError{&problem{ReasonTargetConflict, fmt.Sprintf(
				"Secret %q is controlled by %s %q: use creationPolicy Merge or another spec.target.name", s.Name, owned.Owner.Kind, owned.Owner.Name), true}}
		}
		return err
	}
	s.OwnerReferences = slices.DeleteFunc(s.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.UID == cred.GetUID() })
	if len(s.OwnerReferences) == 0 {
		s.OwnerReferences = nil
	}
	return nil
}

// setData writes the rendered keys: all of the data under Owner and Orphan,
// only the operator's keys under Merge.
func setData(cred credential, s *corev1.Secret, data map[string][]byte) {
	if creationPolicy(cred) == vantagev1alpha1.CreationPolicyMerge && s.Data != nil {
		maps.Copy(s.Data, data)
		return
	}
	s.Data = data
	s.StringData = nil
}
