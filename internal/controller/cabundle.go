package controller

import (
	"context"
	"crypto/x509"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// defaultCAKey is the key of a CA bundle when caBundleRef names none, as
// cert-manager and kube-root-ca.crt use.
const defaultCAKey = "ca.crt"

// readTLS puts spec.tls into the token request. The CA bundle is read live
// on every reconcile: the operator caches no Secret or ConfigMap it does not
// manage (the data of source Secrets, read once per version, aside). The bundle
// is in namespace, beside the key. version identifies the bundle read, so a bundle that
// changes after a failure counts as a changed input; it is "" without one.
func (r *VantageCredentialReconciler) readTLS(ctx context.Context, cred credential, namespace string, in *inputs) (version string, p *problem, err error) {
	tls := cred.GetSpec().TLS
	if tls == nil {
		return "", nil, nil
	}
	in.request.InsecureSkipVerify = ptr.Deref(tls.InsecureSkipVerify, false)
	ref := tls.CABundleRef
	if ref == nil {
		return "", nil, nil
	}
	key := ptr.Deref(ref.Key, defaultCAKey)
	name := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	var obj client.Object
	var data func() ([]byte, bool)
	switch ref.Kind {
	case vantagev1alpha1.CABundleConfigMap:
		cm := &corev1.ConfigMap{}
		obj, data = cm, func() ([]byte, bool) {
			if v, ok := cm.Data[key]; ok {
				return []byte(v), true
			}
			v, ok := cm.BinaryData[key]
			return v, ok
		}
	default:
		s := &corev1.Secret{}
		obj, data = s, func() ([]byte, bool) { v, ok := s.Data[key]; return v, ok }
	}
	what := fmt.Sprintf("%s %q", ref.Kind, ref.Name)

	err = r.APIReader.Get(ctx, name, obj)
	switch {
	case apierrors.IsNotFound(err):
		return "", &problem{ReasonCABundleNotFound, fmt.Sprintf(
			"%s, named by spec.tls.caBundleRef, not found: create it with the token server's CA certificates (PEM) under key %q", what, key), false}, nil
	case err != nil:
		return "", nil, fmt.Errorf("reading %s: %w", what, err)
	}
	pemData, ok := data()
	if !ok {
		return "", &problem{ReasonCABundleNotFound, fmt.Sprintf("%s has no key %q: put the CA certificates (PEM) there or set spec.tls.caBundleRef.key", what, key), true}, nil
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pemData) {
		return "", &problem{ReasonInvalidCABundle, fmt.Sprintf("key %q of %s holds no PEM certificate", key, what), true}, nil
	}
	in.request.CAPEM = pemData
	return fmt.Sprintf("%s/%s@%s", ref.Kind, ref.Name, obj.GetResourceVersion()), nil, nil
}
