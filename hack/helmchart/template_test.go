package main

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	cases := []struct {
		name  string
		build func(d *doc)
		want  string
	}{{
		name: "an inline template replaces a value, quoted or not",
		build: func(d *doc) {
			d.obj["metadata"] = map[string]any{"name": d.scalar("{{ .Release.Name }}"), "namespace": d.scalar("{{ .Release.Namespace }}")}
		},
		want: "metadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\n",
	}, {
		name: "a block in a map comes after its keys, at their indentation",
		build: func(d *doc) {
			d.obj["labels"] = map[string]any{"a": "b", d.block(withValues(".Values.commonLabels")): nil}
		},
		want: "labels:\n  a: b\n  {{- with .Values.commonLabels }}\n  {{- toYaml . | nindent 2 }}\n  {{- end }}\n",
	}, {
		name: "a block that is a list item takes the list's indentation",
		build: func(d *doc) {
			d.obj["env"] = []any{map[string]any{"name": "A"}, d.block(withValues(".Values.env"))}
		},
		want: "env:\n- name: A\n{{- with .Values.env }}\n{{- toYaml . | nindent 0 }}\n{{- end }}\n",
	}, {
		name: "a block in the first key of a list item keeps the item's dash",
		build: func(d *doc) {
			d.obj["containers"] = []any{map[string]any{"name": "manager", d.block(keyWithValues("resources", ".Values.resources")): nil}}
		},
		want: "containers:\n- name: manager\n  {{- with .Values.resources }}\n  resources:\n    {{- toYaml . | nindent 4 }}\n  {{- end }}\n",
	}, {
		name: "a conditional part of config/ keeps its content",
		build: func(d *doc) {
			b, err := when(".Values.metrics.secure", map[string]any{"tlsConfig": map[string]any{"insecureSkipVerify": true}})
			if err != nil {
				t.Fatal(err)
			}
			d.obj["endpoint"] = map[string]any{"path": "/metrics", d.block(b): nil}
		},
		want: "endpoint:\n  path: /metrics\n  {{- if .Values.metrics.secure }}\n  tlsConfig:\n    insecureSkipVerify: true\n  {{- end }}\n",
	}, {
		name: "a conditional list item",
		build: func(d *doc) {
			b, err := when(".Values.x", map[string]any{"a": 1, "b": 2})
			if err != nil {
				t.Fatal(err)
			}
			d.obj["items"] = []any{"first", d.block(b)}
		},
		want: "items:\n- first\n{{- if .Values.x }}\n- a: 1\n  b: 2\n{{- end }}\n",
	}, {
		name: "template braces from config/ reach the output as they are",
		build: func(d *doc) {
			d.obj["summary"] = "{{ $labels.name }} expires"
		},
		want: "summary: '{{ \"{{\" }} $labels.name }} expires'\n",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &doc{obj: map[string]any{}}
			c.build(d)
			got, err := d.render()
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestRenderRefusesAnUnknownPlaceholder(t *testing.T) {
	d := &doc{obj: map[string]any{"name": "__T3__"}}
	if _, err := d.render(); err == nil || !strings.Contains(err.Error(), "placeholder") {
		t.Errorf("rendered a placeholder it has no template for: %v", err)
	}
}
