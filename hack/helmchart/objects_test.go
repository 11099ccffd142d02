package main

import (
	"strings"
	"testing"
)

const testPrefix = "vantage-credential-operator-"

func testNames() names {
	return names{prefix: testPrefix, namespace: "vantage-credential-operator-system", known: map[string]bool{"controller-manager": true, "manager-role": true}, serviceAccount: "controller-manager"}
}

func object(kind, name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": kind, "metadata": map[string]any{"name": name}}
}

// What config/ holds and the generator cannot place is an error that says
// where to decide it, never an object silently left out of the chart.
func TestGeneratorRefusesWhatItDoesNotKnow(t *testing.T) {
	deployment := func(args ...any) map[string]any {
		d := object("Deployment", testPrefix+"controller-manager")
		d["spec"] = map[string]any{"template": map[string]any{"metadata": map[string]any{}, "spec": map[string]any{
			"containers": []any{map[string]any{"name": "manager", "args": args}},
		}}}
		return d
	}
	rules := func(verb string) []any {
		return []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "verbs": []any{verb}}}
	}
	role := func(kind, verb string) map[string]any {
		r := object(kind, testPrefix+"manager-role")
		r["rules"] = rules(verb)
		return r
	}
	cases := []struct {
		name string
		run  func() error
		says string
	}{{
		name: "an object of an unknown kind",
		run:  func() error { _, err := testNames().place(object("ConfigMap", testPrefix+"settings")); return err },
		says: "does not know where ConfigMap " + testPrefix + "settings goes",
	}, {
		name: "a Deployment argument no value maps",
		run: func() error {
			_, _, err := testNames().placeDeployment(deployment("--leader-elect", "--new-flag=1"), "img:tag")
			return err
		},
		says: "--new-flag=1, which hack/helmchart does not map to a value",
	}, {
		name: "a Deployment with a second container",
		run: func() error {
			d := deployment("--leader-elect")
			pod := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			pod["containers"] = append(pod["containers"].([]any), map[string]any{"name": "sidecar"})
			_, _, err := testNames().placeDeployment(d, "img:tag")
			return err
		},
		says: "has 2 containers",
	}, {
		name: "config/namespaced granting other rules than config/default",
		run: func() error {
			return sameRules([]map[string]any{role("ClusterRole", "get")}, []map[string]any{role("Role", "list")}, testPrefix)
		},
		says: "grants other rules",
	}, {
		name: "an object config/rollout-restart adds that is not RBAC",
		run: func() error {
			_, err := testNames().placeRolloutRestart(object("ConfigMap", testPrefix+"restarts"))
			return err
		},
		says: "of config/rollout-restart",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Errorf("got %v, want an error saying %q", err, c.says)
			}
		})
	}
	if err := sameRules([]map[string]any{role("ClusterRole", "get")}, []map[string]any{role("Role", "get")}, testPrefix); err != nil {
		t.Errorf("the same rules are refused: %v", err)
	}
}

// References follow the release: names, the ServiceAccount, the namespace;
// the Deployment keeps its own name although the ServiceAccount shares it.
func TestNamesFollowTheRelease(t *testing.T) {
	n := testNames()
	b := object("ClusterRoleBinding", testPrefix+"manager-rolebinding")
	b["roleRef"] = map[string]any{"kind": "ClusterRole", "name": testPrefix + "manager-role"}
	b["subjects"] = []any{map[string]any{"kind": "ServiceAccount", "name": testPrefix + "controller-manager", "namespace": n.namespace}}
	d := &doc{obj: b}
	n.common(d)
	got, err := d.render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`name: {{ include "vantage-credential-operator.resourceName" (dict "suffix" "manager-role" "context" $) }}`,
		`- kind: ServiceAccount
  name: {{ include "vantage-credential-operator.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing\n%s\nin\n%s", want, got)
		}
	}
	if strings.Contains(got, testPrefix) {
		t.Errorf("a name kustomize gave is left:\n%s", got)
	}
}
