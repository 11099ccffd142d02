package vantagetest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/omnivector-solutions/vantage-credential-operator/pkg/vantagetest"
)

// A suite of your own: envtest with the operator's CRDs, the reconciler in
// your manager against a fake token server, and a credential whose Secret
// your code then reads; then a secretless credential, authenticating with a
// ServiceAccount's tokens. KUBEBUILDER_ASSETS must name the envtest binaries,
// as for any envtest suite.
func Example() {
	ctrl.SetLogger(logr.Discard())
	crds, err := vantagetest.CRDs()
	check(err)
	env := &envtest.Environment{CRDs: crds, BinaryAssetsDirectory: assets()}
	cfg, err := env.Start()
	check(err)
	ctx, cancel := context.WithCancel(context.Background())
	// The manager stops before the control plane it talks to.
	defer func() { cancel(); _ = env.Stop() }()

	tokens := vantagetest.NewTokenServer()
	defer tokens.Close()
	tokens.AddClient("ci-runner", "s3cret", time.Hour)

	scheme := runtime.NewScheme()
	check(clientgoscheme.AddToScheme(scheme))
	check(vantagetest.AddToScheme(scheme))
	opts := ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}}
	vantagetest.ManagerOptions(&opts)
	mgr, err := ctrl.NewManager(cfg, opts)
	check(err)
	check(vantagetest.Setup(ctx, mgr, tokens, vantagetest.Options{}))
	go func() { check(mgr.Start(ctx)) }()

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	check(err)
	check(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}))
	check(c.Create(ctx, vantagetest.ServiceAccountSecret("team-a", "vantage-sa", "ci-runner", "s3cret")))
	check(c.Create(ctx, vantagetest.Credential("team-a", "ci-runner", "vantage-sa", "jobs:read")))

	cred, err := vantagetest.WaitReady(ctx, c, types.NamespacedName{Namespace: "team-a", Name: "ci-runner"}, 30*time.Second)
	check(err)
	target := &corev1.Secret{}
	check(c.Get(ctx, types.NamespacedName{Namespace: "team-a", Name: cred.Status.TargetSecretName}, target))
	var keys []string
	for k := range target.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println("Secret", target.Name, "holds", keys)
	fmt.Println("it holds the token the server issued:", string(target.Data["VANTAGE_API_KEY"]) == tokens.IssuedTokens()[0])
	fmt.Println("token requests:", tokens.Requests("ci-runner"))

	// Secretless: the server trusts the cluster's tokens of ServiceAccount
	// team-a/reporting for client "reporting", and the credential names that
	// ServiceAccount, which lends its tokens, instead of a key Secret.
	check(tokens.AddServiceAccountClient(ctx, cfg, "reporting", "team-a", "reporting", time.Hour))
	check(c.Create(ctx, vantagetest.TokenSourceServiceAccount("team-a", "reporting")))
	check(c.Create(ctx, vantagetest.ServiceAccountCredential("team-a", "reporting", "reporting", "reporting", "clusters:read")))
	cred, err = vantagetest.WaitReady(ctx, c, types.NamespacedName{Namespace: "team-a", Name: "reporting"}, 30*time.Second)
	check(err)
	check(c.Get(ctx, types.NamespacedName{Namespace: "team-a", Name: cred.Status.TargetSecretName}, target))
	fmt.Println("Secret", target.Name, "holds the second token:", string(target.Data["VANTAGE_API_KEY"]) == tokens.IssuedTokens()[1])
	fmt.Println("token requests:", tokens.Requests("reporting"))
	// Output:
	// Secret ci-runner holds [VANTAGE_API_KEY VANTAGE_API_URL access_token expires_at scope token_type]
	// it holds the token the server issued: true
	// token requests: 1
	// Secret reporting holds the second token: true
	// token requests: 1
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}

// assets is KUBEBUILDER_ASSETS, or for this repository's own make test the
// binaries hack/envtest-binaries.sh built; a suite of yours needs only the
// former.
func assets() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "bin", "k8s", "*"))
	if len(dirs) == 0 {
		return ""
	}
	return dirs[0]
}
