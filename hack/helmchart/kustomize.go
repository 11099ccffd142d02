package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// kustomize builds a kustomization directory with kubectl and returns its
// objects in kustomize's order.
func kustomize(kubectl, dir string) ([]map[string]any, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl kustomize %s: %v: %s", dir, err, stderr.String())
	}
	var objs []map[string]any
	for _, part := range strings.Split(string(out), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(part), &obj); err != nil {
			return nil, fmt.Errorf("kubectl kustomize %s: %w", dir, err)
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
	return objs, nil
}

// kustomizeWithComponent builds config/default with a component added, the
// way a user's own kustomization would (README, "Restarting workloads"),
// in a scratch directory under bin/.
func kustomizeWithComponent(kubectl, root, component string) ([]map[string]any, error) {
	dir, err := os.MkdirTemp(filepath.Join(root, "bin"), "helmchart-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	rel := func(p string) string {
		r, _ := filepath.Rel(dir, filepath.Join(root, p))
		return r
	}
	k := fmt.Sprintf("resources:\n- %s\ncomponents:\n- %s\n", rel("config/default"), rel(component))
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		return nil, err
	}
	return kustomize(kubectl, dir)
}

// defaultNames reads the name prefix and namespace config/default gives
// every object; the chart replaces them with the release's.
func defaultNames(root string) (prefix, namespace string, err error) {
	b, err := os.ReadFile(filepath.Join(root, "config/default/kustomization.yaml"))
	if err != nil {
		return "", "", err
	}
	var k struct {
		NamePrefix string `json:"namePrefix"`
		Namespace  string `json:"namespace"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return "", "", err
	}
	if k.NamePrefix == "" || k.Namespace == "" {
		return "", "", fmt.Errorf("config/default/kustomization.yaml needs namePrefix and namespace")
	}
	return k.NamePrefix, k.Namespace, nil
}

func name(obj map[string]any) string {
	s, _ := get(obj, "metadata", "name").(string)
	return s
}

func kind(obj map[string]any) string {
	s, _ := obj["kind"].(string)
	return s
}

// get walks nested maps; nil when a step is missing.
func get(obj any, path ...string) any {
	for _, p := range path {
		m, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		obj = m[p]
	}
	return obj
}

// find returns the object of a kind and name, or nil.
func find(objs []map[string]any, k, n string) map[string]any {
	for _, o := range objs {
		if kind(o) == k && name(o) == n {
			return o
		}
	}
	return nil
}
