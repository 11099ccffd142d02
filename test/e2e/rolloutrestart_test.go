package e2e

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

// The rollout spec's client of its own fake Vantage server: tokens short
// enough that a refresh, the change a restart follows, comes within the
// spec. The secret is distinctive so that finding it anywhere means a leak.
const (
	rrClient = "rr-client"
	rrSecret = "rr-secret-5d1f0a"
	rrNS     = "rr-apps"
	rrCred   = "api-token"
)

// spec.rolloutRestart against a control plane of its own, installed from
// dist/install-rollout-restart.yaml and run by one manager as the
// operator's ServiceAccount, so the component's RBAC is what it has: no
// other spec's manager restarts or refreshes anything here.
var _ = Describe("rollout restarts, installed from dist/install-rollout-restart.yaml", Ordered, func() {
	var (
		plane   *utils.ControlPlane
		dir     string
		api     string
		manager *utils.Process
		// tokens are the access tokens seen (base64, JWT, signature), for
		// the sentinel: none may show up in a log, an event or a workload.
		tokens []string
	)

	pk := func(args ...string) string {
		GinkgoHelper()
		out, err := plane.Kubectl(nil, args...)
		Expect(err).NotTo(HaveOccurred())
		return out
	}
	deployment := func(name string) *appsv1.Deployment {
		GinkgoHelper()
		d := &appsv1.Deployment{}
		Expect(json.Unmarshal([]byte(pk("get", "deployment", name, "-n", rrNS, "-o", "json")), d)).To(Succeed())
		return d
	}
	credential := func() *vantagev1alpha1.VantageCredential {
		GinkgoHelper()
		c := &vantagev1alpha1.VantageCredential{}
		Expect(json.Unmarshal([]byte(pk("get", "vcred", rrCred, "-n", rrNS, "-o", "json")), c)).To(Succeed())
		return c
	}
	// rolloutCondition is "status/reason: message", "" while absent, so a
	// failed Eventually shows the whole condition.
	rolloutCondition := func() string {
		GinkgoHelper()
		c := meta.FindStatusCondition(credential().Status.Conditions, vantagev1alpha1.ConditionRolloutRestart)
		if c == nil {
			return ""
		}
		return string(c.Status) + "/" + c.Reason + ": " + c.Message
	}
	issuedAt := func() string {
		GinkgoHelper()
		return pk("get", "secret", rrCred, "-n", rrNS, "-o", `jsonpath={.metadata.annotations.vantage\.omnivector\.solutions/issued-at}`)
	}
	// record is the restarted-for entry the credential should leave for the
	// token in its target now; the hash follows package rollout's rule,
	// the data hash is the one the operator wrote on the Secret.
	record := func() string {
		GinkgoHelper()
		dataHash := pk("get", "secret", rrCred, "-n", rrNS, "-o", `jsonpath={.metadata.annotations.vantage\.omnivector\.solutions/data-hash}`)
		Expect(dataHash).NotTo(BeEmpty())
		return rollout.CredentialKey(string(credential().UID)) + "=" +
			rollout.Hash(string(vantagev1alpha1.RolloutRestartOnTokenChange), dataHash)
	}
	// rememberToken keeps the target's token, as stored (base64) and as
	// sent (a JWT), from one read, so the two are the same token.
	rememberToken := func() {
		GinkgoHelper()
		stored := pk("get", "secret", rrCred, "-n", rrNS, "-o", "jsonpath={.data.access_token}")
		jwt, err := base64.StdEncoding.DecodeString(stored)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Count(string(jwt), ".")).To(Equal(2), "the fake server issues JWTs")
		tokens = append(tokens, stored, string(jwt), strings.Split(string(jwt), ".")[2])
	}
	events := func(reason string) string {
		GinkgoHelper()
		return pk("get", "events", "-n", rrNS, "--field-selector", "reason="+reason+",involvedObject.name="+rrCred,
			"-o", `jsonpath={range .items[*]}{.type} {.message}{"\n"}{end}`)
	}

	BeforeAll(func() {
		Expect(filepath.Join(projectDir, "dist/install-rollout-restart.yaml")).To(BeAnExistingFile(), "make build-installer writes it")
		dir = GinkgoT().TempDir()
		plane, api = ownPlane(dir, "--client", rrClient+":"+rrSecret+":20s")
	})

	// The manager outlives the spec that starts it (a DeferCleanup there
	// would stop it at that spec's end) and stops before the control plane,
	// whose cleanup, registered in BeforeAll, runs after AfterAll.
	AfterAll(func() {
		if manager != nil {
			_ = manager.Stop(10 * time.Second)
		}
	})

	AfterEach(func() {
		if !CurrentSpecReport().Failed() {
			return
		}
		for _, args := range [][]string{{"get", "vcred", "-n", rrNS, "-o", "yaml"}, {"get", "deployments", "-n", rrNS, "-o", "yaml"},
			{"get", "events", "-n", rrNS}} {
			out, _ := plane.Kubectl(nil, args...)
			GinkgoWriter.Printf("--- kubectl %s\n%s\n", strings.Join(args, " "), out)
		}
		if manager != nil {
			GinkgoWriter.Printf("--- manager-rollout.log\n%s\n", logOf(manager))
		}
	})

	It("installs with the component: its RBAC accepted and the manager Deployment's --enable-rollout-restart", func() {
		out := pk("apply", "--server-side", "-f", filepath.Join(projectDir, "dist/install-rollout-restart.yaml"))
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			Expect(l).To(HaveSuffix("serverside-applied"), "every object is accepted: %s", out)
		}
		Expect(out).To(ContainSubstring("clusterrole.rbac.authorization.k8s.io/vantage-credential-operator-rollout-restart serverside-applied"))
		Expect(out).To(ContainSubstring("clusterrolebinding.rbac.authorization.k8s.io/vantage-credential-operator-rollout-restart serverside-applied"))
		pk("wait", "--for=condition=Established", "crd/vantagecredentials.vantage.omnivector.solutions",
			"crd/clustervantagecredentials.vantage.omnivector.solutions", "--timeout=30s")
		args := pk("get", "deployment", "vantage-credential-operator-controller-manager", "-n", operatorNamespace,
			"-o", "jsonpath={.spec.template.spec.containers[0].args}")
		Expect(args).To(ContainSubstring(`"--enable-rollout-restart"`))
	})

	It("lets the operator's ServiceAccount get, list, watch and patch workloads everywhere, and no more of them", func() {
		as := "--as=system:serviceaccount:" + operatorNamespace + ":" + operatorSA
		// The answer is the last line: kubectl may warn before it.
		canI := func(args ...string) string {
			out, _ := plane.Kubectl(nil, append([]string{"auth", "can-i", as}, args...)...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			return strings.TrimSpace(lines[len(lines)-1])
		}
		for _, resource := range []string{"deployments.apps", "statefulsets.apps", "daemonsets.apps"} {
			for _, verb := range []string{"get", "list", "watch", "patch"} {
				Expect(canI(verb, resource, "--all-namespaces")).To(Equal("yes"), "must be allowed: %s %s", verb, resource)
				Expect(canI(verb, resource, "-n", rrNS)).To(Equal("yes"), "must be allowed: %s %s -n %s", verb, resource, rrNS)
			}
		}
		for _, denied := range [][]string{
			{"update", "deployments.apps"}, {"delete", "deployments.apps"}, {"create", "deployments.apps"},
			{"patch", "pods"}, {"patch", "replicasets.apps"}, {"delete", "pods"},
		} {
			Expect(canI(append(denied, "--all-namespaces")...)).To(Equal("no"), "must be denied: %v", denied)
			Expect(canI(append(denied, "-n", rrNS)...)).To(Equal("no"), "must be denied: %v -n %s", denied, rrNS)
		}
	})

	It("runs the manager as that ServiceAccount with --enable-rollout-restart", func() {
		token := strings.TrimSpace(pk("create", "token", operatorSA, "-n", operatorNamespace, "--duration=1h"))
		kubeconfig, err := plane.WriteTokenKubeconfig("rollout-operator", token)
		Expect(err).NotTo(HaveOccurred())
		manager, err = utils.StartProcess(filepath.Join(dir, "manager-rollout.log"), filepath.Join(projectDir, "bin/manager"),
			"--kubeconfig", kubeconfig, "--enable-rollout-restart",
			"--leader-elect", "--leader-election-namespace", operatorNamespace,
			"--cluster-credential-namespace", operatorNamespace,
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
			"--default-token-url", api+"/oauth/token", "--default-api-url", api,
			"--zap-log-level", "debug")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() string { return logOf(manager) }, time.Minute, 200*time.Millisecond).
			Should(ContainSubstring("Successfully acquired lease"))
		Expect(manager.Exited()).To(BeFalse())
	})

	It("restarts the named Deployment for a refreshed token and leaves the paused one, saying so", func() {
		pk("create", "namespace", rrNS)
		// No Deployment controller runs on this control plane: the
		// Deployments have no pods, and only their templates matter here.
		_, err := plane.Kubectl([]byte(strings.NewReplacer("NS", rrNS, "TARGET", rrCred).Replace(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: example.invalid/api:1
        envFrom: [{secretRef: {name: TARGET}}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: batch
  namespace: NS
  labels: {vantage-token: rr}
spec:
  paused: true
  replicas: 1
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec:
      containers:
      - name: batch
        image: example.invalid/batch:1
        envFrom: [{secretRef: {name: TARGET}}]
`)), "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred())
		// credentialManifest ends in its spec, so the restart goes on after it.
		_, err = plane.Kubectl([]byte(credentialManifest(rrNS, rrCred, rrClient, rrSecret)+`  rolloutRestart:
    targets: [{kind: Deployment, name: api}]
    selector: {matchLabels: {vantage-token: rr}}
`), "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred())
		pk("wait", "--for=condition=Ready", "vcred/"+rrCred, "-n", rrNS, "--timeout=60s")
		first := issuedAt()
		Expect(first).NotTo(BeEmpty())
		rememberToken()

		By("waiting for the 20 s token to be refreshed")
		// The Deployments may have been created in the second the first
		// token was issued, which counts as started with it: the refresh
		// is the change that surely restarts the one before it.
		Eventually(issuedAt, time.Minute, 500*time.Millisecond).ShouldNot(Equal(first))
		rememberToken()

		Eventually(func(g Gomega) {
			d := deployment("api")
			g.Expect(d.Spec.Template.Annotations).To(HaveKeyWithValue(vantagev1alpha1.RestartedForAnnotation, record()))
		}, 30*time.Second, 250*time.Millisecond).Should(Succeed(), "api restarted for the token in the Secret now")
		Eventually(rolloutCondition, 30*time.Second, 250*time.Millisecond).
			Should(HavePrefix("False/WorkloadPaused: Deployment " + rrNS + "/batch is paused"))

		apiDep := deployment("api")
		at := apiDep.Spec.Template.Annotations[vantagev1alpha1.RestartedAtAnnotation]
		restartedAt, err := time.Parse(time.RFC3339, at)
		Expect(err).NotTo(HaveOccurred(), "restarted-at is RFC 3339: %q", at)
		Expect(restartedAt).To(BeTemporally("~", time.Now(), time.Minute))
		Expect(apiDep.Spec.Template.Annotations[vantagev1alpha1.RestartedForAnnotation]).To(MatchRegexp(`^[0-9a-f]{12}=[0-9a-f]{16}$`))
		for _, k := range []string{vantagev1alpha1.RestartedForAnnotation, vantagev1alpha1.RestartedAtAnnotation} {
			Expect(apiDep.Annotations).To(HaveKeyWithValue(k, apiDep.Spec.Template.Annotations[k]), "mirrored on the Deployment: %s", k)
		}

		batch := deployment("batch")
		Expect(batch.Spec.Paused).To(BeTrue())
		for _, k := range []string{vantagev1alpha1.RestartedForAnnotation, vantagev1alpha1.RestartedAtAnnotation} {
			Expect(batch.Spec.Template.Annotations).NotTo(HaveKey(k), "a paused Deployment is left alone")
			Expect(batch.Annotations).NotTo(HaveKey(k))
		}

		cred := credential()
		Expect(meta.IsStatusConditionTrue(cred.Status.Conditions, vantagev1alpha1.ConditionReady)).To(BeTrue(),
			"a workload that cannot be restarted says nothing against the token")
		Expect(cred.Status.LastRolloutRestartTime).NotTo(BeNil())
		// Not equal to restartedAt: another refresh may restart api again
		// between the reads.
		Expect(cred.Status.LastRolloutRestartTime.Time).To(BeTemporally(">=", restartedAt))
		Expect(cred.Status.LastRolloutRestartTime.Time).To(BeTemporally("~", time.Now(), time.Minute))

		restarted := events("RolloutRestarted")
		Expect(restarted).To(MatchRegexp(`(?m)^Normal restarted Deployment ` + regexp.QuoteMeta(rrNS+"/api") + ` `))
		Expect(restarted).NotTo(ContainSubstring("/batch"))
		Expect(events("WorkloadPaused")).To(MatchRegexp(`(?m)^Warning .*` + regexp.QuoteMeta(rrNS+"/batch")))

		By("resuming the paused Deployment")
		pk("patch", "deployment", "batch", "-n", rrNS, "--type=merge", "-p", `{"spec":{"paused":false}}`)
		Eventually(func(g Gomega) {
			d := deployment("batch")
			g.Expect(d.Spec.Template.Annotations).To(HaveKeyWithValue(vantagev1alpha1.RestartedForAnnotation, record()))
			g.Expect(d.Spec.Template.Annotations).To(HaveKey(vantagev1alpha1.RestartedAtAnnotation))
			g.Expect(d.Annotations).To(HaveKeyWithValue(vantagev1alpha1.RestartedForAnnotation, record()))
		}, 30*time.Second, 250*time.Millisecond).Should(Succeed(), "batch restarted once resumed")
		Eventually(rolloutCondition, 30*time.Second, 250*time.Millisecond).
			Should(MatchRegexp(`^True/(WorkloadsCurrent|RestartPending): .*2 of 2 workloads hold the current token`))
		Eventually(func() string { return events("RolloutRestarted") }, 10*time.Second, 250*time.Millisecond).
			Should(MatchRegexp(`(?m)^Normal restarted Deployment ` + regexp.QuoteMeta(rrNS+"/batch") + ` `))
		rememberToken()
	})

	It("needs nothing beyond the component's RBAC, and never shows the client secret or a token", func() {
		log := logOf(manager)
		Expect(log).To(ContainSubstring("restarted a workload for a new token"))
		Expect(log).NotTo(ContainSubstring("forbidden"), "the component's RBAC suffices")

		outputs := map[string]string{
			"the manager's log": log,
			"events":            pk("get", "events", "-A", "-o", "yaml"),
			"deployments":       pk("get", "deployments", "-n", rrNS, "-o", "yaml"),
		}
		for what, out := range outputs {
			Expect(out).NotTo(ContainSubstring(rrSecret), "no client secret in %s", what)
			for _, t := range tokens {
				Expect(out).NotTo(ContainSubstring(t), "no access token (or its signature) in %s", what)
			}
		}
	})
})
