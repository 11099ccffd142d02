package controller

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/eventrecorder"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

// These tests use Ginkgo (BDD-style Go testing framework). Refer to
// http://onsi.github.io/ginkgo/ to learn more about Ginkgo.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	tokenSrv  *oauthtest.Server
	// tlsSrv is a token server over HTTPS with a private CA.
	tlsSrv     *oauthtest.Server
	logs       *syncBuffer
	mgrMetrics *prometheus.Registry
	// liveReads counts the reconciler's live reads by namespace and name.
	liveReads *countingReader
	// apiAway fails the reconciler's writes in chosen namespaces, as an API
	// server that is down would.
	apiAway = &awayNamespaces{set: map[string]bool{}}
	// suiteScope: the suite's manager handles the credentials that carry
	// no shard label.
	suiteScope = Scope{Selector: mustSelector("!" + shardLabel)}
)

// operatorNamespace holds the key Secrets of ClusterVantageCredentials,
// as the manager's own namespace does in a cluster.
const operatorNamespace = "vantage-operator"

// shardLabel is the label that assigns credentials to shards (README,
// sharding), by Flux's convention.
const shardLabel = "sharding.vantage.omnivector.solutions/key"

func mustSelector(s string) labels.Selector {
	sel, err := labels.Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

// awayNamespaces is a set of namespaces where every write the reconciler
// makes fails with 503 Service Unavailable.
type awayNamespaces struct {
	mu  sync.Mutex
	set map[string]bool
}

func (a *awayNamespaces) toggle(ns string, away bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.set[ns] = away
}

func (a *awayNamespaces) check(obj client.Object) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.set[obj.GetNamespace()] {
		return apierrors.NewServiceUnavailable("the API server is away (test)")
	}
	return nil
}

// awayClient is a client whose writes fail in the namespaces of away.
type awayClient struct {
	client.Client
	away *awayNamespaces
}

func (c awayClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if err := c.away.check(obj); err != nil {
		return err
	}
	return c.Client.Create(ctx, obj, opts...)
}

func (c awayClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if err := c.away.check(obj); err != nil {
		return err
	}
	return c.Client.Update(ctx, obj, opts...)
}

func (c awayClient) Status() client.SubResourceWriter {
	return awayStatus{SubResourceWriter: c.Client.Status(), away: c.away}
}

type awayStatus struct {
	client.SubResourceWriter
	away *awayNamespaces
}

func (s awayStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if err := s.away.check(obj); err != nil {
		return err
	}
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// countingReader counts the live reads that pass through it.
type countingReader struct {
	client.Reader
	mu     sync.Mutex
	counts map[types.NamespacedName]int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.mu.Lock()
	c.counts[key]++
	c.mu.Unlock()
	return c.Reader.Get(ctx, key, obj, opts...)
}

// of returns how many live reads of ns/name there were.
func (c *countingReader) of(ns, name string) func() int {
	return func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.counts[types.NamespacedName{Namespace: ns, Name: name}]
	}
}

// limitedExchanger sends the requests of clients named limited-* through a
// token client with a tight per-host rate limit, so the tests can see the
// operator wait for the client-side limits without slowing the others.
type limitedExchanger struct{ normal, limited oauth.Exchanger }

func (e limitedExchanger) Exchange(ctx context.Context, req oauth.Request) (*oauth.Token, error) {
	if strings.HasPrefix(req.ClientID, "limited-") {
		return e.limited.Exchange(ctx, req)
	}
	return e.normal.Exchange(ctx, req)
}

// syncBuffer collects every log line the manager writes, so tests can prove
// that no token or secret ever reaches the logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logs = &syncBuffer{}
	// The most verbose level there is, so the leak test covers every log line.
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, logs)), zap.UseDevMode(true), zap.Level(zapcore.Level(-10))))

	ctx, cancel = context.WithCancel(context.TODO())

	Expect(vantagev1alpha1.AddToScheme(scheme.Scheme)).To(Succeed())

	By("bootstrapping test environment")
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	// Retrieve the first found binary directory to allow running tests from IDEs
	if dir := firstFoundEnvTestBinaryDir(); dir != "" {
		testEnv.BinaryAssetsDirectory = dir
	}

	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	Expect(cfg).NotTo(BeNil())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme.Scheme})
	Expect(err).NotTo(HaveOccurred())

	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())

	tokenSrv = oauthtest.NewServer()
	DeferCleanup(tokenSrv.Close)
	tlsSrv = oauthtest.NewTLSServer()
	DeferCleanup(tlsSrv.Close)

	By("starting the manager with the fake token server")
	opts := ctrl.Options{Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}}
	// The suite's manager is the shard of credentials without a shard
	// label; sharding_test.go starts the others.
	ManagerOptions(&opts, suiteScope)
	mgr, err := ctrl.NewManager(cfg, opts)
	Expect(err).NotTo(HaveOccurred())

	policy := refresh.DefaultPolicy()
	// Short backoffs keep the transient-failure tests quick; stalled retries
	// stay long so a stalled credential makes no request during a test.
	policy.BackoffBase = time.Second
	mgrMetrics = prometheus.NewRegistry()
	liveReads = &countingReader{Reader: mgr.GetAPIReader(), counts: map[types.NamespacedName]int{}}
	// The recorder cmd/main.go uses, so the event tests cover it.
	events, err := eventrecorder.NewForConfig(ctx, mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(),
		"vantage-credential-operator", logf.Log.WithName("events"))
	Expect(err).NotTo(HaveOccurred())
	r := &VantageCredentialReconciler{
		Client:    awayClient{Client: mgr.GetClient(), away: apiAway},
		APIReader: liveReads,
		Scheme:    mgr.GetScheme(),
		Recorder:  events,
		Exchanger: limitedExchanger{
			normal: oauth.NewClient(oauth.Options{Timeout: 5 * time.Second}),
			// One request every 2 s: a second one at once is held back.
			limited: oauth.NewClient(oauth.Options{Timeout: 5 * time.Second, RequestsPerSecond: 0.5, Burst: 1}),
		},
		Checker: oauth.NewClient(oauth.Options{Timeout: 5 * time.Second}),
		Clock:   clock.RealClock{},
		Policy:  policy,
		// The allowlist admits the fake server only, so a credential naming
		// any other token host shows the refusal.
		Endpoints: Endpoints{TokenURL: tokenSrv.TokenURL(), APIURL: tokenSrv.URL(), AllowedTokenHosts: []string{"127.0.0.1"}},
		Metrics:   NewMetrics(mgrMetrics),
		Scope:     suiteScope,

		ClusterCredentialNamespace: operatorNamespace,
		EnableRolloutRestart:       true,
	}
	Expect(r.SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: 4})).To(Succeed())

	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	By("tearing down the test environment")
	cancel()
	Eventually(func() error { return testEnv.Stop() }, time.Minute, time.Second).Should(Succeed())
})

// firstFoundEnvTestBinaryDir finds the control plane hack/envtest-binaries.sh
// built under bin/k8s, so the suite also runs from an editor without
// KUBEBUILDER_ASSETS set.
func firstFoundEnvTestBinaryDir() string {
	basePath := filepath.Join("..", "..", "bin", "k8s")
	entries, err := os.ReadDir(basePath)
	if err != nil {
		logf.Log.Error(err, "Failed to read directory", "path", basePath)
		return ""
	}
	for _, entry := range entries {
		if entry.IsDir() {
			return filepath.Join(basePath, entry.Name())
		}
	}
	return ""
}
