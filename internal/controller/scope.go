package controller

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// Scope is what one manager handles: the credentials whose labels match
// Selector (a shard, by Flux's convention a label such as
// sharding.vantage.omnivector.solutions/key=shard1), in Namespaces. A
// credential outside it is not in the caches at all, so another manager
// can own it without either one reading it twice.
type Scope struct {
	// Selector picks the credentials; nil picks all.
	Selector labels.Selector
	// Namespaces limits every cache to these namespaces; empty means all.
	Namespaces []string
}

// ParseScope reads --watch-label-selector and --watch-namespaces (comma
// separated), refusing what would make a manager watch something else than
// the administrator meant.
func ParseScope(selector, namespaces string) (Scope, error) {
	var s Scope
	if strings.TrimSpace(selector) != "" {
		sel, err := labels.Parse(selector)
		if err != nil {
			return Scope{}, fmt.Errorf("--watch-label-selector %q: %w", selector, err)
		}
		s.Selector = sel
	}
	for _, ns := range strings.Split(namespaces, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return Scope{}, fmt.Errorf("--watch-namespaces: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		s.Namespaces = append(s.Namespaces, ns)
	}
	return s, nil
}

// cacheNamespaces is the caches' DefaultNamespaces for the scope; nil
// watches every namespace.
func (s Scope) cacheNamespaces() map[string]cache.Config {
	if len(s.Namespaces) == 0 {
		return nil
	}
	m := make(map[string]cache.Config, len(s.Namespaces))
	for _, ns := range s.Namespaces {
		m[ns] = cache.Config{}
	}
	return m
}

// String describes the scope for the startup log.
func (s Scope) String() string {
	sel, ns := "all credentials", "all namespaces"
	if s.Selector != nil && !s.Selector.Empty() {
		sel = "credentials labelled " + s.Selector.String()
	}
	if len(s.Namespaces) > 0 {
		ns = "namespaces " + strings.Join(s.Namespaces, ", ")
	}
	return sel + " in " + ns
}

// allows says whether namespace is in the scope.
func (s Scope) allows(namespace string) bool {
	return len(s.Namespaces) == 0 || slices.Contains(s.Namespaces, namespace)
}
