package main

import (
	"fmt"
	"reflect"
	"strings"
)

// chartName names the chart and prefixes its template helpers.
const chartName = "vantage-credential-operator"

// A template is one file under templates/: a doc, and the condition under
// which Helm renders it ("" for always).
type template struct {
	path string
	cond string
	doc  *doc
}

// names maps the names kustomize gave (prefixed, in its namespace) to the
// release's, so references between objects follow the release.
type names struct {
	prefix, namespace string
	// suffixes of every prefixed object name config/ produces.
	known map[string]bool
	// the ServiceAccount the manager runs as, whose name is a value.
	serviceAccount string
}

func (n names) resourceName(d *doc, suffix string) string {
	return d.scalar(fmt.Sprintf(`{{ include "%s.resourceName" (dict "suffix" %q "context" $) }}`, chartName, suffix))
}

// rewrite replaces, anywhere in v, the names kustomize gave with the
// release's: object names, the ServiceAccount's and the namespace. The
// manager's Pods and whatever selects them (the Deployment, the Service,
// the NetworkPolicy, the ServiceMonitor) also get the release's instance
// label, so two releases in one namespace, such as two shards, do not
// select each other's Pods.
// The object's own labels, which have the instance label from the labels
// helper, are own.
func (n names) rewrite(d *doc, v any, own map[string]any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = n.rewrite(d, e, own)
		}
		if t["control-plane"] == "controller-manager" && reflect.ValueOf(t).Pointer() != reflect.ValueOf(own).Pointer() {
			t["app.kubernetes.io/instance"] = d.scalar("{{ .Release.Name }}")
		}
	case []any:
		for i, e := range t {
			t[i] = n.rewrite(d, e, own)
		}
	case string:
		switch {
		case t == n.namespace:
			return d.scalar("{{ .Release.Namespace }}")
		case t == n.prefix+n.serviceAccount:
			return d.scalar(fmt.Sprintf(`{{ include "%s.serviceAccountName" . }}`, chartName))
		case strings.HasPrefix(t, n.prefix) && n.known[strings.TrimPrefix(t, n.prefix)]:
			return n.resourceName(d, strings.TrimPrefix(t, n.prefix))
		}
	}
	return v
}

// common gives every object the chart's labels and the user's extra labels
// and annotations, and the release's names.
func (n names) common(d *doc) {
	meta := d.obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
		meta["labels"] = labels
	}
	delete(labels, "app.kubernetes.io/managed-by")
	labels[d.block(func(indent int, _ bool) string {
		return lines(indent, fmt.Sprintf(`{{- include "%s.labels" . | nindent %d }}`, chartName, indent))
	})] = nil
	if ann, ok := meta["annotations"].(map[string]any); ok {
		ann[d.block(withValues(".Values.commonAnnotations"))] = nil
	} else {
		meta[d.block(keyWithValues("annotations", ".Values.commonAnnotations"))] = nil
	}
	// An object's own name first: the Deployment shares its name with the
	// ServiceAccount, whose name is a value.
	if suffix, ok := strings.CutPrefix(name(d.obj), n.prefix); ok {
		if kind(d.obj) == "ServiceAccount" && suffix == n.serviceAccount {
			meta["name"] = d.scalar(fmt.Sprintf(`{{ include "%s.serviceAccountName" . }}`, chartName))
		} else {
			meta["name"] = n.resourceName(d, suffix)
		}
	}
	n.rewrite(d, d.obj, labels)
}

// rbacKind makes a ClusterRole or ClusterRoleBinding of config/default a
// Role or RoleBinding in the release's namespace when rbac.namespaced is
// set, as config/namespaced does.
func rbacKind(d *doc) {
	k := kind(d.obj)
	short := strings.TrimPrefix(k, "Cluster")
	d.obj["kind"] = d.scalar(fmt.Sprintf("{{ if .Values.rbac.namespaced }}%s{{ else }}%s{{ end }}", short, k))
	meta := d.obj["metadata"].(map[string]any)
	meta[d.block(func(indent int, _ bool) string {
		return lines(indent, "{{- if .Values.rbac.namespaced }}\nnamespace: {{ .Release.Namespace }}\n{{- end }}")
	})] = nil
	if ref, ok := d.obj["roleRef"].(map[string]any); ok {
		ref["kind"] = d.scalar("{{ if .Values.rbac.namespaced }}Role{{ else }}ClusterRole{{ end }}")
	}
}

const (
	metricsSecure = "and .Values.metrics.enabled .Values.metrics.secure (not .Values.rbac.namespaced)"
	userRoles     = "and .Values.rbac.userRoles (not .Values.rbac.namespaced)"
)

// place decides where an object of config/default goes and under which
// condition, and templates what values change in it. An object it does
// not know is an error: whoever adds one to config/ decides here how the
// chart carries it.
func (n names) place(obj map[string]any) (*template, error) {
	d := &doc{obj: obj}
	k, suffix := kind(obj), strings.TrimPrefix(name(obj), n.prefix)
	t := &template{doc: d}
	switch {
	case k == "CustomResourceDefinition":
		t.path, t.cond = "crd/"+name(obj)+".yaml", ".Values.crds.enabled"
		meta := obj["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			meta["annotations"] = ann
		}
		// Uninstalling the chart must not delete every credential.
		ann[d.block(func(indent int, _ bool) string {
			return lines(indent, "{{- if .Values.crds.keep }}\nhelm.sh/resource-policy: keep\n{{- end }}")
		})] = nil
	case k == "ServiceAccount" && suffix == n.serviceAccount:
		t.path, t.cond = "rbac/service-account.yaml", ".Values.serviceAccount.create"
		obj["metadata"].(map[string]any)[d.block(keyWithValues("annotations", ".Values.serviceAccount.annotations"))] = nil
	case (k == "Role" || k == "RoleBinding") && strings.HasPrefix(suffix, "leader-election-"):
		t.path, t.cond = "rbac/"+suffix+".yaml", ".Values.leaderElection.enabled"
	case (k == "ClusterRole" || k == "ClusterRoleBinding") && strings.HasPrefix(suffix, "manager-"):
		t.path = "rbac/" + suffix + ".yaml"
		rbacKind(d)
	case (k == "ClusterRole" || k == "ClusterRoleBinding") && strings.HasPrefix(suffix, "metrics-"):
		t.path, t.cond = "rbac/"+suffix+".yaml", metricsSecure
	case k == "ClusterRole" && (strings.HasSuffix(suffix, "-admin-role") || strings.HasSuffix(suffix, "-editor-role") || strings.HasSuffix(suffix, "-viewer-role")):
		t.path, t.cond = "rbac/"+suffix+".yaml", userRoles
	case k == "Service" && strings.HasSuffix(suffix, "-metrics-service"):
		t.path, t.cond = "metrics/"+suffix+".yaml", ".Values.metrics.enabled"
		port := get(obj, "spec", "ports").([]any)[0].(map[string]any)
		port["name"] = d.scalar(`{{ if .Values.metrics.secure }}https{{ else }}http{{ end }}`)
		port["port"] = d.scalar("{{ .Values.metrics.port }}")
		port["targetPort"] = d.scalar("{{ .Values.metrics.port }}")
	case k == "NetworkPolicy":
		t.path, t.cond = "network-policy/"+suffix+".yaml", "and .Values.metrics.enabled .Values.networkPolicy.enabled"
		rule := get(obj, "spec", "ingress").([]any)[0].(map[string]any)
		delete(rule, "from")
		rule[d.block(keyWithValues("from", ".Values.networkPolicy.metricsFrom"))] = nil
		rule["ports"].([]any)[0].(map[string]any)["port"] = d.scalar("{{ .Values.metrics.port }}")
	default:
		return nil, fmt.Errorf("hack/helmchart does not know where %s %s goes in the chart", k, name(obj))
	}
	n.common(d)
	return t, nil
}

// placeRolloutRestart templates the RBAC config/rollout-restart adds.
func (n names) placeRolloutRestart(obj map[string]any) (*template, error) {
	k, suffix := kind(obj), strings.TrimPrefix(name(obj), n.prefix)
	if k != "ClusterRole" && k != "ClusterRoleBinding" {
		return nil, fmt.Errorf("hack/helmchart does not know where %s %s of config/rollout-restart goes in the chart", k, name(obj))
	}
	d := &doc{obj: obj}
	rbacKind(d)
	n.common(d)
	// The role and its binding share a name; their files do not.
	file := map[string]string{"ClusterRole": suffix + "-role", "ClusterRoleBinding": suffix + "-rolebinding"}[k]
	return &template{path: "rbac/" + file + ".yaml", cond: ".Values.rolloutRestart.enabled", doc: d}, nil
}

// placePrometheus templates config/prometheus's ServiceMonitor and alert
// rules.
func (n names) placePrometheus(obj map[string]any) (*template, error) {
	d := &doc{obj: obj}
	k, suffix := kind(obj), strings.TrimPrefix(name(obj), n.prefix)
	t := &template{doc: d, path: "prometheus/" + suffix + ".yaml"}
	switch k {
	case "ServiceMonitor":
		t.cond = ".Values.prometheus.serviceMonitor.enabled"
		ep := get(obj, "spec", "endpoints").([]any)[0].(map[string]any)
		ep["port"] = d.scalar(`{{ if .Values.metrics.secure }}https{{ else }}http{{ end }}`)
		ep["scheme"] = d.scalar(`{{ if .Values.metrics.secure }}https{{ else }}http{{ end }}`)
		// Over plain HTTP there is nothing to authenticate or verify.
		secure := map[string]any{}
		for _, key := range []string{"bearerTokenFile", "tlsConfig"} {
			secure[key] = ep[key]
			delete(ep, key)
		}
		b, err := when(".Values.metrics.secure", secure)
		if err != nil {
			return nil, err
		}
		ep[d.block(b)] = nil
		obj["metadata"].(map[string]any)["labels"].(map[string]any)[d.block(withValues(".Values.prometheus.serviceMonitor.labels"))] = nil
	case "PrometheusRule":
		t.cond = ".Values.prometheus.rules.enabled"
		obj["metadata"].(map[string]any)["labels"].(map[string]any)[d.block(withValues(".Values.prometheus.rules.labels"))] = nil
	default:
		return nil, fmt.Errorf("hack/helmchart does not know where %s %s of config/prometheus goes in the chart", k, name(obj))
	}
	n.common(d)
	return t, nil
}

// sameRules checks that config/namespaced's Role grants what
// config/default's ClusterRole does: the chart makes one from the other
// with rbac.namespaced, so they must not drift apart.
func sameRules(def, namespaced []map[string]any, prefix string) error {
	cr := find(def, "ClusterRole", prefix+"manager-role")
	r := find(namespaced, "Role", prefix+"manager-role")
	if cr == nil || r == nil {
		return fmt.Errorf("config/default's ClusterRole and config/namespaced's Role %smanager-role must both exist", prefix)
	}
	if !reflect.DeepEqual(cr["rules"], r["rules"]) {
		return fmt.Errorf("config/namespaced's Role %smanager-role grants other rules than config/default's ClusterRole", prefix)
	}
	return nil
}
