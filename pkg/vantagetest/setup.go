package vantagetest

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	internalcontroller "github.com/omnivector-solutions/vantage-credential-operator/internal/controller"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

// AddToScheme adds the operator's kinds to a scheme, for your manager and
// clients.
func AddToScheme(s *runtime.Scheme) error { return vantagev1alpha1.AddToScheme(s) }

// ManagerOptions sets what the reconcilers need of the manager, as the
// operator's own binary does, before ctrl.NewManager: its cache then holds
// only the Secrets the operator writes (label
// app.kubernetes.io/managed-by: vantage-credential-operator). If your own
// controllers read other Secrets through the manager's cache, give the
// operator a manager of its own.
func ManagerOptions(o *ctrl.Options) {
	internalcontroller.ManagerOptions(o, internalcontroller.Scope{})
}

// Options tune Setup; the zero value is what a test usually wants.
type Options struct {
	// ClusterCredentialNamespace holds the key Secrets of
	// ClusterVantageCredentials; empty leaves that kind without a key.
	ClusterCredentialNamespace string
	// EnableRolloutRestart lets spec.rolloutRestart patch workloads.
	EnableRolloutRestart bool
}

// Setup registers the operator's reconcilers, both kinds, with mgr. Tokens
// are requested from ts unless a credential or its key names another
// token URL; only ts's host may receive a client secret. Metrics go to a
// registry of their own, not the global one.
func Setup(ctx context.Context, mgr ctrl.Manager, ts *TokenServer, opts Options) error {
	client := oauth.NewClient(oauth.Options{Timeout: 10 * time.Second, UserAgent: "vantage-credential-operator (vantagetest)"})
	r := &internalcontroller.VantageCredentialReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Scheme:    mgr.GetScheme(),
		Recorder:  mgr.GetEventRecorder("vantage-credential-operator"),
		Exchanger: client,
		Checker:   client,
		Clock:     clock.RealClock{},
		Policy:    refresh.DefaultPolicy(),
		Endpoints: internalcontroller.Endpoints{TokenURL: ts.TokenURL(), APIURL: ts.APIURL(), AllowedTokenHosts: []string{"127.0.0.1"}},
		Metrics:   internalcontroller.NewMetrics(prometheus.NewRegistry()),

		ClusterCredentialNamespace: opts.ClusterCredentialNamespace,
		EnableRolloutRestart:       opts.EnableRolloutRestart,
	}
	// A suite may start a manager per test: the controller names repeat.
	return r.SetupWithManager(ctx, mgr, controller.Options{SkipNameValidation: ptr.To(true)})
}
