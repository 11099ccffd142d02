package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/serviceaccount"
)

// serviceAccountTokenSeconds is the lifetime asked of each ServiceAccount
// token: the shortest the API server grants (10 minutes). The token is sent
// once, within seconds, and never kept.
const serviceAccountTokenSeconds = 600

// sourceServiceAccountIndex indexes credentials by spec.serviceAccountRef,
// so a ServiceAccount event finds the credentials naming it.
const sourceServiceAccountIndex = "vantage.omnivector.solutions/source-serviceaccount"

// Codes of the ServiceAccount token request, as oauth.AssertionError
// carries them to failureReason.
const (
	codeTokenRequestForbidden = "token_request_forbidden"
	codeServiceAccountGone    = "service_account_not_found"
	codeTokenRequestError     = "token_request_error"
	codeAudienceNotAllowed    = "audience_not_allowed"
)

// usesServiceAccount: the credential authenticates with a ServiceAccount's
// tokens (spec.serviceAccountRef), no secret stored.
func usesServiceAccount(cred credential) bool {
	return cred.GetSpec().ServiceAccountRef != nil
}

// sourceObject names what the credential's key comes from, for messages:
// a Secret, or the ServiceAccount of spec.serviceAccountRef.
func sourceObject(cred credential) string {
	if ref := cred.GetSpec().ServiceAccountRef; ref != nil {
		return fmt.Sprintf("ServiceAccount %q", ref.Name)
	}
	name, _ := sourceSecret(cred)
	return fmt.Sprintf("Secret %q", name)
}

// serviceAccountMetadata is the metadata of a ServiceAccount, for the
// metadata cache.
func serviceAccountMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	return m
}

// readServiceAccountInputs checks the ServiceAccount of
// spec.serviceAccountRef in namespace and resolves the inputs. Only its
// metadata is read, from the metadata cache: whether it exists and has
// opted in. The version is its resourceVersion, so a ServiceAccount that
// gets the label after a failure counts as a changed input.
func (r *VantageCredentialReconciler) readServiceAccountInputs(ctx context.Context, cred credential, namespace string) (version string, in *inputs, p *problem, err error) {
	ref := cred.GetSpec().ServiceAccountRef
	m := serviceAccountMetadata()
	err = r.metadata.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, m)
	switch {
	case apierrors.IsNotFound(err):
		return "", nil, &problem{ReasonServiceAccountNotFound, fmt.Sprintf("ServiceAccount %q not found%s: create it, labelled %s=true",
			ref.Name, inNamespace(cred, namespace), vantagev1alpha1.TokenSourceLabel), false}, nil
	case err != nil:
		return "", nil, nil, fmt.Errorf("reading the metadata of ServiceAccount %s: %w", ref.Name, err)
	}
	if p := checkOptedIn(cred, namespace, m); p != nil {
		return m.ResourceVersion, nil, p, nil
	}
	in, p = serviceAccountInputs(cred, namespace, r.Endpoints)
	if in != nil {
		in.audiences = tokenAudiences(m)
	}
	return m.ResourceVersion, in, p, nil
}

// audienceAllowlist is what a ServiceAccount's annotation
// vantage.omnivector.solutions/token-audiences allows: every audience when
// the annotation is absent, else only those it lists.
type audienceAllowlist struct {
	limited bool
	list    []string
}

// tokenAudiences reads a ServiceAccount's audience allowlist. An annotation
// that lists nothing allows nothing.
func tokenAudiences(sa *metav1.PartialObjectMetadata) audienceAllowlist {
	v, ok := sa.GetAnnotations()[vantagev1alpha1.TokenAudiencesAnnotation]
	if !ok {
		return audienceAllowlist{}
	}
	a := audienceAllowlist{limited: true}
	for _, aud := range strings.Split(v, ",") {
		if aud = strings.TrimSpace(aud); aud != "" {
			a.list = append(a.list, aud)
		}
	}
	return a
}

// allows says whether a token may be minted for audience.
func (a audienceAllowlist) allows(audience string) bool {
	return !a.limited || slices.Contains(a.list, audience)
}

// refusal says why ServiceAccount name lends no token for audience, and
// who can change that.
func (a audienceAllowlist) refusal(name, audience string) string {
	listed := "none"
	if len(a.list) > 0 {
		listed = strings.Join(a.list, ", ")
	}
	return fmt.Sprintf("ServiceAccount %q lends its tokens only for the audiences its annotation %s lists (%s), not for %q: whoever owns the ServiceAccount adds it there, or the credential names a listed one in spec.serviceAccountRef.audience",
		name, vantagev1alpha1.TokenAudiencesAnnotation, listed, audience)
}

// checkOptedIn is the guard on whose identity a credential may borrow: the
// operator may create tokens for any ServiceAccount RBAC lets it, so it
// does so only for those whose owner labelled them; naming one in a
// credential is not enough.
func checkOptedIn(cred credential, namespace string, sa *metav1.PartialObjectMetadata) *problem {
	if sa.GetLabels()[vantagev1alpha1.TokenSourceLabel] == "true" {
		return nil
	}
	return &problem{ReasonServiceAccountNotOptedIn, fmt.Sprintf(
		"ServiceAccount %q%s has not opted in to lending its tokens: label it with kubectl label serviceaccount %s %s=true",
		sa.GetName(), inNamespace(cred, namespace), sa.GetName(), vantagev1alpha1.TokenSourceLabel), true}
}

// serviceAccountInputs resolves the inputs of a credential whose client
// authenticates with a ServiceAccount's tokens: the client id from the
// spec, the assertion's audience from the reference when set.
func serviceAccountInputs(cred credential, namespace string, e Endpoints) (*inputs, *problem) {
	spec := cred.GetSpec()
	in, p := resolveInputs(spec, serviceaccount.Key{ClientID: ptr.Deref(spec.ClientID, "")}, e)
	if p != nil {
		return nil, p
	}
	in.request.AssertionSource = "serviceaccount/" + namespace + "/" + spec.ServiceAccountRef.Name
	in.request.AssertionAudience = ptr.Deref(spec.ServiceAccountRef.Audience, "")
	in.hash = in.fingerprint()
	return in, nil
}

// serviceAccountToken is the assertion source of a credential in
// serviceAccountRef mode: for each attempt, a fresh ServiceAccount token
// with the audience the exchange asks for and the shortest lifetime,
// requested through the TokenRequest API. The token is returned to the
// exchange and held nowhere else.
func (r *VantageCredentialReconciler) serviceAccountToken(key types.NamespacedName, allowed audienceAllowlist) func(context.Context, string) (string, error) {
	return func(ctx context.Context, audience string) (string, error) {
		// Checked here, where the audience is known: a discovered issuer
		// is only learned during the exchange.
		if !allowed.allows(audience) {
			return "", &oauth.AssertionError{Kind: oauth.Terminal, Code: codeAudienceNotAllowed, Description: allowed.refusal(key.Name, audience)}
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences:         []string{audience},
			ExpirationSeconds: ptr.To[int64](serviceAccountTokenSeconds),
		}}
		err := r.SubResource("token").Create(ctx, sa, tr)
		switch {
		case apierrors.IsForbidden(err):
			return "", &oauth.AssertionError{Kind: oauth.Terminal, Code: codeTokenRequestForbidden, Description: fmt.Sprintf(
				"the operator may not request tokens for ServiceAccount %q in namespace %q: grant its ServiceAccount create on serviceaccounts/token there (the default install does, cluster-wide)",
				key.Name, key.Namespace)}
		case apierrors.IsNotFound(err):
			return "", &oauth.AssertionError{Kind: oauth.Transient, Code: codeServiceAccountGone,
				Description: fmt.Sprintf("ServiceAccount %q was deleted", key.Name)}
		case err != nil:
			return "", &oauth.AssertionError{Kind: oauth.Transient, Code: codeTokenRequestError,
				Description: fmt.Sprintf("requesting a token for ServiceAccount %q: %v", key.Name, err)}
		}
		return tr.Status.Token, nil
	}
}

// credentialsUsingServiceAccount maps a ServiceAccount to the namespaced
// credentials naming it in spec.serviceAccountRef.
func (r *VantageCredentialReconciler) credentialsUsingServiceAccount(ctx context.Context, sa *metav1.PartialObjectMetadata) []reconcile.Request {
	return r.credentialsIndexed(ctx, &vantagev1alpha1.VantageCredentialList{}, sa.Namespace, sa.Name, sourceServiceAccountIndex)
}

// clusterCredentialsUsingServiceAccount maps a ServiceAccount of the
// operator's namespace to the cluster credentials naming it.
func (r *VantageCredentialReconciler) clusterCredentialsUsingServiceAccount(ctx context.Context, sa *metav1.PartialObjectMetadata) []reconcile.Request {
	if sa.Namespace != r.ClusterCredentialNamespace {
		return nil
	}
	return r.credentialsIndexed(ctx, &vantagev1alpha1.ClusterVantageCredentialList{}, "", sa.Name, sourceServiceAccountIndex)
}

// serviceAccountIndexValues is a credential's value in
// sourceServiceAccountIndex.
func serviceAccountIndexValues(cred credential) []string {
	if ref := cred.GetSpec().ServiceAccountRef; ref != nil {
		return []string{ref.Name}
	}
	return nil
}
