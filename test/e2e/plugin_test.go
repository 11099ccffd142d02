package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

// The plugin's client of its own fake Vantage server.
const (
	pluginClient = "plugin-client"
	pluginSecret = "plugin-secret"
)

// kubectl vantage, run by kubectl as a plugin found on the PATH, against
// a control plane of its own with the operator installed from
// dist/install.yaml and one manager: independent of the order of the other
// specs, whose managers would otherwise share its credentials.
var _ = Describe("the kubectl vantage plugin", Ordered, func() {
	var (
		plane   *utils.ControlPlane
		dir     string
		api     string
		manager *utils.Process
	)

	// vantage runs `kubectl vantage args...` with kubeconfig, bin/ first on
	// the PATH so kubectl finds the plugin built by make build-tools.
	vantageAs := func(kubeconfig string, args ...string) (string, error) {
		kubectlBin := os.Getenv("KUBECTL")
		if kubectlBin == "" {
			kubectlBin = "kubectl"
		}
		cmd := exec.Command(kubectlBin, append([]string{"vantage", "--kubeconfig", kubeconfig}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Join(projectDir, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		GinkgoWriter.Printf("$ kubectl vantage %s\n%s\n", strings.Join(args, " "), out)
		return string(out), err
	}
	vantage := func(args ...string) string {
		GinkgoHelper()
		out, err := vantageAs(plane.Kubeconfig, args...)
		Expect(err).NotTo(HaveOccurred(), out)
		return out
	}
	pk := func(args ...string) string {
		GinkgoHelper()
		out, err := plane.Kubectl(nil, args...)
		Expect(err).NotTo(HaveOccurred())
		return out
	}
	token := func(ns, name string) string {
		GinkgoHelper()
		return pk("get", "secret", name, "-n", ns, "-o", "jsonpath={.data.access_token}")
	}

	BeforeAll(func() {
		Expect(filepath.Join(projectDir, "bin/kubectl-vantage")).To(BeAnExistingFile(), "make test-e2e builds it (make build-tools)")
		dir = GinkgoT().TempDir()
		plane, api = ownPlane(dir, "--client", pluginClient+":"+pluginSecret)
		var err error

		pk("apply", "--server-side", "-f", filepath.Join(projectDir, "dist/install.yaml"))
		pk("wait", "--for=condition=Established", "crd/vantagecredentials.vantage.omnivector.solutions",
			"crd/clustervantagecredentials.vantage.omnivector.solutions", "--timeout=30s")
		manager, err = utils.StartProcess(filepath.Join(dir, "manager-plugin.log"), filepath.Join(projectDir, "bin/manager"),
			"--kubeconfig", plane.Kubeconfig, "--cluster-credential-namespace", operatorNamespace,
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
			"--default-token-url", api+"/oauth/token", "--default-api-url", api)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = manager.Stop(10 * time.Second) })

		pk("create", "namespace", "plugin-a")
		pk("create", "namespace", "plugin-b")
		_, err = plane.Kubectl([]byte(credentialManifest("plugin-a", "healthy", pluginClient, pluginSecret)+"---"+
			credentialManifest("plugin-a", "failing", pluginClient, "not-the-secret")+"---"+
			strings.NewReplacer("OPNS", operatorNamespace, "CLIENT", pluginClient, "SECRET", pluginSecret).Replace(`
apiVersion: v1
kind: Secret
metadata: {name: fleet-sa, namespace: OPNS}
stringData:
  service-account.json: '{"client_id": "CLIENT", "client_secret": "SECRET"}'
---
apiVersion: vantage.omnivector.solutions/v1alpha1
kind: ClusterVantageCredential
metadata: {name: fleet}
spec:
  serviceAccountSecretRef: {name: fleet-sa}
  scopes: [jobs:read]
  target:
    name: fleet-token
    namespaces: [plugin-a, plugin-b]
`)), "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred())
		pk("wait", "--for=condition=Ready", "vcred/healthy", "-n", "plugin-a", "--timeout=60s")
		pk("wait", "--for=condition=Stalled", "vcred/failing", "-n", "plugin-a", "--timeout=60s")
		pk("wait", "--for=condition=Ready", "cvcred/fleet", "--timeout=60s")
	})

	AfterEach(func() {
		if CurrentSpecReport().Failed() {
			GinkgoWriter.Printf("--- manager-plugin.log\n%s\n", logOf(manager))
		}
	})

	It("is found by kubectl and names itself kubectl vantage", func() {
		out := vantage("--help")
		Expect(out).To(ContainSubstring("kubectl vantage [command]"))
	})

	It("shows a healthy, a failing and a cluster credential, and never a token", func() {
		table := vantage("status", "-n", "plugin-a")
		Expect(table).To(MatchRegexp(`(?m)^NAME\s+READY\s+REASON\s+EXPIRES IN\s+NEXT REFRESH\s+TARGET\s+FAILURES$`))
		Expect(table).To(MatchRegexp(`(?m)^vcred/healthy\s+True\s+TokenValid\s+5\dm\s+in \d+m\s+healthy\s+0$`))
		Expect(table).To(MatchRegexp(`(?m)^vcred/failing\s+False\s+InvalidClient\s+-\s+\S+.*\s+failing\s+[1-9]\d*$`))
		all := vantage("status", "-A")
		Expect(all).To(MatchRegexp(`(?m)^-\s+cvcred/fleet\s+True\s+TokenValid\s+5\dm\s+in \d+m\s+fleet-token \(2 ns\)\s+0$`))

		healthy := vantage("status", "healthy", "-n", "plugin-a")
		Expect(healthy).To(MatchRegexp(`Ready:\s+True \(TokenValid\)`))
		Expect(healthy).To(MatchRegexp(`Key Secret:\s+plugin-a/healthy-sa\n\s+exists, with key service-account.json`))
		Expect(healthy).To(MatchRegexp(`Keys:\s+VANTAGE_API_KEY, VANTAGE_API_URL, access_token, expires_at, scope, token_type \(values not shown\)`))
		Expect(healthy).To(MatchRegexp(`Subject \(sub\):\s+` + pluginClient))
		Expect(healthy).To(MatchRegexp(`Normal\s+Issued`), "the operator's events, read through the core API")
		Expect(healthy).To(MatchRegexp(`What to do:\n  nothing\n`))

		failing := vantage("status", "failing", "-n", "plugin-a")
		Expect(failing).To(MatchRegexp(`Ready:\s+False \(InvalidClient\)`))
		Expect(failing).To(MatchRegexp(`Stalled\s+True\s+InvalidClient`))
		Expect(failing).To(ContainSubstring("does not exist: no token yet"))
		Expect(failing).To(ContainSubstring("What to do:\n  the token server refused the client: check client_id and client_secret (with a private key: "))

		cluster := vantage("status", "cvcred/fleet")
		Expect(cluster).To(MatchRegexp(`Target Secret:\s+fleet-token in 2 namespaces \(0 failed\)`))
		Expect(cluster).To(MatchRegexp(`Inspected copy:\s+plugin-a/fleet-token`))
		Expect(cluster).To(MatchRegexp(`Key Secret:\s+` + operatorNamespace + `/fleet-sa\n\s+exists`))

		asJSON := vantage("status", "healthy", "-n", "plugin-a", "-o", "json")
		Expect(asJSON).To(ContainSubstring(`"whatToDo": "nothing"`))
		for _, out := range []string{table, all, healthy, failing, cluster, asJSON, vantage("status", "cvcred/fleet", "-o", "yaml")} {
			Expect(out).NotTo(ContainSubstring(token("plugin-a", "healthy")), "no base64 token")
			Expect(out).NotTo(ContainSubstring(strings.Split(decodedToken(pk, "plugin-a", "healthy"), ".")[2]), "no token signature")
			Expect(out).NotTo(ContainSubstring(pluginSecret))
		}
	})

	It("refreshes and waits: a new token for the healthy one, the Ready message and a non-zero exit for the failing one", func() {
		before := token("plugin-a", "healthy")
		out := vantage("refresh", "healthy", "-n", "plugin-a", "--wait", "--timeout", "60s")
		Expect(out).To(MatchRegexp(`vcred/healthy -n plugin-a: refreshed: Ready True \(TokenValid\), token expires in 5\dm`))
		Expect(token("plugin-a", "healthy")).NotTo(Equal(before))
		requested := pk("get", "vcred", "healthy", "-n", "plugin-a", "-o", "jsonpath={.metadata.annotations.vantage\\.omnivector\\.solutions/refresh-requested-at}")
		Expect(pk("get", "vcred", "healthy", "-n", "plugin-a", "-o", "jsonpath={.status.lastHandledRefreshRequest}")).To(Equal(requested))

		out, err := vantageAs(plane.Kubeconfig, "refresh", "failing", "-n", "plugin-a", "--wait", "--timeout", "60s")
		Expect(err).To(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("error: vcred/failing -n plugin-a: the refresh failed: Ready False (InvalidClient)"))

		before = token("plugin-b", "fleet-token")
		vantage("refresh", "cvcred/fleet", "--wait")
		Expect(token("plugin-b", "fleet-token")).NotTo(Equal(before))
	})

	It("whoami decodes the token and, with --verify, asks the Vantage API", func() {
		out := vantage("whoami", "healthy", "-n", "plugin-a", "--verify")
		Expect(out).To(ContainSubstring("decoded from the JWT, signature not verified"))
		Expect(out).To(MatchRegexp(`Vantage API:\s+GET ` + api + `/v1/auth/test`))
		Expect(out).To(MatchRegexp(`User:\s+` + pluginClient))
		Expect(out).To(MatchRegexp(`Scopes:\s+jobs:read`))
		Expect(out).NotTo(ContainSubstring(strings.Split(decodedToken(pk, "plugin-a", "healthy"), ".")[2]))
		Expect(vantage("whoami", "cvcred/fleet", "-n", "plugin-b")).To(MatchRegexp(`Target Secret:\s+plugin-b/fleet-token`))
	})

	It("says what to do: a typo, a target not yet written, a Secret RBAC hides", func() {
		out, err := vantageAs(plane.Kubeconfig, "status", "helthy", "-n", "plugin-a")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring(`no credential "helthy" in namespace "plugin-a"; did you mean vcred/healthy?`))
		out, err = vantageAs(plane.Kubeconfig, "whoami", "failing", "-n", "plugin-a")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("the target Secret plugin-a/failing does not exist: no token yet"))

		// A namespace viewer: kubernetes' view role (events, no Secrets)
		// and the operator's viewer role, bound directly because no
		// controller manager aggregates roles on this control plane.
		pk("create", "serviceaccount", "viewer", "-n", "plugin-a")
		pk("create", "rolebinding", "viewer", "--clusterrole=view", "--serviceaccount=plugin-a:viewer", "-n", "plugin-a")
		pk("create", "rolebinding", "viewer-vcred", "--clusterrole=vantage-credential-operator-vantagecredential-viewer-role",
			"--serviceaccount=plugin-a:viewer", "-n", "plugin-a")
		kc, err := plane.WriteTokenKubeconfig("viewer", strings.TrimSpace(pk("create", "token", "viewer", "-n", "plugin-a")))
		Expect(err).NotTo(HaveOccurred())
		out, err = vantageAs(kc, "whoami", "healthy", "-n", "plugin-a")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring(`RBAC forbids you to get secrets "healthy" in namespace "plugin-a"`))
		out, err = vantageAs(kc, "status", "healthy", "-n", "plugin-a")
		Expect(err).NotTo(HaveOccurred(), "status shows what it may read")
		Expect(out).To(MatchRegexp(`Ready:\s+True \(TokenValid\)`))
		Expect(out).To(ContainSubstring("cannot tell: RBAC forbids you to get secrets"))
	})

	It("says the CRD is not installed when it is not", func() {
		Expect(manager.Stop(10 * time.Second)).To(Succeed())
		pk("delete", "-k", filepath.Join(projectDir, "config/crd"), "--wait=true")
		Eventually(func() string {
			out, _ := vantageAs(plane.Kubeconfig, "status", "-n", "plugin-a")
			return out
		}, 30*time.Second, 500*time.Millisecond).Should(ContainSubstring("the CRD is not installed in this cluster"))
	})
})

// decodedToken is the target's token, to look for its signature in
// outputs; it is never printed.
func decodedToken(pk func(...string) string, ns, name string) string {
	GinkgoHelper()
	t := pk("get", "secret", name, "-n", ns, "-o", "go-template={{ .data.access_token | base64decode }}")
	Expect(strings.Count(t, ".")).To(Equal(2), fmt.Sprintf("the fake server issues JWTs (%d segments)", strings.Count(t, ".")+1))
	return t
}
