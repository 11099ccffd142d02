package vantagetest

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// ServiceAccountSecret is a Secret holding the service-account key of a
// client, under service-account.json, as Vantage hands it out.
func ServiceAccountSecret(namespace, name, clientID, clientSecret string) *corev1.Secret {
	key, _ := json.Marshal(map[string]string{"client_id": clientID, "client_secret": clientSecret})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		StringData: map[string]string{"service-account.json": string(key)},
	}
}

// Credential is a VantageCredential exchanging the key in Secret keySecret
// for tokens with scopes, written to the Secret named name.
func Credential(namespace, name, keySecret string, scopes ...string) *vantagev1alpha1.VantageCredential {
	return &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: keySecret},
			Scopes:                  scopes,
		},
	}
}

// TokenSourceServiceAccount is a ServiceAccount that lends its tokens to
// credentials: it carries the label vantage.omnivector.solutions/token-source
// "true", without which the operator mints none of its tokens.
func TokenSourceServiceAccount(namespace, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
		Labels: map[string]string{vantagev1alpha1.TokenSourceLabel: "true"}}}
}

// ServiceAccountCredential is a VantageCredential that authenticates as
// client clientID with the tokens of ServiceAccount serviceAccount, no key
// Secret involved, for tokens with scopes written to the Secret named name.
func ServiceAccountCredential(namespace, name, serviceAccount, clientID string, scopes ...string) *vantagev1alpha1.VantageCredential {
	return &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountRef: &vantagev1alpha1.ServiceAccountReference{Name: serviceAccount},
			ClientID:          ptr.To(clientID),
			Scopes:            scopes,
		},
	}
}
