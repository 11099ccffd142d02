package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// explain turns an API error into one a person can act on: a CRD that is
// not installed, a verb RBAC forbids (with the can-i command that shows
// it), or the error as it is.
func explain(err error, verb, res, name, namespace string) error {
	if err == nil {
		return nil
	}
	what := res
	if name != "" {
		what = fmt.Sprintf("%s %q", res, name)
	}
	where := ""
	nsFlag := ""
	if namespace != "" {
		where = fmt.Sprintf(" in namespace %q", namespace)
		nsFlag = " -n " + namespace
	}
	switch {
	case meta.IsNoMatchError(err) || isNotServed(err):
		kindName := strings.SplitN(res, ".", 2)[0]
		return fmt.Errorf("the API server does not serve %s: the CRD is not installed in this cluster; install the operator (kubectl apply -f dist/install.yaml, or kubectl apply -k config/crd)", kindName)
	case apierrors.IsForbidden(err):
		canI := fmt.Sprintf("kubectl auth can-i %s %s%s", verb, res, nsFlag)
		if name != "" {
			canI = fmt.Sprintf("kubectl auth can-i %s %s/%s%s", verb, res, name, nsFlag)
		}
		return fmt.Errorf("RBAC forbids you to %s %s%s; ask for a Role that allows it (check with: %s)", verb, what, where, canI)
	}
	return fmt.Errorf("%s %s%s: %w", verb, what, where, err)
}

// isNotServed says the API server answered 404 for the whole resource
// (a CRD deleted while discovery was cached), not for one object.
func isNotServed(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsNotFound(err) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Name == "" && d.Kind == "" && status.Status().Message == "the server could not find the requested resource"
}

// notFoundError is a credential that does not exist, with the names it
// may have meant.
type notFoundError struct {
	what      string
	namespace string
	similar   []string
}

func (e *notFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no %s", e.what)
	if e.namespace != "" {
		fmt.Fprintf(&b, " in namespace %q", e.namespace)
	}
	if len(e.similar) > 0 {
		fmt.Fprintf(&b, "; did you mean %s?", strings.Join(e.similar, " or "))
	} else if e.namespace != "" {
		b.WriteString(" (another namespace? -n NAMESPACE, or status -A to list them all)")
	}
	return b.String()
}

// notFound replaces a not-found error with one naming the credentials of
// similar names; other errors pass through.
func (e *env) notFound(ctx context.Context, r ref, err error) error {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsNotFound(err) || isNotServed(err) {
		return err
	}
	nf := &notFoundError{what: fmt.Sprintf("credential %q", r.name), namespace: e.deps.Namespace}
	switch r.kind {
	case namespacedKind:
		nf.what = fmt.Sprintf("VantageCredential %q", r.name)
	case clusterKind:
		nf.what, nf.namespace = fmt.Sprintf("ClusterVantageCredential %q", r.name), ""
	}
	// Best effort: a user who may not list gets the plain answer.
	var names []string
	if r.kind != clusterKind {
		if list, err := e.listCredentials(ctx, namespacedKind, listOptions{}); err == nil {
			for _, c := range list {
				names = append(names, c.short())
			}
		}
	}
	if r.kind != namespacedKind {
		if list, err := e.listCredentials(ctx, clusterKind, listOptions{}); err == nil {
			for _, c := range list {
				names = append(names, c.short())
			}
		}
	}
	nf.similar = similarNames(r.name, names)
	return nf
}

// similarNames are the candidates (kind/name) whose name is within a
// third of the wanted name's length in edit distance, or contains it or is
// contained in it; closest first, at most three.
func similarNames(want string, candidates []string) []string {
	type scored struct {
		name string
		d    int
	}
	var hits []scored
	for _, c := range candidates {
		_, name, _ := strings.Cut(c, "/")
		d := editDistance(want, name)
		if d <= max(1, len(want)/3) || strings.Contains(name, want) || strings.Contains(want, name) {
			hits = append(hits, scored{c, d})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].d < hits[j].d })
	var out []string
	for i := 0; i < len(hits) && i < 3; i++ {
		out = append(out, hits[i].name)
	}
	return out
}

// editDistance is the optimal-string-alignment distance of a and b:
// Levenshtein's, with a swap of two neighbours counting as one edit
// (hcp for hpc).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
