package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

// The names config/default gives the operator's objects.
const (
	operatorNamespace = "vantage-credential-operator-system"
	operatorSA        = "vantage-credential-operator-controller-manager"
	metricsReaderRole = "vantage-credential-operator-metrics-reader"
)

// Clients the fake Vantage server accepts: one with ordinary one-hour
// tokens, one whose 20 s tokens are refreshed every ~13 s, one that
// authenticates with a private key (private_key_jwt), and one that
// authenticates with the tokens of ServiceAccount saClientSubject (20 s
// tokens too); and an API key of user e2e-user that expires in a week.
const (
	longClient  = "e2e-long"
	longSecret  = "long-secret"
	shortClient = "e2e-short"
	shortSecret = "short-secret"
	keyClient   = "e2e-key"
	apiKey      = "e2e-api-key-7f3a"
	apiKeyUser  = "e2e-user"
	saClient    = "e2e-serviceaccount"
	// saClientSubject is the ServiceAccount whose tokens the fake server
	// accepts for saClient: vantage-client in namespace team-secretless.
	saClientSubject = "system:serviceaccount:team-secretless:vantage-client"
)

var (
	projectDir string
	workDir    string
	cp         *utils.ControlPlane
	fake       *utils.Process
	fakeURL    string
	// keyClientPEM is keyClient's private key, PKCS#8 PEM.
	keyClientPEM string
	// operatorKubeconfig authenticates as the operator's ServiceAccount, so
	// the manager runs with exactly the permissions of config/rbac.
	operatorKubeconfig string
	// managers started by the specs; they outlive the spec that starts them
	// and are stopped with the control plane.
	managers []*manager
)

// TestE2E runs the end-to-end suite: the manager binary against a real API
// server, installed from dist/install.yaml as a cluster admin would.
func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	_, _ = fmt.Fprintf(GinkgoWriter, "Starting vantage-credential-operator e2e suite\n")
	RunSpecs(t, "e2e suite")
}

var _ = BeforeSuite(func() {
	var err error
	projectDir, err = utils.ProjectDir()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range []string{"bin/manager", "bin/fake-vantage", "dist/install.yaml"} {
		Expect(filepath.Join(projectDir, f)).To(BeAnExistingFile(), "run the suite with make test-e2e, which builds %s", f)
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	Expect(assets).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS must name the envtest binaries; make test-e2e sets it")

	workDir = GinkgoT().TempDir()
	By("starting a control plane")
	cp, err = utils.StartControlPlane(assets, workDir)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cp.Stop)
	DeferCleanup(func() {
		for _, m := range managers {
			_ = m.Stop(10 * time.Second)
		}
	})

	By("starting the fake Vantage server as a process, trusting the API server's service-account issuer")
	keyClientPEM = writeKeyClient(filepath.Join(workDir, "key-client.pub.pem"))
	caFile := filepath.Join(workDir, "apiserver-ca.crt")
	issuer, jwksURL, err := cp.ServiceAccountIssuer(caFile)
	Expect(err).NotTo(HaveOccurred())
	fake, fakeURL, err = utils.StartFakeVantage(context.Background(), filepath.Join(projectDir, "bin/fake-vantage"), workDir,
		"--client", longClient+":"+longSecret, "--client", shortClient+":"+shortSecret+":20s",
		"--key-client", keyClient+":"+filepath.Join(workDir, "key-client.pub.pem"),
		"--federated-client", saClient+":"+saClientSubject, "--federated-lifetime", "20s",
		"--trust-issuer", issuer, "--trust-jwks-url", jwksURL, "--trust-ca-file", caFile,
		"--api-key", apiKey+":"+apiKeyUser+":168h")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = fake.Stop(5 * time.Second) })
})

// ownPlane starts a control plane and a fake Vantage server (with
// fakeArgs) of a spec's own, stopped when the spec's container ends: for
// specs that must not share credentials with the suite's managers.
func ownPlane(dir string, fakeArgs ...string) (*utils.ControlPlane, string) {
	GinkgoHelper()
	plane, err := utils.StartControlPlane(os.Getenv("KUBEBUILDER_ASSETS"), dir)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(plane.Stop)
	fakeProc, url, err := utils.StartFakeVantage(context.Background(), filepath.Join(projectDir, "bin/fake-vantage"), dir, fakeArgs...)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = fakeProc.Stop(5 * time.Second) })
	return plane, url
}

// writeKeyClient makes the private_key_jwt client's key: its public half
// goes to pubFile for the fake server, its private half, PKCS#8 PEM, is
// returned for the client's Secret.
func writeKeyClient(pubFile string) string {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)).To(Succeed())
	der, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// kubectl runs kubectl as the cluster admin and fails the test on error.
func kubectl(args ...string) string {
	GinkgoHelper()
	out, err := cp.Kubectl(nil, args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// kubectlApply applies a manifest given inline.
func kubectlApply(manifest string) string {
	GinkgoHelper()
	out, err := cp.Kubectl([]byte(manifest), "apply", "-f", "-")
	Expect(err).NotTo(HaveOccurred())
	return out
}

// fakeStats reads the fake server's request counts.
func fakeStats() oauthtest.Stats {
	GinkgoHelper()
	st, err := utils.FakeVantageStats(fakeURL)
	Expect(err).NotTo(HaveOccurred())
	return st
}

// freePort returns a loopback port nothing listens on now.
func freePort() int {
	GinkgoHelper()
	port, err := utils.FreePort()
	Expect(err).NotTo(HaveOccurred())
	return port
}

// manager is one run of the manager binary.
type manager struct {
	*utils.Process
	metricsPort int
}

// startManager runs the manager binary as the operator's ServiceAccount,
// with leader election, as the Deployment of config/manager does.
func startManager(name string) *manager {
	GinkgoHelper()
	m := &manager{metricsPort: freePort()}
	var err error
	m.Process, err = utils.StartProcess(filepath.Join(workDir, name+".log"), filepath.Join(projectDir, "bin/manager"),
		"--kubeconfig", operatorKubeconfig,
		"--leader-elect", "--leader-election-namespace", operatorNamespace,
		"--cluster-credential-namespace", operatorNamespace,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", m.metricsPort),
		"--health-probe-bind-address", "0",
		"--default-token-url", fakeURL+"/oauth/token", "--default-api-url", fakeURL,
		"--zap-log-level", "debug")
	Expect(err).NotTo(HaveOccurred())
	managers = append(managers, m)
	return m
}

// logOf returns a process's log, for failure messages.
func logOf(p *utils.Process) string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

// credentialManifest is a service-account Secret and a VantageCredential.
func credentialManifest(ns, name, clientID, secret string) string {
	return strings.NewReplacer("NS", ns, "NAME", name, "CLIENT", clientID, "SECRET", secret).Replace(`
apiVersion: v1
kind: Secret
metadata: {name: NAME-sa, namespace: NS}
stringData:
  service-account.json: '{"client_id": "CLIENT", "client_secret": "SECRET"}'
---
apiVersion: vantage.omnivector.solutions/v1alpha1
kind: VantageCredential
metadata: {name: NAME, namespace: NS}
spec:
  serviceAccountSecretRef: {name: NAME-sa}
  scopes: [jobs:read]
`)
}
