package plugin

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// Scheme knows the two credential kinds and the core types the plugin
// reads (Secrets, ConfigMaps, Events); nothing more, so the client never
// asks the API server about anything else.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		panic(err) // static registrations cannot fail
	}
	if err := vantagev1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}
