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
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/targetsecret"
)

// conflictError carries a target problem found while writing (someone
// created the Secret between our read and our write).
type conflictError struct{ p *problem }

func (e *conflictError) Error() string { return e.p.message }

// writeToken puts a new token into the target Secret, creating it if
// needed, and returns what the target now says about its token. On a write
// conflict it rereads the Secret and tries again with the same token: a
// token once requested is never thrown away for a lost race.
func (r *VantageCredentialReconciler) writeToken(ctx context.Context, f *facts, tok *oauth.Token) (*currentToken, error) {
	data, tokenAnnotations, written, err := renderToken(f, tok)
	if err != nil {
		return nil, err
	}

	current := f.target
	for attempt := 0; ; attempt++ {
		desired, err := r.desiredTarget(f.cred, f.targetName, current)
		if err != nil {
			return nil, err
		}
		setData(f.cred, desired, data)
		maps.Copy(desired.Annotations, tokenAnnotations)
		if written.expiresAt.IsZero() {
			delete(desired.Annotations, vantagev1alpha1.ExpiresAtAnnotation)
		}
		if current == nil {
			err = r.Create(ctx, desired)
		} else {
			err = r.Update(ctx, desired)
		}
		if err == nil {
			return written, nil
		}
		if attempt == 2 || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)) {
			return nil, fmt.Errorf("writing target Secret %s: %w", f.targetName, err)
		}
		if current, err = r.readTargetLive(ctx, f); err != nil {
			return nil, err
		}
	}
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
	written := &currentToken{
		issuedAt:   tok.IssuedAt.Truncate(time.Second),
		expiresAt:  tok.Expiry.Truncate(time.Second),
		inputsHash: f.inputs.hash,
		source:     tok.LifetimeSource,
	}
	keys := targetsecret.Keys(f.inputs.templates, f.inputs.organization)
	annotations := map[string]string{
		vantagev1alpha1.IssuedAtAnnotation:     written.issuedAt.UTC().Format(time.RFC3339),
		vantagev1alpha1.InputsHashAnnotation:   written.inputsHash,
		vantagev1alpha1.ExpirySourceAnnotation: string(tok.LifetimeSource),
		vantagev1alpha1.DataHashAnnotation:     targetsecret.Hash(data, keys),
	}
	if !written.expiresAt.IsZero() {
		annotations[vantagev1alpha1.ExpiresAtAnnotation] = written.expiresAt.UTC().Format(time.RFC3339)
	}
	return data, annotations, written, nil
}

// readTargetLive rereads the target after a lost race and checks that it is
// still ours to write.
func (r *VantageCredentialReconciler) readTargetLive(ctx context.Context, f *facts) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: f.cred.Namespace, Name: f.targetName}, s)
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
func (r *VantageCredentialReconciler) syncTargetMetadata(ctx context.Context, f *facts) error {
	if f.target == nil || !owned(f.cred, f.target) {
		return nil
	}
	desired, err := r.desiredTarget(f.cred, f.targetName, f.target)
	if err != nil {
		return err
	}
	if apiequality.Semantic.DeepEqual(desired.ObjectMeta, f.target.ObjectMeta) {
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
	f.target = desired
	return nil
}

// desiredTarget is the target's metadata as the spec wants it, starting
// from what exists so that labels and annotations others added survive.
func (r *VantageCredentialReconciler) desiredTarget(cred *vantagev1alpha1.VantageCredential, name string, current *corev1.Secret) (*corev1.Secret, error) {
	var s *corev1.Secret
	if current != nil {
		s = current.DeepCopy()
	} else {
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: cred.Namespace, Name: name},
			Type:       secretType(cred),
		}
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	if t := cred.Spec.Target; t != nil && t.Template != nil {
		maps.Copy(s.Labels, t.Template.Labels)
		maps.Copy(s.Annotations, t.Template.Annotations)
	}
	s.Labels[vantagev1alpha1.ManagedByLabel] = vantagev1alpha1.ManagedByValue
	s.Labels[vantagev1alpha1.CredentialLabel] = cred.Name
	if err := setOwner(cred, s, r.Scheme); err != nil {
		return nil, err
	}
	return s, nil
}

// setOwner gives the target a controller reference under Owner, and takes
// ours away under Orphan and Merge.
func setOwner(cred *vantagev1alpha1.VantageCredential, s *corev1.Secret, scheme *runtime.Scheme) error {
	if creationPolicy(cred) == vantagev1alpha1.CreationPolicyOwner {
		err := controllerutil.SetControllerReference(cred, s, scheme)
		var owned *controllerutil.AlreadyOwnedError
		if errors.As(err, &owned) {
			return &conflictError{&problem{ReasonTargetConflict, fmt.Sprintf(
				"Secret %q is controlled by %s %q: use creationPolicy Merge or another spec.target.name", s.Name, owned.Owner.Kind, owned.Owner.Name), true}}
		}
		return err
	}
	s.OwnerReferences = slices.DeleteFunc(s.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.UID == cred.UID })
	if len(s.OwnerReferences) == 0 {
		s.OwnerReferences = nil
	}
	return nil
}

// setData writes the rendered keys: all of the data under Owner and Orphan,
// only the operator's keys under Merge.
func setData(cred *vantagev1alpha1.VantageCredential, s *corev1.Secret, data map[string][]byte) {
	if creationPolicy(cred) == vantagev1alpha1.CreationPolicyMerge && s.Data != nil {
		maps.Copy(s.Data, data)
		return
	}
	s.Data = data
	s.StringData = nil
}
