package controller

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

// Managers with --watch-label-selector and --watch-namespaces beside the
// suite's own, which handles only credentials without a shard label. Each
// has a metrics registry of its own: a credential's series there shows
// which managers handled it.
var _ = Describe("sharding and scoped managers", Ordered, func() {
	var (
		shardA, shardB, scoped *prometheus.Registry
		watched, unwatched     string
	)
	BeforeAll(func() {
		shardCtx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		watched, unwatched = newNamespace(), newNamespace()
		shardA = startShard(shardCtx, shardLabel+"=shard-a", "")
		shardB = startShard(shardCtx, shardLabel+"=shard-b", "")
		scoped = startShard(shardCtx, shardLabel+"=scoped", watched)
	})

	// handles says which of the managers has a Ready series for the
	// credential, in the order suite, A, B, scoped.
	handles := func(ns, name string) func() []bool {
		return func() []bool {
			var out []bool
			for _, reg := range []*prometheus.Registry{mgrMetrics, shardA, shardB, scoped} {
				out = append(out, hasReadySeries(reg, ns, name))
			}
			return out
		}
	}
	labelled := func(shard string) func(*vantagev1alpha1.VantageCredential) {
		return func(c *vantagev1alpha1.VantageCredential) {
			if shard != "" {
				c.Labels = map[string]string{shardLabel: shard}
			}
		}
	}

	It("each manager handles its own credentials and no other's: one token request each", func() {
		ns := newNamespace()
		id := newClient("s3cret")
		saSecret(ns, "sa", keyFile(id, "s3cret"))
		newCredential(ns, "a", "sa", labelled("shard-a"))
		newCredential(ns, "b", "sa", labelled("shard-b"))
		newCredential(ns, "none", "sa", labelled(""))
		for _, name := range []string{"a", "b", "none"} {
			waitReady(ns, name)
		}
		Eventually(handles(ns, "a"), timeout, interval).Should(Equal([]bool{false, true, false, false}))
		Eventually(handles(ns, "b"), timeout, interval).Should(Equal([]bool{false, false, true, false}))
		Eventually(handles(ns, "none"), timeout, interval).Should(Equal([]bool{true, false, false, false}))
		// Two managers on one credential would each request and write.
		Consistently(requestsFor(id), quiet, interval).Should(Equal(3))
	})

	It("moves a relabelled credential to its new shard, with no new token", func() {
		ns := newNamespace()
		id := newClient("s3cret")
		saSecret(ns, "sa", keyFile(id, "s3cret"))
		c := newCredential(ns, "moving", "sa", labelled("shard-a"))
		waitReady(ns, "moving")
		Eventually(handles(ns, "moving"), timeout, interval).Should(Equal([]bool{false, true, false, false}))
		token := targetToken(ns, "moving")()

		patchCredential(c, func(c *vantagev1alpha1.VantageCredential) { c.Labels[shardLabel] = "shard-b" })
		Eventually(handles(ns, "moving"), timeout, interval).Should(Equal([]bool{false, false, true, false}),
			"shard B takes it over, shard A forgets it")
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
		Expect(targetToken(ns, "moving")()).To(Equal(token))
	})

	It("shards ClusterVantageCredentials by the same label", func() {
		ns := newNamespace()
		relabel(ns, map[string]string{selectorKey: "sharded"})
		id := newClient("s3cret")
		saSecret(operatorNamespace, "sharded-sa", keyFile(id, "s3cret"))
		c := &vantagev1alpha1.ClusterVantageCredential{
			ObjectMeta: metav1.ObjectMeta{Name: "sharded", Labels: map[string]string{shardLabel: "shard-b"}},
			Spec: vantagev1alpha1.VantageCredentialSpec{
				ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "sharded-sa"},
				Target: &vantagev1alpha1.TargetSpec{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{selectorKey: "sharded"}}},
			},
		}
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, c))).To(Succeed()) })
		waitClusterReady("sharded")
		Eventually(handles("", "sharded"), timeout, interval).Should(Equal([]bool{false, false, true, false}),
			"shard B alone; the scoped manager handles no cluster-scoped kind")
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
		Expect(targetToken(ns, "sharded")()).NotTo(BeEmpty())
	})

	It("--watch-namespaces: a credential elsewhere is not even read", func() {
		id := newClient("s3cret")
		for _, ns := range []string{watched, unwatched} {
			saSecret(ns, "sa", keyFile(id, "s3cret"))
			newCredential(ns, "c", "sa", labelled("scoped"))
		}
		waitReady(watched, "c")
		Eventually(handles(watched, "c"), timeout, interval).Should(Equal([]bool{false, false, false, true}))
		Consistently(condition(unwatched, "c", vantagev1alpha1.ConditionReady), quiet, interval).Should(Equal("absent"))
		Expect(handles(unwatched, "c")()).To(Equal([]bool{false, false, false, false}))
		Expect(requestsFor(id)()).To(Equal(1))
	})
})

// startShard starts a manager of its own on the suite's control plane,
// with the given --watch-label-selector and --watch-namespaces, until ctx
// ends, and returns its metrics registry.
func startShard(ctx context.Context, selector, namespaces string, mutate ...func(*VantageCredentialReconciler)) *prometheus.Registry {
	GinkgoHelper()
	return startShardAs(ctx, cfg, selector, namespaces, mutate...)
}

// startShardAs is startShard for a manager with the identity of as, such
// as a ServiceAccount's token, with exactly the permissions RBAC gives it.
func startShardAs(ctx context.Context, as *rest.Config, selector, namespaces string, mutate ...func(*VantageCredentialReconciler)) *prometheus.Registry {
	GinkgoHelper()
	scope, err := ParseScope(selector, namespaces)
	Expect(err).NotTo(HaveOccurred())
	opts := ctrl.Options{Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}}
	ManagerOptions(&opts, scope)
	mgr, err := ctrl.NewManager(as, opts)
	Expect(err).NotTo(HaveOccurred())
	reg := prometheus.NewRegistry()
	client := oauth.NewClient(oauth.Options{Timeout: 5 * time.Second})
	r := &VantageCredentialReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Scheme:    mgr.GetScheme(),
		Recorder:  mgr.GetEventRecorder("vantage-credential-operator"),
		Exchanger: client,
		Checker:   client,
		Clock:     clock.RealClock{},
		Policy:    refresh.DefaultPolicy(),
		Endpoints: Endpoints{TokenURL: tokenSrv.TokenURL(), APIURL: tokenSrv.URL(), AllowedTokenHosts: []string{"127.0.0.1"}},
		Metrics:   NewMetrics(reg),
		Scope:     scope,

		ClusterCredentialNamespace: operatorNamespace,
	}
	for _, m := range mutate {
		m(r)
	}
	// One process, several managers: the controller's name is taken.
	Expect(r.SetupWithManager(ctx, mgr, controller.Options{SkipNameValidation: ptr.To(true)})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return reg
}

// hasReadySeries says whether reg holds the credential's Ready gauge.
func hasReadySeries(reg *prometheus.Registry, ns, name string) bool {
	families, err := reg.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "vantage_credential_ready" {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["namespace"] == ns && got["name"] == name {
				return true
			}
		}
	}
	return false
}
