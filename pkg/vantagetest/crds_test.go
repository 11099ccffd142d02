package vantagetest

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Both kinds, with the scope each has: a suite installing a namespaced
// ClusterVantageCredential would fail in confusing ways.
func TestCRDs(t *testing.T) {
	crds, err := CRDs()
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string]apiextensionsv1.ResourceScope{}
	for _, c := range crds {
		scopes[c.Name] = c.Spec.Scope
	}
	want := map[string]apiextensionsv1.ResourceScope{
		"vantagecredentials.vantage.omnivector.solutions":        apiextensionsv1.NamespaceScoped,
		"clustervantagecredentials.vantage.omnivector.solutions": apiextensionsv1.ClusterScoped,
	}
	if len(scopes) != len(want) {
		t.Fatalf("CRDs: %v, want %v", scopes, want)
	}
	for name, scope := range want {
		if scopes[name] != scope {
			t.Errorf("%s: scope %q, want %q", name, scopes[name], scope)
		}
	}
}
