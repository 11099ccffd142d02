package plugin

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// kind says which of the two credential kinds an argument names.
type kind int

const (
	// anyKind: a bare NAME, a VantageCredential in the namespace, else a
	// ClusterVantageCredential.
	anyKind kind = iota
	namespacedKind
	clusterKind
)

// kindAliases are the words kubectl itself takes for the two kinds.
var kindAliases = map[string]kind{
	"vcred": namespacedKind, "vantagecredential": namespacedKind, "vantagecredentials": namespacedKind,
	"vantagecredentials.vantage.omnivector.solutions": namespacedKind,
	"cvcred": clusterKind, "clustervantagecredential": clusterKind, "clustervantagecredentials": clusterKind,
	"clustervantagecredentials.vantage.omnivector.solutions": clusterKind,
}

// ref is one credential named on the command line.
type ref struct {
	kind kind
	name string
}

// parseRef reads NAME, vcred/NAME or cvcred/NAME (and the long kind names).
func parseRef(arg string) (ref, error) {
	k, name, ok := strings.Cut(arg, "/")
	if !ok {
		return ref{kind: anyKind, name: arg}, nil
	}
	kd, known := kindAliases[strings.ToLower(k)]
	if !known || name == "" {
		return ref{}, fmt.Errorf("%q: expected NAME, vcred/NAME or cvcred/NAME", arg)
	}
	return ref{kind: kd, name: name}, nil
}

// credential is one VantageCredential or ClusterVantageCredential.
type credential struct {
	obj vantagev1alpha1.GenericCredential
	// cluster is set for a ClusterVantageCredential.
	cluster *vantagev1alpha1.ClusterVantageCredential
}

// short is how the plugin names the credential: vcred/NAME or cvcred/NAME.
func (c credential) short() string {
	if c.cluster != nil {
		return "cvcred/" + c.obj.GetName()
	}
	return "vcred/" + c.obj.GetName()
}

// kindName is the credential's Kind.
func (c credential) kindName() string {
	if c.cluster != nil {
		return "ClusterVantageCredential"
	}
	return "VantageCredential"
}

// targetName is the target Secret's name: as the status says, else as the
// spec asks, else the credential's name (the operator's default).
func (c credential) targetName() string {
	if n := c.obj.GetStatus().TargetSecretName; n != "" {
		return n
	}
	if t := c.obj.GetSpec().Target; t != nil && t.Name != nil {
		return *t.Name
	}
	return c.obj.GetName()
}

// condition returns the condition of that type, nil when absent.
func (c credential) condition(t string) *metav1.Condition {
	return meta.FindStatusCondition(c.obj.GetStatus().Conditions, t)
}

// resource is the API resource of a kind, for error messages and can-i.
func resource(k kind) string {
	if k == clusterKind {
		return "clustervantagecredentials.vantage.omnivector.solutions"
	}
	return "vantagecredentials.vantage.omnivector.solutions"
}

// getCredential reads the credential r names; a bare NAME that is no
// VantageCredential in namespace is looked for as a ClusterVantageCredential.
func (e *env) getCredential(ctx context.Context, r ref) (credential, error) {
	c := e.deps.Client
	if r.kind != clusterKind {
		var v vantagev1alpha1.VantageCredential
		err := c.Get(ctx, client.ObjectKey{Namespace: e.deps.Namespace, Name: r.name}, &v)
		switch {
		case err == nil:
			return credential{obj: &v}, nil
		case !apierrors.IsNotFound(err) || r.kind == namespacedKind:
			return credential{}, e.notFound(ctx, r, explain(err, "get", resource(namespacedKind), r.name, e.deps.Namespace))
		}
	}
	var cv vantagev1alpha1.ClusterVantageCredential
	if err := c.Get(ctx, client.ObjectKey{Name: r.name}, &cv); err != nil {
		if r.kind == anyKind && (apierrors.IsForbidden(err) || meta.IsNoMatchError(err)) {
			// The namespaced lookup said "not found"; that is the answer.
			err = apierrors.NewNotFound(vantagev1alpha1.GroupVersion.WithResource("vantagecredentials").GroupResource(), r.name)
		}
		return credential{}, e.notFound(ctx, r, explain(err, "get", resource(clusterKind), r.name, ""))
	}
	return credential{obj: &cv, cluster: &cv}, nil
}

// listOptions are what status and refresh select credentials by.
type listOptions struct {
	allNamespaces bool
	selector      string
}

// listCredentials lists the credentials of kind k: VantageCredentials of
// the namespace (of all with -A), and ClusterVantageCredentials. For
// anyKind, ClusterVantageCredentials only with -A: they belong to no
// namespace, and a namespace's user may not list them.
func (e *env) listCredentials(ctx context.Context, k kind, o listOptions) ([]credential, error) {
	sel, err := labels.Parse(o.selector)
	if err != nil {
		return nil, fmt.Errorf("-l %q: %w", o.selector, err)
	}
	var out []credential
	if k != clusterKind {
		var list vantagev1alpha1.VantageCredentialList
		opts := []client.ListOption{client.MatchingLabelsSelector{Selector: sel}}
		ns := ""
		if !o.allNamespaces {
			ns = e.deps.Namespace
			opts = append(opts, client.InNamespace(ns))
		}
		if err := e.deps.Client.List(ctx, &list, opts...); err != nil {
			return nil, explain(err, "list", resource(namespacedKind), "", ns)
		}
		for i := range list.Items {
			out = append(out, credential{obj: &list.Items[i]})
		}
	}
	if k == clusterKind || (k == anyKind && o.allNamespaces) {
		var list vantagev1alpha1.ClusterVantageCredentialList
		if err := e.deps.Client.List(ctx, &list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, explain(err, "list", resource(clusterKind), "", "")
		}
		for i := range list.Items {
			out = append(out, credential{obj: &list.Items[i], cluster: &list.Items[i]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.cluster == nil) != (b.cluster == nil) {
			return a.cluster == nil
		}
		if a.obj.GetNamespace() != b.obj.GetNamespace() {
			return a.obj.GetNamespace() < b.obj.GetNamespace()
		}
		return a.obj.GetName() < b.obj.GetName()
	})
	return out, nil
}
