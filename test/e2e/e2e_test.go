package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

var _ = Describe("the operator, installed and run as a cluster admin would", Ordered, func() {
	var first *manager

	// On failure, show what the operator saw and did: the credentials with
	// their status, events, and the end of each manager's log.
	AfterEach(func() {
		if !CurrentSpecReport().Failed() {
			return
		}
		for _, args := range [][]string{{"get", "vcred", "-A", "-o", "yaml"}, {"get", "events", "-A"}} {
			out, _ := cp.Kubectl(nil, args...)
			GinkgoWriter.Printf("--- kubectl %s\n%s\n", strings.Join(args, " "), out)
		}
		logs, _ := filepath.Glob(filepath.Join(workDir, "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			GinkgoWriter.Printf("--- %s (end)\n%s\n", filepath.Base(l), b)
		}
	})

	It("installs from dist/install.yaml with server-side apply, every object accepted", func() {
		out := kubectl("apply", "--server-side", "-f", filepath.Join(projectDir, "dist/install.yaml"))
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines {
			Expect(l).To(HaveSuffix("serverside-applied"), "every object is accepted: %s", out)
		}
		Expect(out).To(ContainSubstring("customresourcedefinition.apiextensions.k8s.io/vantagecredentials.vantage.omnivector.solutions serverside-applied"))
		Expect(out).To(ContainSubstring("deployment.apps/vantage-credential-operator-controller-manager serverside-applied"))
		Expect(out).To(ContainSubstring("clusterrole.rbac.authorization.k8s.io/vantage-credential-operator-manager-role serverside-applied"))
		kubectl("wait", "--for=condition=Established", "crd/vantagecredentials.vantage.omnivector.solutions", "crd/clustervantagecredentials.vantage.omnivector.solutions", "--timeout=30s")
		ns := kubectl("get", "namespace", operatorNamespace, "-o", "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}")
		Expect(ns).To(Equal("restricted"))
	})

	It("accepts config/sharding over the install: two managers, disjoint credentials, a Lease each", func() {
		out := kubectl("apply", "--server-side", "--dry-run=server", "-k", filepath.Join(projectDir, "config/sharding"), "-o",
			`jsonpath={range .items[?(@.kind=="Deployment")]}{.metadata.name}{" "}{.spec.template.spec.containers[0].args}{"\n"}{end}`)
		deployments := strings.Split(strings.TrimSpace(out), "\n")
		Expect(deployments).To(HaveLen(2), out)
		Expect(deployments).To(ContainElement(And(
			HavePrefix("vantage-credential-operator-controller-manager "),
			ContainSubstring(`"--watch-label-selector=!sharding.vantage.omnivector.solutions/key"`),
			Not(ContainSubstring("--leader-election-id")))))
		Expect(deployments).To(ContainElement(And(
			HavePrefix("vantage-credential-operator-controller-manager-shard1 "),
			ContainSubstring(`"--watch-label-selector=sharding.vantage.omnivector.solutions/key=shard1"`),
			ContainSubstring(`"--leader-election-id=vantage-credential-operator-shard1"`))))
	})

	It("installs config/namespaced with Roles only, and its manager makes a credential in its namespace Ready", func() {
		// Before any other manager runs, so this one is the only one that
		// can have written the token.
		const ns = "vantage-team"
		kubectl("create", "namespace", ns)
		out := kubectl("apply", "--server-side", "-k", filepath.Join(projectDir, "config/namespaced"))
		Expect(out).NotTo(ContainSubstring("clusterrole"), "no cluster-scoped object: %s", out)
		Expect(out).NotTo(ContainSubstring("namespace/"), out)
		Expect(out).To(ContainSubstring("role.rbac.authorization.k8s.io/vantage-credential-operator-manager-role serverside-applied"))

		as := "--as=system:serviceaccount:" + ns + ":" + operatorSA
		canI := func(args ...string) string {
			out, _ := cp.Kubectl(nil, append([]string{"auth", "can-i", as}, args...)...)
			return strings.TrimSpace(out)
		}
		Expect(canI("update", "secrets", "-n", ns)).To(Equal("yes"))
		Expect(canI("list", "secrets", "-A")).To(Equal("no"))
		Expect(canI("list", "vantagecredentials", "-n", "default")).To(Equal("no"))

		token := strings.TrimSpace(kubectl("create", "token", operatorSA, "-n", ns, "--duration=1h"))
		kubeconfig, err := cp.WriteTokenKubeconfig("namespaced", token)
		Expect(err).NotTo(HaveOccurred())
		// The Deployment's arguments, with the downward API's namespace.
		m, err := utils.StartProcess(filepath.Join(workDir, "manager-namespaced.log"), filepath.Join(projectDir, "bin/manager"),
			"--kubeconfig", kubeconfig, "--watch-namespaces", ns,
			"--leader-elect", "--leader-election-namespace", ns,
			"--health-probe-bind-address", "0",
			"--default-token-url", fakeURL+"/oauth/token", "--default-api-url", fakeURL)
		Expect(err).NotTo(HaveOccurred())
		defer func() { Expect(m.Stop(10 * time.Second)).To(Succeed()) }()

		before := fakeStats().PerClient[longClient]
		kubectlApply(credentialManifest(ns, "team-token", longClient, longSecret))
		kubectl("wait", "--for=condition=Ready", "vantagecredential/team-token", "-n", ns, "--timeout=60s")
		Expect(secretToken(ns, "team-token")).NotTo(BeEmpty())
		Expect(fakeStats().PerClient[longClient]).To(Equal(before + 1))
		Expect(logOf(m)).NotTo(ContainSubstring("forbidden"), "nothing it does needs more than its Roles")
		// The managers of the later specs watch every namespace: leave them
		// nothing here.
		kubectl("delete", "vantagecredential", "team-token", "-n", ns)
	})

	It("runs the manager as the operator's ServiceAccount, with a token from the TokenRequest API", func() {
		token := strings.TrimSpace(kubectl("create", "token", operatorSA, "-n", operatorNamespace, "--duration=2h"))
		var err error
		operatorKubeconfig, err = cp.WriteTokenKubeconfig("operator", token)
		Expect(err).NotTo(HaveOccurred())
		first = startManager("manager-1")
		Eventually(func() string { return logOf(first.Process) }, time.Minute, 200*time.Millisecond).
			Should(ContainSubstring("Successfully acquired lease"))
	})

	It("has the permissions it needs and no more", func() {
		as := "--as=system:serviceaccount:" + operatorNamespace + ":" + operatorSA
		// The answer is the last line: kubectl may warn before it (a
		// cluster-scoped resource asked without a namespace).
		canI := func(args ...string) string {
			out, _ := cp.Kubectl(nil, append([]string{"auth", "can-i", as}, args...)...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			return strings.TrimSpace(lines[len(lines)-1])
		}
		for _, allowed := range [][]string{
			{"get", "secrets", "-n", "team-a"}, {"watch", "secrets", "--all-namespaces"}, {"create", "secrets", "-n", "team-a"},
			{"update", "secrets", "-n", "team-a"}, {"list", "vantagecredentials.vantage.omnivector.solutions", "--all-namespaces"},
			{"patch", "vantagecredentials.vantage.omnivector.solutions", "--subresource=status", "-n", "team-a"},
			{"create", "events.events.k8s.io", "-n", "team-a"}, {"watch", "configmaps", "--all-namespaces"},
			{"update", "leases.coordination.k8s.io", "-n", operatorNamespace},
			// ClusterVantageCredential: its namespaces, and its targets
			// deleted when a namespace stops matching.
			{"delete", "secrets", "-n", "team-a"}, {"watch", "namespaces"}, {"list", "namespaces"},
			{"list", "clustervantagecredentials.vantage.omnivector.solutions"},
			{"patch", "clustervantagecredentials.vantage.omnivector.solutions", "--subresource=status"},
			// serviceAccountRef: ServiceAccounts' metadata, and their
			// tokens (lent only by those labelled token-source).
			{"watch", "serviceaccounts", "--all-namespaces"}, {"create", "serviceaccounts", "--subresource=token", "-n", "team-a"},
		} {
			Expect(canI(allowed...)).To(Equal("yes"), "must be allowed: %v", allowed)
		}
		for _, denied := range [][]string{
			{"patch", "secrets", "-n", "team-a"}, {"update", "namespaces"}, {"patch", "namespaces"}, {"delete", "namespaces"},
			{"create", "clustervantagecredentials.vantage.omnivector.solutions"},
			{"update", "clustervantagecredentials.vantage.omnivector.solutions"},
			{"create", "vantagecredentials.vantage.omnivector.solutions", "-n", "team-a"},
			{"update", "vantagecredentials.vantage.omnivector.solutions", "-n", "team-a"},
			{"delete", "vantagecredentials.vantage.omnivector.solutions", "-n", "team-a"},
			{"update", "vantagecredentials.vantage.omnivector.solutions", "--subresource=status", "-n", "team-a"},
			{"update", "configmaps", "-n", "team-a"}, {"list", "pods", "--all-namespaces"},
			{"update", "leases.coordination.k8s.io", "-n", "team-a"},
			{"create", "serviceaccounts", "-n", "team-a"}, {"update", "serviceaccounts", "-n", "team-a"},
			{"*", "*"},
		} {
			Expect(canI(denied...)).To(Equal("no"), "must be denied: %v", denied)
		}
	})

	It("makes a credential Ready, written with kubectl apply and awaited with kubectl wait", func() {
		kubectl("create", "namespace", "team-a")
		before := fakeStats().PerClient[longClient]
		kubectlApply(credentialManifest("team-a", "ci-runner", longClient, longSecret))
		kubectl("wait", "--for=condition=Ready", "vantagecredential/ci-runner", "-n", "team-a", "--timeout=60s")

		token := kubectl("get", "secret", "ci-runner", "-n", "team-a", "-o", "jsonpath={.data.VANTAGE_API_KEY}")
		Expect(token).NotTo(BeEmpty())
		apiURL := kubectl("get", "secret", "ci-runner", "-n", "team-a", "-o", "go-template={{ .data.VANTAGE_API_URL | base64decode }}")
		Expect(apiURL).To(Equal(fakeURL))
		Expect(fakeStats().PerClient[longClient]).To(Equal(before + 1))

		table := kubectl("get", "vcred", "-n", "team-a")
		Expect(table).To(MatchRegexp(`ci-runner\s+True\s+\d{4}-\d\d-\d\dT`))
	})

	It("makes a private-key credential, one found through an issuer, and an API-key credential Ready", func() {
		kubectl("create", "namespace", "team-modes")
		keyBefore, longBefore := fakeStats().PerClient[keyClient], fakeStats().PerClient[longClient]
		keyFile, err := json.Marshal(map[string]string{"client_id": keyClient, "key_id": "k1", "private_key": keyClientPEM})
		Expect(err).NotTo(HaveOccurred())
		kubectl("create", "secret", "generic", "key-sa", "-n", "team-modes", "--from-literal=service-account.json="+string(keyFile))
		kubectlApply(strings.NewReplacer("FAKE", fakeURL, "LONG", longClient, "SECRET", longSecret, "APIKEY", apiKey).Replace(`
apiVersion: vantage.omnivector.solutions/v1alpha1
kind: VantageCredential
metadata: {name: with-key, namespace: team-modes}
spec:
  serviceAccountSecretRef: {name: key-sa}
  scopes: [jobs:read]
---
apiVersion: v1
kind: Secret
metadata: {name: issuer-sa, namespace: team-modes}
stringData:
  service-account.json: '{"client_id": "LONG", "client_secret": "SECRET"}'
---
apiVersion: vantage.omnivector.solutions/v1alpha1
kind: VantageCredential
metadata: {name: with-issuer, namespace: team-modes}
spec:
  serviceAccountSecretRef: {name: issuer-sa}
  issuerURL: FAKE/realms/vantage
  scopes: [jobs:read]
---
apiVersion: v1
kind: Secret
metadata: {name: api-key, namespace: team-modes}
stringData: {api-key: APIKEY}
---
apiVersion: vantage.omnivector.solutions/v1alpha1
kind: VantageCredential
metadata: {name: with-api-key, namespace: team-modes}
spec:
  apiKeySecretRef: {name: api-key}
`))
		kubectl("wait", "--for=condition=Ready", "vantagecredential/with-key", "vantagecredential/with-issuer", "vantagecredential/with-api-key",
			"-n", "team-modes", "--timeout=60s")
		Expect(kubectl("get", "secret", "with-api-key", "-n", "team-modes", "-o", "go-template={{ .data.VANTAGE_API_KEY | base64decode }}")).
			To(Equal(apiKey), "the API key itself, as VANTAGE_API_KEY")
		Expect(kubectl("get", "vcred", "with-api-key", "-n", "team-modes", "-o",
			`jsonpath={.status.conditions[?(@.type=="Ready")].reason}/{.status.userID}`)).To(Equal("APIKeyValid/" + apiKeyUser))
		Expect(kubectl("get", "events", "-n", "team-modes", "--field-selector", "reason=APIKeyExpiringSoon,type=Warning", "-o", "name")).
			NotTo(BeEmpty(), "a week is within the default two weeks' warning")
		Expect(secretToken("team-modes", "with-key")).NotTo(BeEmpty())
		Expect(secretToken("team-modes", "with-issuer")).NotTo(BeEmpty())
		Expect(fakeStats().PerClient[keyClient]).To(Equal(keyBefore + 1))
		Expect(fakeStats().PerClient[longClient]).To(Equal(longBefore + 1))
		Expect(kubectl("get", "vcred", "with-issuer", "-n", "team-modes", "-o", "jsonpath={.status.tokenURL}")).
			To(Equal(fakeURL + "/realms/vantage/protocol/openid-connect/token"))
		Expect(logOf(first.Process)).NotTo(ContainSubstring(strings.Split(keyClientPEM, "\n")[1]), "no line of the private key in the log")
	})

	It("writes one ClusterVantageCredential's token into three namespaces with one token request", func() {
		for _, ns := range []string{"tenant-1", "tenant-2", "tenant-3"} {
			kubectl("create", "namespace", ns)
			kubectl("label", "namespace", ns, "vantage=enabled")
		}
		kubectl("create", "namespace", "tenant-off")
		before := fakeStats().PerClient[longClient]
		kubectlApply(strings.NewReplacer("OPNS", operatorNamespace, "LONG", longClient, "SECRET", longSecret).Replace(`
apiVersion: v1
kind: Secret
metadata: {name: hpc-sa, namespace: OPNS}
stringData:
  service-account.json: '{"client_id": "LONG", "client_secret": "SECRET"}'
---
apiVersion: vantage.omnivector.solutions/v1alpha1
kind: ClusterVantageCredential
metadata: {name: hpc}
spec:
  serviceAccountSecretRef: {name: hpc-sa}
  scopes: [jobs:read]
  target:
    name: vantage-token
    namespaceSelector: {matchLabels: {vantage: enabled}}
`))
		kubectl("wait", "--for=condition=Ready", "clustervantagecredential/hpc", "--timeout=60s")
		token := secretToken("tenant-1", "vantage-token")
		Expect(token).NotTo(BeEmpty())
		Expect(secretToken("tenant-2", "vantage-token")).To(Equal(token))
		Expect(secretToken("tenant-3", "vantage-token")).To(Equal(token))
		_, err := cp.Kubectl(nil, "get", "secret", "vantage-token", "-n", "tenant-off")
		Expect(err).To(HaveOccurred(), "a namespace without the label gets nothing")
		Expect(fakeStats().PerClient[longClient]).To(Equal(before + 1))
		Expect(kubectl("get", "cvcred", "hpc")).To(MatchRegexp(`hpc\s+True\s+\S+\s+3\s`))

		By("relabelling a namespace out, and deleting the credential")
		kubectl("label", "namespace", "tenant-3", "vantage-")
		Eventually(func() error {
			_, err := cp.Kubectl(nil, "get", "secret", "vantage-token", "-n", "tenant-3")
			return err
		},
			30*time.Second, 200*time.Millisecond).Should(HaveOccurred())
		kubectl("delete", "clustervantagecredential", "hpc")
		Eventually(func() error {
			_, err := cp.Kubectl(nil, "get", "secret", "vantage-token", "-n", "tenant-1")
			return err
		},
			30*time.Second, 200*time.Millisecond).Should(HaveOccurred())
		Expect(logOf(first.Process)).NotTo(ContainSubstring("forbidden"))
	})

	It("serves metrics to an authorized reader only, with the values of the credentials", func() {
		url := fmt.Sprintf("https://127.0.0.1:%d/metrics", first.metricsPort)
		// The manager's serving certificate is self-signed, as in a cluster
		// without cert-manager.
		httpc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		get := func(token string) (int, string) {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			Expect(err).NotTo(HaveOccurred())
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := httpc.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}

		Eventually(func() int { code, _ := get(""); return code }, 30*time.Second, 200*time.Millisecond).Should(Equal(http.StatusUnauthorized))

		kubectl("create", "serviceaccount", "stranger", "-n", "default")
		stranger := strings.TrimSpace(kubectl("create", "token", "stranger", "-n", "default"))
		code, _ := get(stranger)
		Expect(code).To(Equal(http.StatusForbidden), "a valid token without the metrics-reader role is refused")

		// The manager caches each authorization decision for a while, so the
		// reader is another identity, bound before its first scrape.
		kubectl("create", "serviceaccount", "prometheus", "-n", "default")
		kubectl("create", "clusterrolebinding", "prometheus-metrics", "--clusterrole", metricsReaderRole, "--serviceaccount", "default:prometheus")
		Eventually(func() string {
			out, _ := cp.Kubectl(nil, "auth", "can-i", "get", "/metrics", "--as=system:serviceaccount:default:prometheus")
			return strings.TrimSpace(out)
		}, 10*time.Second, 100*time.Millisecond).Should(Equal("yes"))
		reader := strings.TrimSpace(kubectl("create", "token", "prometheus", "-n", "default"))
		code, body := get(reader)
		Expect(code).To(Equal(http.StatusOK))

		expiresAt := kubectl("get", "vcred", "ci-runner", "-n", "team-a", "-o", "jsonpath={.status.expiresAt}")
		expiry, err := time.Parse(time.RFC3339, expiresAt)
		Expect(err).NotTo(HaveOccurred())
		Expect(metric(body, `vantage_credential_token_expiry_timestamp_seconds{name="ci-runner",namespace="team-a"}`)).To(Equal(float64(expiry.Unix())))
		Expect(metric(body, `vantage_credential_ready{name="ci-runner",namespace="team-a"}`)).To(Equal(1.0))
		Expect(metric(body, `vantage_credential_token_exchanges_total{result="success"}`)).To(BeNumerically(">=", 1))
		Expect(metric(body, `vantage_credential_token_exchange_duration_seconds_count`)).To(BeNumerically(">=", 1))
	})

	It("refreshes a token before it expires", func() {
		kubectlApply(credentialManifest("team-a", "short", shortClient, shortSecret))
		kubectl("wait", "--for=condition=Ready", "vantagecredential/short", "-n", "team-a", "--timeout=60s")
		first := secretToken("team-a", "short")
		expiry := credentialExpiry("team-a", "short")
		Eventually(func() string { return secretToken("team-a", "short") }, 30*time.Second, 200*time.Millisecond).ShouldNot(Equal(first))
		Expect(time.Now()).To(BeTemporally("<", expiry))
	})

	It("makes a credential Ready with a ServiceAccount's tokens, nothing secret stored, and refreshes it", func() {
		// The trust setup of the README: the token server reads the
		// issuer's keys without credentials.
		kubectl("create", "clusterrolebinding", "service-account-issuer-discovery-anonymous",
			"--clusterrole=system:service-account-issuer-discovery", "--group=system:unauthenticated")
		kubectl("create", "namespace", "team-secretless")
		before := fakeStats().PerClient[saClient]
		kubectlApply(strings.NewReplacer("CLIENT", saClient).Replace(`
apiVersion: v1
kind: ServiceAccount
metadata:
  name: vantage-client
  namespace: team-secretless
  labels: {vantage.omnivector.solutions/token-source: "true"}
---
apiVersion: vantage.omnivector.solutions/v1alpha1
kind: VantageCredential
metadata: {name: secretless, namespace: team-secretless}
spec:
  serviceAccountRef: {name: vantage-client}
  clientID: CLIENT
  scopes: [jobs:read]
`))
		kubectl("wait", "--for=condition=Ready", "vantagecredential/secretless", "-n", "team-secretless", "--timeout=60s")
		token := secretToken("team-secretless", "secretless")
		Expect(token).NotTo(BeEmpty())
		Expect(fakeStats().PerClient[saClient]).To(Equal(before + 1))
		Expect(strings.TrimSpace(kubectl("get", "secrets", "-n", "team-secretless", "-o", "name"))).To(Equal("secret/secretless"),
			"the token's target is the only Secret: nothing secret is stored to get it")

		expiry := credentialExpiry("team-secretless", "secretless")
		Eventually(func() string { return secretToken("team-secretless", "secretless") }, 30*time.Second, 200*time.Millisecond).ShouldNot(Equal(token))
		Expect(time.Now()).To(BeTemporally("<", expiry))
		Expect(fakeStats().PerClient[saClient]).To(BeNumerically(">=", before+2), "each refresh a request with a new ServiceAccount token")
		Expect(logOf(first.Process)).NotTo(ContainSubstring("TokenRequestForbidden"))
	})

	It("after SIGKILL and a restart, leaves fresh tokens alone and refreshes a due one at once", func() {
		// A credential whose token stays fresh across the restart.
		kubectlApply(credentialManifest("team-a", "steady", longClient, longSecret))
		kubectl("wait", "--for=condition=Ready", "vantagecredential/steady", "-n", "team-a", "--timeout=60s")
		fresh := []string{"ci-runner", "steady"}
		versions := resourceVersions("team-a", fresh)
		longRequests := fakeStats().PerClient[longClient]

		Expect(first.Kill()).To(Succeed())
		// Let the short token's refresh come due while no manager runs.
		due := credentialNextRefresh("team-a", "short")
		shortBefore := fakeStats().PerClient[shortClient]
		Consistently(func() int { return fakeStats().PerClient[shortClient] }, time.Until(due)+time.Second, 250*time.Millisecond).
			Should(Equal(shortBefore), "nothing refreshes while the manager is down")

		restarted := time.Now()
		first = startManager("manager-1-restarted")
		Eventually(func() int { return fakeStats().PerClient[shortClient] }, 30*time.Second, 100*time.Millisecond).
			Should(BeNumerically(">", shortBefore), "the due token is refreshed after the restart")
		GinkgoWriter.Printf("due token refreshed %.1fs after the restart (lease acquisition included)\n", time.Since(restarted).Seconds())
		Expect(logOf(first.Process)).To(ContainSubstring("Successfully acquired lease"))
		Consistently(func() map[string]string { return resourceVersions("team-a", fresh) }, 5*time.Second, 250*time.Millisecond).
			Should(Equal(versions), "fresh credentials: zero Secret and status writes after the restart")
		Expect(fakeStats().PerClient[longClient]).To(Equal(longRequests), "fresh credentials: zero token requests after the restart")
	})

	It("with two managers, only the leader exchanges, and the other takes over within the lease duration", func() {
		second := startManager("manager-2")
		Consistently(func() string { return logOf(second.Process) }, 5*time.Second, 250*time.Millisecond).
			ShouldNot(ContainSubstring("Successfully acquired lease"))

		kubectl("create", "namespace", "team-b")
		before := fakeStats().PerClient[longClient]
		kubectlApply(credentialManifest("team-b", "one", longClient, longSecret))
		kubectl("wait", "--for=condition=Ready", "vantagecredential/one", "-n", "team-b", "--timeout=60s")
		Expect(fakeStats().PerClient[longClient]).To(Equal(before+1), "one exchange, by the leader")
		Expect(logOf(second.Process)).NotTo(ContainSubstring("requesting a token"))

		killed := time.Now()
		Expect(first.Kill()).To(Succeed())
		Eventually(func() string { return logOf(second.Process) }, 30*time.Second, 100*time.Millisecond).
			Should(ContainSubstring("Successfully acquired lease"))
		takeover := time.Since(killed)
		GinkgoWriter.Printf("takeover %.1fs after SIGKILL of the leader\n", takeover.Seconds())
		// The lease lasts 15 s from the leader's last renewal; the other
		// manager tries every retry period (2 s, with up to 20% jitter). The
		// rest is slack for a loaded machine.
		Expect(takeover).To(BeNumerically("<", 15*time.Second+2400*time.Millisecond+5*time.Second),
			"taken over within the lease duration and one retry period")

		before = fakeStats().PerClient[longClient]
		kubectlApply(credentialManifest("team-b", "two", longClient, longSecret))
		kubectl("wait", "--for=condition=Ready", "vantagecredential/two", "-n", "team-b", "--timeout=60s")
		Consistently(func() int { return fakeStats().PerClient[longClient] }, 3*time.Second, 250*time.Millisecond).
			Should(Equal(before+1), "the new leader exchanges once and repeats nothing the old one did")
	})

	It("runs make demo DEMO_EXIT=1 to the end", func() {
		cmd := exec.Command("make", "demo", "DEMO_EXIT=1")
		cmd.Dir = projectDir
		cmd.Env = append(os.Environ(), "DEMO_DIR="+filepath.Join(workDir, "demo"))
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("Ready: "))
		Expect(string(out)).To(MatchRegexp(`refreshed: .* replaced .*, \d+ s before the old token expired`))
		Expect(string(out)).To(ContainSubstring("restarted deployment/vantage-cli for the new token"))
		Expect(string(out)).To(ContainSubstring("demo complete"))
	})
})

// metric finds one sample's value in Prometheus text output; -1 if absent.
func metric(body, series string) float64 {
	GinkgoHelper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	Expect(err).NotTo(HaveOccurred())
	return v
}

func secretToken(ns, name string) string {
	GinkgoHelper()
	return kubectl("get", "secret", name, "-n", ns, "-o", "jsonpath={.data.access_token}")
}

func credentialTime(ns, name, field string) time.Time {
	GinkgoHelper()
	t, err := time.Parse(time.RFC3339, kubectl("get", "vcred", name, "-n", ns, "-o", "jsonpath={.status."+field+"}"))
	Expect(err).NotTo(HaveOccurred())
	return t
}

func credentialExpiry(ns, name string) time.Time {
	return credentialTime(ns, name, "expiresAt")
}

func credentialNextRefresh(ns, name string) time.Time {
	return credentialTime(ns, name, "nextRefreshTime")
}

// resourceVersions of each credential and its target Secret: any write to
// either changes them.
func resourceVersions(ns string, names []string) map[string]string {
	GinkgoHelper()
	rv := map[string]string{}
	for _, n := range names {
		rv["vcred/"+n] = kubectl("get", "vcred", n, "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}")
		rv["secret/"+n] = kubectl("get", "secret", n, "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}")
	}
	return rv
}
