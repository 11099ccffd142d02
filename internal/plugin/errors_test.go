package plugin

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// noCRD answers as an API server without the operator's CRDs does.
var noCRD = interceptor.Funcs{
	Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(vantagev1alpha1.GenericCredential); ok {
			return &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: vantagev1alpha1.GroupVersion.Group, Kind: "VantageCredential"}}
		}
		return c.Get(ctx, key, obj, opts...)
	},
	List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		switch list.(type) {
		case *vantagev1alpha1.VantageCredentialList, *vantagev1alpha1.ClusterVantageCredentialList:
			return &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: vantagev1alpha1.GroupVersion.Group, Kind: "VantageCredential"}}
		}
		return c.List(ctx, list, opts...)
	},
}

// noSecrets answers as RBAC does for a user who may read credentials and
// events but no Secret.
var noSecrets = interceptor.Funcs{
	Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(*corev1.Secret); ok {
			return apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, key.Name,
				errors.New(`User "alice" cannot get resource "secrets" in API group "" in the namespace "`+key.Namespace+`"`))
		}
		return c.Get(ctx, key, obj, opts...)
	},
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		golden string
		client client.Client
		args   []string
	}{
		{"error-did-you-mean", builder().Build(), []string{"status", "ci-runer"}},
		{"error-did-you-mean-cluster", builder().Build(), []string{"whoami", "cvcred/hcp"}},
		{"error-no-such-credential", builder().Build(), []string{"refresh", "vcred/nothing-like-it"}},
		{"error-crd-missing", withInterceptor(noCRD), []string{"status"}},
		{"error-crd-missing-name", withInterceptor(noCRD), []string{"status", "ci-runner"}},
		{"error-forbidden-target", withInterceptor(noSecrets), []string{"whoami", "ci-runner"}},
		{"error-no-token-yet", builder().Build(), []string{"whoami", "nightly"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := run(t, tc.client, tc.args...)
			if r.err == nil {
				t.Fatalf("%v: no error; output:\n%s", tc.args, r.out)
			}
			golden(t, tc.golden, r.out+"error: "+r.err.Error()+"\n")
		})
	}
}

// TestStatusForbiddenSecretsStillReports: status NAME shows what it can
// and says which read RBAC refused.
func TestStatusForbiddenSecretsStillReports(t *testing.T) {
	r := run(t, withInterceptor(noSecrets), "status", "ci-runner")
	if r.err != nil {
		t.Fatal(r.err)
	}
	golden(t, "status-forbidden-secrets", r.out)
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"ci-runer", "ci-runner", 1}, {"hcp", "hpc", 1}, {"hpc", "abc", 2}, {"abc", "", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
