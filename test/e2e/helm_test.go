package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

// The chart's values files the specs render besides the defaults.
const (
	allToggles     = "testdata/helm/all-toggles.yaml"
	namespacedMode = "testdata/helm/namespaced.yaml"
)

var _ = Describe("the Helm chart in dist/chart", Ordered, func() {
	const (
		helmClient = "helm-client"
		helmSecret = "helm-secret"
		// With this release name the chart names its objects as
		// dist/install.yaml does.
		release = "vantage-credential-operator"
	)
	var (
		plane   *utils.ControlPlane
		url     string
		dir     string
		chart   string
		helmBin string
	)

	helm := func(args ...string) (string, error) {
		cmd := exec.Command(helmBin, append(args, "--kubeconfig", plane.Kubeconfig)...)
		// Helm keeps its caches and settings here, not in $HOME.
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir+"/helm-cache", "HELM_CONFIG_HOME="+dir+"/helm-config",
			"HELM_DATA_HOME="+dir+"/helm-data")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return stdout.String() + stderr.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String(), nil
	}
	render := func(namespace string, valueFiles ...string) string {
		GinkgoHelper()
		args := []string{"template", release, chart, "--namespace", namespace}
		for _, f := range valueFiles {
			args = append(args, "--values", f)
		}
		out, err := helm(args...)
		Expect(err).NotTo(HaveOccurred())
		return out
	}
	planeKubectl := func(stdin []byte, args ...string) string {
		GinkgoHelper()
		out, err := plane.Kubectl(stdin, args...)
		Expect(err).NotTo(HaveOccurred())
		return out
	}

	BeforeAll(func() {
		helmBin = os.Getenv("HELM")
		Expect(helmBin).NotTo(BeEmpty(), "HELM must name the helm binary; make test-e2e builds it and sets it")
		crds := os.Getenv("MONITORING_CRDS")
		Expect(crds).NotTo(BeEmpty(), "MONITORING_CRDS must name the Prometheus Operator CRDs; make test-e2e generates them")
		chart = filepath.Join(projectDir, "dist/chart")
		dir = GinkgoT().TempDir()
		plane, url = ownPlane(dir, "--client", helmClient+":"+helmSecret)

		// The ServiceMonitor and PrometheusRule are checked against the
		// Prometheus Operator's real schema; the priority class and the
		// namespaces are what the values name.
		planeKubectl(nil, "apply", "--server-side", "-f", crds)
		planeKubectl(nil, "wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com",
			"crd/prometheusrules.monitoring.coreos.com", "--timeout=30s")
		planeKubectl([]byte("apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: vantage-operators}\nvalue: 1000\n"),
			"apply", "-f", "-")
		for _, ns := range []string{"helm-dry-run", "team"} {
			planeKubectl(nil, "create", "namespace", ns)
		}
	})

	It("passes helm lint --strict with the defaults, every toggle and the namespaced mode", func() {
		for _, values := range [][]string{nil, {allToggles}, {namespacedMode}} {
			args := []string{"lint", "--strict", chart}
			for _, f := range values {
				args = append(args, "--values", f)
			}
			out, err := helm(args...)
			Expect(err).NotTo(HaveOccurred(), "values %v", values)
			Expect(out).To(ContainSubstring("1 chart(s) linted, 0 chart(s) failed"))
		}
	})

	It("renders with the defaults what dist/install.yaml installs, less the Namespace", func() {
		b, err := os.ReadFile(filepath.Join(projectDir, "dist/install.yaml"))
		Expect(err).NotTo(HaveOccurred())
		want := objectsByName(string(b))
		delete(want, "Namespace/"+operatorNamespace)
		got := objectsByName(render(operatorNamespace))
		Expect(keys(got)).To(ConsistOf(keys(want)))
		for key, w := range want {
			Expect(comparable(got[key])).To(Equal(comparable(w)), "%s differs between the chart and dist/install.yaml", key)
		}
		// What the chart adds: its labels, and the CRDs kept on uninstall.
		crd := got["CustomResourceDefinition/vantagecredentials.vantage.omnivector.solutions"]
		Expect(crd).To(HaveKeyWithValue("metadata", HaveKeyWithValue("annotations", HaveKeyWithValue("helm.sh/resource-policy", "keep"))))
		Expect(got["Deployment/vantage-credential-operator-controller-manager"]).To(HaveKeyWithValue("metadata",
			HaveKeyWithValue("labels", HaveKeyWithValue("app.kubernetes.io/instance", release))))
	})

	It("puts every value where the manager reads it", func() {
		objs := objectsByName(render("team", allToggles))
		deploy := objs["Deployment/vco-controller-manager"]
		Expect(deploy).NotTo(BeNil(), "nameOverride names the objects: %v", keys(objs))
		pod := deploy["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		c := pod["containers"].([]any)[0].(map[string]any)
		Expect(c["args"]).To(ConsistOf(
			"--leader-elect", "--health-probe-bind-address=:9081", "--metrics-bind-address=:9443",
			"--metrics-cert-path=/tmp/k8s-metrics-server/metrics-certs", "--enable-rollout-restart",
			"--leader-election-id=vantage-credential-operator-helm", "--leader-elect-lease-duration=30s",
			"--leader-elect-renew-deadline=20s", "--leader-elect-retry-period=4s",
			"--default-token-url=https://auth.example/realms/vantage/protocol/openid-connect/token",
			"--default-api-url=https://api.example", "--allowed-token-hosts=auth.example,*.vantage.example",
			"--default-token-lifetime=30m", "--token-request-timeout=5s", "--token-requests-per-second=0",
			"--token-request-burst=10", "--token-requests-in-flight=2", "--max-concurrent-reconciles=8",
			"--kube-api-qps=40.5", "--kube-api-burst=80",
			"--watch-label-selector=!sharding.vantage.omnivector.solutions/key", "--watch-namespaces=team-a,team-b",
			"--cluster-credential-namespace=vantage-keys", "--cache-sync-timeout=2m", "--gc-percent=50",
			"--memory-limit-ratio=0.8", "--enable-http2=false", "--pprof-bind-address=127.0.0.1:6060",
			"--zap-log-level=debug", "--zap-encoder=console", "--zap-stacktrace-level=panic"))
		Expect(c["image"]).To(Equal("registry.example/vantage-credential-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
		Expect(c["imagePullPolicy"]).To(Equal("Always"))
		Expect(c["resources"]).To(HaveKeyWithValue("limits", HaveKeyWithValue("memory", "256Mi")))
		Expect(c["env"]).To(ContainElements(HaveKeyWithValue("name", "MEMORY_LIMIT"), HaveKeyWithValue("name", "HTTPS_PROXY")))
		Expect(c["volumeMounts"]).To(ConsistOf(HaveKeyWithValue("name", "metrics-certs")))
		Expect(pod["volumes"]).To(ConsistOf(HaveKeyWithValue("secret", HaveKeyWithValue("secretName", "vantage-metrics-tls"))))
		Expect(pod["serviceAccountName"]).To(Equal("vantage-operator"))
		Expect(pod["priorityClassName"]).To(Equal("vantage-operators"))
		Expect(pod["terminationGracePeriodSeconds"]).To(BeEquivalentTo(45))
		Expect(pod["securityContext"]).To(HaveKeyWithValue("runAsUser", BeEquivalentTo(65532)))
		for _, key := range []string{"nodeSelector", "tolerations", "affinity", "topologySpreadConstraints", "imagePullSecrets"} {
			Expect(pod).To(HaveKey(key))
		}
		Expect(deploy["spec"]).To(HaveKeyWithValue("replicas", BeEquivalentTo(2)))

		// Every object carries the extra labels and annotations.
		for key, o := range objs {
			meta := o["metadata"].(map[string]any)
			Expect(meta["labels"]).To(HaveKeyWithValue("team", "platform"), key)
			Expect(meta["annotations"]).To(HaveKeyWithValue("owner", "platform@example.com"), key)
		}
		Expect(keys(objs)).To(ContainElements("ClusterRole/vco-rollout-restart", "ClusterRoleBinding/vco-rollout-restart",
			"ServiceMonitor/vco-controller-manager-metrics-monitor", "PrometheusRule/vco-controller-manager-alerts"))
		Expect(keys(objs)).NotTo(ContainElement(HaveSuffix("-editor-role")), "rbac.userRoles is off")
		Expect(objs["ServiceMonitor/vco-controller-manager-metrics-monitor"]["metadata"]).To(
			HaveKeyWithValue("labels", HaveKeyWithValue("release", "kube-prometheus-stack")))
		// The alert templates reach Prometheus as they are in config/.
		rules, err := json.Marshal(objs["PrometheusRule/vco-controller-manager-alerts"])
		Expect(err).NotTo(HaveOccurred())
		Expect(string(rules)).To(ContainSubstring("{{ $labels.namespace }}/{{ $labels.name }}"))

		ns := objectsByName(render("team", namespacedMode))
		for key := range ns {
			Expect(key).NotTo(HavePrefix("Cluster"), "Roles only")
			Expect(key).NotTo(HavePrefix("CustomResourceDefinition/"))
		}
		Expect(keys(ns)).To(ContainElements("Role/vantage-credential-operator-manager-role", "RoleBinding/vantage-credential-operator-manager-rolebinding",
			"Role/vantage-credential-operator-rollout-restart", "RoleBinding/vantage-credential-operator-rollout-restart"))
		nsArgs := ns["Deployment/vantage-credential-operator-controller-manager"]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["args"]
		Expect(nsArgs).To(ContainElements("--watch-namespaces=$(POD_NAMESPACE)", "--metrics-secure=false", "--enable-rollout-restart"))
		Expect(ns["ServiceMonitor/vantage-credential-operator-controller-manager-metrics-monitor"]["spec"]).To(
			HaveKeyWithValue("endpoints", ConsistOf(And(HaveKeyWithValue("scheme", "http"), Not(HaveKey("tlsConfig"))))))
	})

	It("refuses values that cannot work, saying what to change", func() {
		for _, c := range []struct {
			set, says string
		}{
			{"rbac.namespaced=true", "Set metrics.enabled=false, or metrics.secure=false"},
			{"rbac.namespaced=true,metrics.enabled=false,config.watchNamespaces={a}", "leave config.watchNamespaces empty"},
			{"metrics.enabled=false,prometheus.serviceMonitor.enabled=true", "prometheus.serviceMonitor.enabled needs metrics.enabled"},
			{"serviceAccount.create=false", "serviceAccount.name is required when serviceAccount.create is false"},
		} {
			out, err := helm("template", release, chart, "--set", c.set)
			Expect(err).To(HaveOccurred(), "--set %s renders: %s", c.set, out)
			Expect(out).To(ContainSubstring(c.says), c.set)
		}
	})

	It("is accepted by the API server with the defaults, every toggle and the namespaced mode", func() {
		for _, c := range []struct {
			namespace string
			values    []string
		}{{"helm-dry-run", nil}, {"helm-dry-run", []string{allToggles}}, {"team", []string{namespacedMode}}} {
			manifest := render(c.namespace, c.values...)
			out, err := plane.Kubectl([]byte(manifest), "apply", "--server-side", "--dry-run=server", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), "values %v", c.values)
			n := strings.Count(strings.TrimSpace(out), "\n") + 1
			Expect(n).To(Equal(len(objectsByName(manifest))), "every object is accepted: %s", out)
		}
	})

	It("installs with helm install; the manager, run as the chart's ServiceAccount with the Deployment's arguments, makes a credential Ready; uninstalling keeps the credentials", func() {
		out, err := helm("install", release, chart, "--namespace", operatorNamespace, "--create-namespace")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("STATUS: deployed"))
		planeKubectl(nil, "wait", "--for=condition=Established", "crd/vantagecredentials.vantage.omnivector.solutions", "--timeout=30s")

		// The control plane runs no Pods: run the binary the way the
		// kubelet would, with the Deployment's own arguments, then the
		// out-of-cluster ones (the flag package lets a later one win).
		var args []string
		raw := planeKubectl(nil, "get", "deployment", release+"-controller-manager", "-n", operatorNamespace,
			"-o", "jsonpath={.spec.template.spec.containers[0].args}")
		Expect(json.Unmarshal([]byte(raw), &args)).To(Succeed())
		Expect(args).To(ContainElement("--leader-elect"))
		token := strings.TrimSpace(planeKubectl(nil, "create", "token", operatorSA, "-n", operatorNamespace, "--duration=1h"))
		kubeconfig, err := plane.WriteTokenKubeconfig("helm-operator", token)
		Expect(err).NotTo(HaveOccurred())
		m, err := utils.StartProcess(filepath.Join(dir, "manager-helm.log"), filepath.Join(projectDir, "bin/manager"),
			append(args, "--kubeconfig", kubeconfig, "--leader-election-namespace", operatorNamespace,
				"--cluster-credential-namespace", operatorNamespace,
				"--health-probe-bind-address", "0", "--metrics-bind-address", "0",
				"--default-token-url", url+"/oauth/token", "--default-api-url", url)...)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = m.Stop(10 * time.Second) })

		planeKubectl([]byte(credentialManifest("team", "helm-token", helmClient, helmSecret)), "apply", "-f", "-")
		_, err = plane.Kubectl(nil, "wait", "--for=condition=Ready", "vantagecredential/helm-token", "-n", "team", "--timeout=60s")
		Expect(err).NotTo(HaveOccurred(), "manager log:\n%s", logOf(m))
		Expect(planeKubectl(nil, "get", "secret", "helm-token", "-n", "team", "-o", "jsonpath={.data.VANTAGE_API_KEY}")).NotTo(BeEmpty())
		Expect(logOf(m)).NotTo(ContainSubstring("forbidden"), "the chart's RBAC is all it needs")
		Expect(m.Stop(10 * time.Second)).To(Succeed())

		_, err = helm("uninstall", release, "--namespace", operatorNamespace)
		Expect(err).NotTo(HaveOccurred())
		Expect(planeKubectl(nil, "get", "vantagecredential", "helm-token", "-n", "team", "-o", "name")).
			To(Equal("vantagecredential.vantage.omnivector.solutions/helm-token\n"), "the CRD, and so the credential, outlives the release")
		_, err = plane.Kubectl(nil, "get", "deployment", release+"-controller-manager", "-n", operatorNamespace)
		Expect(err).To(MatchError(ContainSubstring("NotFound")))
	})
})

// objectsByName parses a multi-document manifest into its objects, keyed
// by kind/name.
func objectsByName(manifest string) map[string]map[string]any {
	GinkgoHelper()
	objs := map[string]map[string]any{}
	for _, part := range strings.Split(manifest, "\n---") {
		var o map[string]any
		Expect(yaml.Unmarshal([]byte(part), &o)).To(Succeed())
		if o == nil {
			continue
		}
		meta := o["metadata"].(map[string]any)
		objs[fmt.Sprintf("%s/%s", o["kind"], meta["name"])] = o
	}
	return objs
}

func keys(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// comparable drops what only tells who installed an object, so the chart's
// objects and dist/install.yaml's can be compared: Helm's labels and
// kustomize's, Helm's keep annotation and the pull policy the chart states.
func comparable(o map[string]any) string {
	GinkgoHelper()
	b, err := json.Marshal(o)
	Expect(err).NotTo(HaveOccurred())
	var c map[string]any
	Expect(json.Unmarshal(b, &c)).To(Succeed())
	var strip func(v any)
	strip = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance",
				"app.kubernetes.io/version", "helm.sh/resource-policy", "imagePullPolicy"} {
				delete(t, k)
			}
			for k, e := range t {
				strip(e)
				if m, ok := e.(map[string]any); ok && len(m) == 0 && (k == "annotations" || k == "labels") {
					delete(t, k)
				}
			}
		case []any:
			for _, e := range t {
				strip(e)
			}
		}
	}
	strip(c)
	out, err := yaml.Marshal(c)
	Expect(err).NotTo(HaveOccurred())
	return string(out)
}
