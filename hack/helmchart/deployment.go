package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// defaults are the values config/ sets, which values.yaml starts from.
type defaults struct {
	replicas           any
	repository, tag    string
	leaderElect        bool
	probePort          int
	metricsPort        int
	resources          any
	podSecurityContext any
	securityContext    any
	gracePeriod        any
	metricsFrom        any
}

// The arguments config/ gives the manager, and what each becomes in the
// chart. An argument not listed here is an error, so a flag added to
// config/manager cannot be lost on the way into the chart.
var knownArgs = map[string]string{
	"--leader-elect":              "leaderElection.enabled",
	"--health-probe-bind-address": "manager.healthProbe.port",
	"--metrics-bind-address":      "metrics.port",
}

// placeDeployment templates the manager's Deployment from config/default
// and returns the defaults values.yaml takes from it.
func (n names) placeDeployment(obj map[string]any, img string) (*template, defaults, error) {
	var def defaults
	d := &doc{obj: obj}
	spec := obj["spec"].(map[string]any)
	pod := get(spec, "template", "spec").(map[string]any)
	containers := pod["containers"].([]any)
	if len(containers) != 1 {
		return nil, def, fmt.Errorf("the manager's Deployment has %d containers; hack/helmchart templates one", len(containers))
	}
	c := containers[0].(map[string]any)

	def.replicas = spec["replicas"]
	spec["replicas"] = d.scalar("{{ .Values.manager.replicas }}")

	for _, a := range c["args"].([]any) {
		arg := a.(string)
		flag, val, _ := strings.Cut(arg, "=")
		if _, ok := knownArgs[flag]; !ok {
			return nil, def, fmt.Errorf("config/default gives the manager %s, which hack/helmchart does not map to a value (knownArgs)", arg)
		}
		var err error
		switch flag {
		case "--leader-elect":
			def.leaderElect = true
		case "--health-probe-bind-address":
			def.probePort, err = port(val)
		case "--metrics-bind-address":
			def.metricsPort, err = port(val)
		}
		if err != nil {
			return nil, def, fmt.Errorf("config/default: %s: %w", arg, err)
		}
	}
	c["args"] = []any{d.block(func(indent int, _ bool) string { return lines(indent-2, argLines()) })}

	def.repository, def.tag, _ = strings.Cut(img, ":")
	c["image"] = d.scalar(fmt.Sprintf(`{{ include "%s.image" . }}`, chartName))
	c["imagePullPolicy"] = d.scalar("{{ .Values.manager.image.pullPolicy }}")

	def.resources, def.securityContext = c["resources"], c["securityContext"]
	delete(c, "resources")
	delete(c, "securityContext")
	c[d.block(keyWithValues("resources", ".Values.manager.resources"))] = nil
	c[d.block(keyWithValues("securityContext", ".Values.manager.securityContext"))] = nil
	c["env"] = append(c["env"].([]any), d.block(withValues(".Values.manager.env")))
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if get(c, probe, "httpGet", "port") != nil {
			get(c, probe, "httpGet").(map[string]any)["port"] = d.scalar("{{ .Values.manager.healthProbe.port }}")
		}
	}
	c[d.block(func(indent int, _ bool) string {
		return lines(indent, "{{- if and .Values.metrics.enabled .Values.metrics.certSecret }}\nvolumeMounts:\n- name: metrics-certs\n  mountPath: /tmp/k8s-metrics-server/metrics-certs\n  readOnly: true\n{{- end }}")
	})] = nil

	def.podSecurityContext, def.gracePeriod = pod["securityContext"], pod["terminationGracePeriodSeconds"]
	delete(pod, "securityContext")
	pod[d.block(keyWithValues("securityContext", ".Values.manager.podSecurityContext"))] = nil
	pod["terminationGracePeriodSeconds"] = d.scalar("{{ .Values.manager.terminationGracePeriodSeconds }}")
	// In a fixed order: the blocks' placeholders sort by number.
	for _, key := range []string{"imagePullSecrets", "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints", "priorityClassName"} {
		path := "manager." + key
		if _, set := pod[key]; set {
			return nil, def, fmt.Errorf("config/manager sets %s, which the chart takes from %s: move it to values.yaml", key, path)
		}
		if key == "priorityClassName" {
			pod[d.block(keyWithScalar(key, ".Values."+path))] = nil
		} else {
			pod[d.block(keyWithValues(key, ".Values."+path))] = nil
		}
	}
	pod[d.block(func(indent int, _ bool) string {
		return lines(indent, "{{- if and .Values.metrics.enabled .Values.metrics.certSecret }}\nvolumes:\n- name: metrics-certs\n  secret:\n    secretName: {{ .Values.metrics.certSecret }}\n{{- end }}")
	})] = nil

	podMeta := get(spec, "template", "metadata").(map[string]any)
	podMeta["labels"].(map[string]any)[d.block(withValues(".Values.manager.podLabels"))] = nil
	podMeta["annotations"].(map[string]any)[d.block(withValues(".Values.manager.podAnnotations"))] = nil

	n.common(d)
	return &template{path: "manager/manager.yaml", doc: d}, def, nil
}

// port reads the port of a ":8081" bind address.
func port(addr string) (int, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return 0, fmt.Errorf("no port in %q", addr)
	}
	return strconv.Atoi(addr[i+1:])
}

// extraArgs returns what a variant of config/ adds to config/default's
// manager arguments, such as --enable-rollout-restart.
func extraArgs(def, variant []map[string]any) ([]string, error) {
	args := func(objs []map[string]any) ([]string, error) {
		for _, o := range objs {
			if kind(o) == "Deployment" {
				var out []string
				for _, a := range get(o, "spec", "template", "spec").(map[string]any)["containers"].([]any)[0].(map[string]any)["args"].([]any) {
					out = append(out, a.(string))
				}
				return out, nil
			}
		}
		return nil, fmt.Errorf("no Deployment")
	}
	base, err := args(def)
	if err != nil {
		return nil, err
	}
	more, err := args(variant)
	if err != nil {
		return nil, err
	}
	var extra []string
	for _, a := range more {
		if !slices.Contains(base, a) {
			extra = append(extra, a)
		}
	}
	return extra, nil
}
