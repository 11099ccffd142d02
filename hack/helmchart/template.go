package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// A doc is one Kubernetes object from kustomize on its way to a Helm
// template. The object stays a plain map, so it is marshalled by the same
// YAML library as everything else; the Helm parts go in as placeholders
// that render replaces afterwards:
//   - a string value "__T<n>__" becomes the inline template scalars[n];
//   - a map key "zzblock<n>zz" (any value) or a list item "zzblock<n>zz"
//     becomes the block blocks[n], indented to where the placeholder
//     stood. Map keys are marshalled in sorted order, so these come last
//     and never take the "- " of a list item's first key.
type doc struct {
	obj     map[string]any
	scalars []string
	blocks  []block
}

// A block renders a few lines of template at an indentation: indent is the
// column of the placeholder, item whether it stood as a list item.
type block func(indent int, item bool) string

// scalar returns the placeholder for an inline template such as
// `{{ .Release.Namespace }}`.
func (d *doc) scalar(tpl string) string {
	d.scalars = append(d.scalars, tpl)
	return fmt.Sprintf("__T%d__", len(d.scalars)-1)
}

// block returns the placeholder for a block of template lines.
func (d *doc) block(b block) string {
	d.blocks = append(d.blocks, b)
	return fmt.Sprintf("zzblock%dzz", len(d.blocks)-1)
}

var (
	scalarRE = regexp.MustCompile(`'?__T(\d+)__'?`)
	blockRE  = regexp.MustCompile(`(?m)^( *)(- )?zzblock(\d+)zz(: .*)?$`)
)

// render marshals the object and replaces its placeholders. Any "{{" that
// came from config/ (the alert templates' {{ $labels.name }}) is escaped
// first, so Helm passes it through to Prometheus untouched.
func (d *doc) render() (string, error) {
	out, err := yaml.Marshal(d.obj)
	if err != nil {
		return "", err
	}
	s := strings.ReplaceAll(string(out), "{{", `{{ "{{" }}`)
	s = scalarRE.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(scalarRE.FindStringSubmatch(m)[1])
		if n >= len(d.scalars) {
			return m
		}
		return d.scalars[n]
	})
	s = blockRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := blockRE.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sub[3])
		if n >= len(d.blocks) {
			return m
		}
		indent := len(sub[1])
		if sub[2] != "" {
			indent += 2
		}
		return strings.TrimRight(d.blocks[n](indent, sub[2] != ""), "\n")
	})
	if strings.Contains(s, "__T") || strings.Contains(s, "zzblock") {
		return "", fmt.Errorf("a placeholder was left in %s/%s:\n%s", d.obj["kind"], name(d.obj), s)
	}
	return strings.TrimRight(s, "\n") + "\n", nil
}

// lines indents each line of text by indent spaces, for blocks written
// at column 0.
func lines(indent int, text string) string {
	pad := strings.Repeat(" ", indent)
	ls := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range ls {
		if l != "" {
			ls[i] = pad + l
		}
	}
	return strings.Join(ls, "\n")
}

// withValues is a block that adds the map or list at a values path (such as
// .Values.commonLabels) where it stands, when it is not empty: the map's
// keys into the map around it, or the list's items into the list.
func withValues(path string) block {
	return func(indent int, item bool) string {
		if item {
			indent -= 2
		}
		return lines(indent, fmt.Sprintf("{{- with %s }}\n{{- toYaml . | nindent %d }}\n{{- end }}", path, indent))
	}
}

// keyWithValues is a block that adds `key: <the map at path>` when that
// map is not empty, for a key the object does not have otherwise.
func keyWithValues(key, path string) block {
	return func(indent int, _ bool) string {
		return lines(indent, fmt.Sprintf("{{- with %s }}\n%s:\n  {{- toYaml . | nindent %d }}\n{{- end }}", path, key, indent+2))
	}
}

// keyWithScalar is a block that adds `key: <the value at path>` when that
// value is set.
func keyWithScalar(key, path string) block {
	return func(indent int, _ bool) string {
		return lines(indent, fmt.Sprintf("{{- with %s }}\n%s: {{ . | quote }}\n{{- end }}", path, key))
	}
}

// when is a block that keeps part, marshalled from config/, only when the
// condition holds.
func when(cond string, part any) (block, error) {
	out, err := yaml.Marshal(part)
	if err != nil {
		return nil, err
	}
	body := strings.ReplaceAll(strings.TrimRight(string(out), "\n"), "{{", `{{ "{{" }}`)
	return func(indent int, item bool) string {
		text := body
		if item {
			// A list item: the first line carries the "- ".
			text = "- " + strings.ReplaceAll(body, "\n", "\n  ")
			indent -= 2
		}
		return lines(indent, fmt.Sprintf("{{- if %s }}\n%s\n{{- end }}", cond, text))
	}, nil
}
