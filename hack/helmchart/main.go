// Command helmchart writes the Helm chart in dist/chart from config/, so
// kustomize stays the single source of every object the operator installs
// (make helm-chart; CI fails when the committed chart differs). It builds
// config/default, config/namespaced, config/default with
// config/rollout-restart, and config/prometheus with kubectl, and turns
// their objects into templates in the layout of kubebuilder's helm/v2-alpha
// plugin (CRDs in templates/, so upgrades update them), with the values
// config/ sets as the defaults.
package main

import (
	"bytes"
	"embed"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"

	"sigs.k8s.io/yaml"
)

//go:embed all:static
var static embed.FS

func main() {
	kubectl := flag.String("kubectl", "kubectl", "kubectl to run kustomize with")
	root := flag.String("root", ".", "the repository")
	out := flag.String("out", "dist/chart", "the chart directory to write")
	img := flag.String("img", "controller:latest", "the manager's image, as IMG in the Makefile")
	flag.Parse()
	if err := run(*kubectl, *root, *out, *img); err != nil {
		fmt.Fprintln(os.Stderr, "helmchart:", err)
		os.Exit(1)
	}
}

func run(kubectl, root, out, img string) error {
	prefix, namespace, err := defaultNames(root)
	if err != nil {
		return err
	}
	def, err := kustomize(kubectl, filepath.Join(root, "config/default"))
	if err != nil {
		return err
	}
	namespaced, err := kustomize(kubectl, filepath.Join(root, "config/namespaced"))
	if err != nil {
		return err
	}
	rollout, err := kustomizeWithComponent(kubectl, root, "config/rollout-restart")
	if err != nil {
		return err
	}
	prom, err := kustomize(kubectl, filepath.Join(root, "config/prometheus"))
	if err != nil {
		return err
	}
	if err := sameRules(def, namespaced, prefix); err != nil {
		return err
	}
	// The chart's own arguments for these variants are in argLines.
	for variant, objs := range map[string][]map[string]any{"config/namespaced": namespaced, "config/rollout-restart": rollout} {
		extra, err := extraArgs(def, objs)
		if err != nil {
			return fmt.Errorf("%s: %w", variant, err)
		}
		for _, a := range extra {
			if !strings.Contains(argLines(), "\n- "+a+"\n") {
				return fmt.Errorf("%s gives the manager %s, which the chart's arguments (argLines) do not", variant, a)
			}
		}
	}

	n := names{prefix: prefix, namespace: namespace, known: map[string]bool{}, serviceAccount: "controller-manager"}
	for _, objs := range [][]map[string]any{def, rollout, prom} {
		for _, o := range objs {
			if s, ok := strings.CutPrefix(name(o), prefix); ok {
				n.known[s] = true
			}
		}
	}
	// What config/rollout-restart adds; found before templating renames
	// config/default's objects.
	var rolloutOnly []map[string]any
	for _, o := range rollout {
		if find(def, kind(o), name(o)) == nil {
			rolloutOnly = append(rolloutOnly, o)
		}
	}
	var templates []*template
	var vals defaults
	var metricsFrom any
	for _, o := range def {
		if kind(o) == "NetworkPolicy" {
			metricsFrom = get(o, "spec", "ingress").([]any)[0].(map[string]any)["from"]
		}
	}
	for _, o := range def {
		var t *template
		switch kind(o) {
		case "Namespace":
			// Helm installs into the release's namespace.
			continue
		case "Deployment":
			t, vals, err = n.placeDeployment(o, img)
		default:
			t, err = n.place(o)
		}
		if err != nil {
			return err
		}
		templates = append(templates, t)
	}
	for _, o := range rolloutOnly {
		t, err := n.placeRolloutRestart(o)
		if err != nil {
			return err
		}
		templates = append(templates, t)
	}
	for _, o := range prom {
		t, err := n.placePrometheus(o)
		if err != nil {
			return err
		}
		templates = append(templates, t)
	}
	vals.metricsFrom = metricsFrom
	return write(out, templates, vals)
}

// write replaces the chart directory's contents.
func write(out string, templates []*template, vals defaults) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	files := map[string]string{}
	for _, t := range templates {
		body, err := t.doc.render()
		if err != nil {
			return err
		}
		if t.path == "manager/manager.yaml" {
			body = `{{- include "` + chartName + `.validate" . }}` + "\n" + body
		}
		if t.cond != "" {
			body = "{{- if " + t.cond + " }}\n" + body + "{{- end }}\n"
		}
		if _, dup := files["templates/"+t.path]; dup {
			return fmt.Errorf("two objects go to templates/%s", t.path)
		}
		files["templates/"+t.path] = body
	}
	for src, dst := range map[string]string{
		"Chart.yaml": "Chart.yaml", "helmignore": ".helmignore",
		"_helpers.tpl": "templates/_helpers.tpl", "NOTES.txt": "templates/NOTES.txt",
	} {
		b, err := static.ReadFile("static/" + src)
		if err != nil {
			return err
		}
		files[dst] = string(b)
	}
	values, err := valuesYAML(vals)
	if err != nil {
		return err
	}
	files["values.yaml"] = values
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		f := filepath.Join(out, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f, []byte(files[p]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// valuesYAML fills values.yaml with the defaults config/ sets and one
// commented entry per flagValue.
func valuesYAML(v defaults) (string, error) {
	block := func(x any, indent int) (string, error) {
		b, err := yaml.Marshal(x)
		if err != nil {
			return "", err
		}
		return lines(indent, string(b)), nil
	}
	flagsUnder := func(section string) string {
		var b strings.Builder
		for _, f := range flagValues {
			key, ok := strings.CutPrefix(f.path, section+".")
			if !ok {
				continue
			}
			zero := map[string]string{"string": `""`, "list": "[]", "number": "null", "bool": "null"}[f.kind]
			fmt.Fprintf(&b, "  # --%s: %s\n  %s: %s\n", f.flag, f.doc, key, zero)
		}
		return strings.TrimRight(b.String(), "\n")
	}
	data := map[string]any{
		"Replicas": v.replicas, "Repository": v.repository, "Tag": v.tag, "ProbePort": v.probePort,
		"MetricsPort": v.metricsPort, "LeaderElect": v.leaderElect, "GracePeriod": v.gracePeriod,
		"LeaderElectionValues": flagsUnder("leaderElection"), "ConfigValues": flagsUnder("config"),
	}
	for key, x := range map[string]struct {
		v      any
		indent int
	}{
		"Resources": {v.resources, 4}, "PodSecurityContext": {v.podSecurityContext, 4},
		"SecurityContext": {v.securityContext, 4}, "MetricsFrom": {v.metricsFrom, 4},
	} {
		s, err := block(x.v, x.indent)
		if err != nil {
			return "", err
		}
		data[key] = s
	}
	src, err := static.ReadFile("static/values.yaml.tmpl")
	if err != nil {
		return "", err
	}
	t, err := texttemplate.New("values").Delims("[[", "]]").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}
