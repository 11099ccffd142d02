// Command manager runs the vantage-credential-operator: it wires the
// controller-runtime manager, the token client and the reconciler. It holds
// no logic of its own.
package main

import (
	"crypto/tls"
	"flag"
	"os"
	"path/filepath"
	"time"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/cachesync"
	internalcontroller "github.com/omnivector-solutions/vantage-credential-operator/internal/controller"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/eventrecorder"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/metricsauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(vantagev1alpha1.AddToScheme(scheme))
}

func main() {
	var (
		metricsAddr, probeAddr              string
		metricsCertPath, metricsCertName    string
		metricsCertKey                      string
		enableLeaderElection, secureMetrics bool
		enableHTTP2                         bool
		leaderElectionNamespace             string
		leaderElectionID                    string
		watchSelector, watchNamespaces      string
		clusterCredentialNamespace          string
		tokenURL, apiURL                    string
		allowedTokenHosts                   string
		defaultLifetime, tokenTimeout       time.Duration
		tokenRPS                            float64
		tokenBurst, tokenConcurrency        int
		maxConcurrentReconciles             int
		kubeAPIQPS                          float64
		kubeAPIBurst                        int
		pprofAddr                           string
		cacheSyncTimeout                    time.Duration
		leaseDuration, renewDeadline        time.Duration
		retryPeriod                         time.Duration
		gcPercent                           int
		memoryLimit                         string
		memoryLimitRatio                    float64
		enableRolloutRestart                bool
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	flag.BoolVar(&enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. Enabling this will ensure there is only one active controller manager.")
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a follower waits after the leader's last renewal before it takes the lease over.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader tries to renew its lease before it steps down and exits, for instance while the API server is away; below the lease duration.")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often leader-election clients try to acquire or renew the lease.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; only needed out of cluster (in a Pod it is the Pod's namespace).")
	flag.StringVar(&leaderElectionID, "leader-election-id", "vantage-credential-operator.vantage.omnivector.solutions",
		"Name of the leader-election Lease; each shard (--watch-label-selector) needs its own.")
	flag.StringVar(&watchSelector, "watch-label-selector", "",
		"Handle only the credentials with these labels, such as sharding.vantage.omnivector.solutions/key=shard1 (empty: all).")
	flag.StringVar(&watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to watch; the caches hold nothing from others (empty: all namespaces).")
	flag.StringVar(&clusterCredentialNamespace, "cluster-credential-namespace", os.Getenv("POD_NAMESPACE"),
		"Namespace holding the key Secrets of ClusterVantageCredentials (default: the manager's own, from POD_NAMESPACE); required out of cluster for that kind.")
	flag.BoolVar(&enableRolloutRestart, "enable-rollout-restart", false,
		"Let spec.rolloutRestart restart Deployments, StatefulSets and DaemonSets; needs get, list, watch and patch on them (config/rollout-restart).")
	flag.BoolVar(&secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS, with authentication and authorization. Use --metrics-secure=false to use HTTP instead.")
	flag.StringVar(&metricsCertPath, "metrics-cert-path", "", "The directory that contains the metrics server certificate.")
	flag.StringVar(&metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	flag.StringVar(&metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics server")
	flag.StringVar(&tokenURL, "default-token-url", internalcontroller.DefaultEndpoints.TokenURL,
		"Token endpoint used when neither the credential nor its key names one.")
	flag.StringVar(&apiURL, "default-api-url", internalcontroller.DefaultEndpoints.APIURL,
		"Vantage API URL written as VANTAGE_API_URL when neither the credential nor its key names one.")
	flag.StringVar(&allowedTokenHosts, "allowed-token-hosts", "",
		"Comma-separated token hosts client secrets may be sent to: host, host:port or *.domain (empty: any). "+
			"Credentials naming another token host get Ready=False, reason TokenURLNotAllowed.")
	flag.DurationVar(&defaultLifetime, "default-token-lifetime", time.Hour,
		"Lifetime assumed for a token whose response has no expires_in and which is not a JWT with exp.")
	flag.DurationVar(&tokenTimeout, "token-request-timeout", 10*time.Second, "Timeout of one token request.")
	flag.Float64Var(&tokenRPS, "token-requests-per-second", 50,
		"Client-side limit on token requests per second to each token host (0: no limit).")
	flag.IntVar(&tokenBurst, "token-request-burst", 100, "Token requests to one host allowed in a burst above the per-second limit.")
	flag.IntVar(&tokenConcurrency, "token-requests-in-flight", 4,
		"Token requests in flight to one host at most (0: no limit); keep it below --max-concurrent-reconciles so a slow token server cannot take every worker.")
	flag.IntVar(&maxConcurrentReconciles, "max-concurrent-reconciles", 16, "Credentials reconciled in parallel.")
	flag.Float64Var(&kubeAPIQPS, "kube-api-qps", 0,
		"Client-side limit on requests per second to the Kubernetes API server; 0 leaves it off and relies on the server's priority and fairness.")
	flag.IntVar(&kubeAPIBurst, "kube-api-burst", 0, "Requests to the Kubernetes API server allowed in a burst above --kube-api-qps.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Serve net/http/pprof on this address, such as 127.0.0.1:6060 (empty: off).")
	flag.DurationVar(&cacheSyncTimeout, "cache-sync-timeout", 5*time.Minute,
		"Exit with an error naming the resource when the caches have not synced within this long after start "+
			"(missing RBAC, unreachable API server), so the pod restarts visibly instead of idling.")
	flag.IntVar(&gcPercent, "gc-percent", 30,
		"Garbage collection target: the heap grows by this percentage between collections (GOGC, which wins when set).")
	flag.StringVar(&memoryLimit, "memory-limit", os.Getenv("MEMORY_LIMIT"),
		"The container's memory limit, such as 128Mi (default: $MEMORY_LIMIT, which config/manager sets from the Deployment's limit); "+
			"the Go runtime then collects harder as its memory nears --memory-limit-ratio of it (GOMEMLIMIT, which wins when set). Empty: no soft limit.")
	flag.Float64Var(&memoryLimitRatio, "memory-limit-ratio", 0.75,
		"Fraction of --memory-limit the Go runtime keeps its own memory under; the rest is for the binary's pages (0: no soft limit).")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	// The manager's live heap is small and its CPU mostly idle, so
	// collecting at 30% heap growth rather than Go's 100% costs little
	// (garbage collection 15 -> 19% of the manager's CPU while 10,000
	// credentials converge) and keeps the heap, and the RSS, lower
	// (docs/benchmark.md). GOGC and GOMEMLIMIT in the environment win.
	gc, err := chooseGC(os.LookupEnv, gcPercent, memoryLimit, memoryLimitRatio)
	if err != nil {
		setupLog.Error(err, "invalid memory flags")
		os.Exit(1)
	}
	gc.apply()

	// Endpoint settings are checked before anything starts, so a typo in a
	// flag stops the operator instead of failing every credential.
	endpoints := internalcontroller.Endpoints{TokenURL: tokenURL, APIURL: apiURL}
	if endpoints.AllowedTokenHosts, err = internalcontroller.ParseHostAllowlist(allowedTokenHosts); err == nil {
		err = endpoints.Validate()
	}
	if err != nil {
		setupLog.Error(err, "invalid endpoint flags")
		os.Exit(1)
	}
	scope, err := internalcontroller.ParseScope(watchSelector, watchNamespaces)
	if err != nil {
		setupLog.Error(err, "invalid watch flags")
		os.Exit(1)
	}
	setupLog.Info("watching", "scope", scope.String())

	// HTTP/2 is off by default: the HTTP/2 Stream Cancellation and Rapid
	// Reset CVEs (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) {
			setupLog.Info("disabling http/2")
			c.NextProtos = []string{"http/1.1"}
		})
	}

	metricsServerOptions := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if secureMetrics {
		metricsServerOptions.FilterProvider = metricsauth.WithAuthenticationAndAuthorization
	}
	var metricsCertWatcher *certwatcher.CertWatcher
	if len(metricsCertPath) > 0 {
		setupLog.Info("Initializing metrics certificate watcher using provided certificates",
			"metrics-cert-path", metricsCertPath, "metrics-cert-name", metricsCertName, "metrics-cert-key", metricsCertKey)
		var err error
		metricsCertWatcher, err = certwatcher.New(
			filepath.Join(metricsCertPath, metricsCertName),
			filepath.Join(metricsCertPath, metricsCertKey),
		)
		if err != nil {
			setupLog.Error(err, "to initialize metrics certificate watcher")
			os.Exit(1)
		}
		metricsServerOptions.TLSOpts = append(metricsServerOptions.TLSOpts, func(config *tls.Config) {
			config.GetCertificate = metricsCertWatcher.GetCertificate
		})
	}

	mgrOptions := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsServerOptions,
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          enableLeaderElection,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: leaderElectionNamespace,
		LeaseDuration:           &leaseDuration,
		RenewDeadline:           &renewDeadline,
		RetryPeriod:             &retryPeriod,
		PprofBindAddress:        pprofAddr,
		// The manager exits right after losing the lease, so a new leader
		// never overlaps with this one's token requests.
		LeaderElectionReleaseOnCancel: true,
		// Below the Deployment's terminationGracePeriodSeconds; see shutdown.go.
		GracefulShutdownTimeout: ptr.To(gracefulShutdownTimeout),
	}
	internalcontroller.ManagerOptions(&mgrOptions, scope)
	// The caches report their list errors here, so readiness and the sync
	// deadline can say which resource cannot be listed and why.
	cacheSync := cachesync.NewTracker()
	mgrOptions.Cache.DefaultWatchErrorHandler = cacheSync.WatchErrorHandler
	restConfig := ctrl.GetConfigOrDie()
	if kubeAPIQPS > 0 {
		restConfig.QPS, restConfig.Burst = float32(kubeAPIQPS), max(kubeAPIBurst, 1)
	}
	mgr, err := ctrl.NewManager(restConfig, mgrOptions)
	if err != nil {
		setupLog.Error(err, "unable to start manager")
		os.Exit(1)
	}

	exchanger := oauth.NewClient(oauth.Options{
		Timeout:              tokenTimeout,
		DefaultLifetime:      defaultLifetime,
		RequestsPerSecond:    tokenRPS,
		Burst:                tokenBurst,
		MaxConcurrentPerHost: tokenConcurrency,
		UserAgent:            "vantage-credential-operator",
	})
	ctx := ctrl.SetupSignalHandler()
	// Events go to events.k8s.io as with mgr.GetEventRecorder, from a sink
	// that remembers little of each (internal/eventrecorder).
	eventRecorder, err := eventrecorder.NewForConfig(ctx, mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(),
		"vantage-credential-operator", ctrl.Log.WithName("events"))
	if err != nil {
		setupLog.Error(err, "unable to set up the event recorder")
		os.Exit(1)
	}
	r := &internalcontroller.VantageCredentialReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Scheme:    mgr.GetScheme(),
		Recorder:  eventRecorder,
		Exchanger: exchanger,
		Checker:   exchanger,
		Clock:     clock.RealClock{},
		Policy:    refresh.DefaultPolicy(),
		Endpoints: endpoints,
		Metrics:   internalcontroller.NewMetrics(metrics.Registry),
		CacheSync: cacheSync,
		Scope:     scope,

		ClusterCredentialNamespace: clusterCredentialNamespace,
		EnableRolloutRestart:       enableRolloutRestart,
	}
	if err := r.SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: maxConcurrentReconciles}); err != nil {
		setupLog.Error(err, "unable to create controller", "controller", "VantageCredential")
		os.Exit(1)
	}

	if metricsCertWatcher != nil {
		setupLog.Info("Adding metrics certificate watcher to manager")
		if err := mgr.Add(metricsCertWatcher); err != nil {
			setupLog.Error(err, "unable to add metrics certificate watcher to manager")
			os.Exit(1)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up health check")
		os.Exit(1)
	}
	// Ready once every informer has synced: a follower under leader election
	// is then ready to take over. /healthz stays a liveness ping.
	if err := mgr.AddReadyzCheck("informers", cacheSync.Check); err != nil {
		setupLog.Error(err, "unable to set up ready check")
		os.Exit(1)
	}

	syncFailed := make(chan error, 1)
	go func() {
		if err := cacheSync.WaitSynced(ctx, clock.RealClock{}, cacheSyncTimeout, setupLog); err != nil {
			syncFailed <- err
		}
	}()
	setupLog.Info("starting manager")
	if err := runManager(ctx, clock.RealClock{}, mgr.Start, syncFailed, cacheSync.Synced); err != nil {
		setupLog.Error(err, "exiting")
		os.Exit(1)
	}
}
