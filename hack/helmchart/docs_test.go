package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// docs/helm.md's table names every value of the generated values.yaml, and
// only those.
func TestDocsNameEveryValue(t *testing.T) {
	b, err := os.ReadFile("../../dist/chart/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../../docs/helm.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z0-9.]+)` \\|").FindAllStringSubmatch(string(docs), -1) {
		documented[m[1]] = true
	}
	if len(documented) < 40 {
		t.Fatalf("found only %d values in docs/helm.md's table", len(documented))
	}
	// A value is a path of values.yaml; a map under a documented path
	// (manager.resources) is documented with it.
	paths := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		paths[prefix] = true
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 || documented[prefix] {
			if !documented[prefix] {
				t.Errorf("docs/helm.md does not name the value %s", prefix)
			}
			return
		}
		for k, e := range m {
			walk(strings.TrimPrefix(prefix+"."+k, "."), e)
		}
	}
	for k, e := range values {
		walk(k, e)
	}
	for p := range documented {
		if !paths[p] {
			t.Errorf("docs/helm.md names %s, which values.yaml does not have", p)
		}
	}
}
