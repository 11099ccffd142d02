//go:build bench

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

// TestFanout measures one ClusterVantageCredential serving
// BENCH_NAMESPACES namespaces (default 1,000), all created before it: the
// time until every namespace holds the token, the token requests and
// writes that took, and the time one more matching namespace waits for its
// Secret.
func TestFanout(t *testing.T) {
	log.SetLogger(logr.Discard())
	n := envInt("BENCH_NAMESPACES", 1000)
	root, dir, cp, cl := startPlane(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	fakeURL := oneClient(t, ctx, cl, root, dir)
	tenant := func(i int) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("tenant-%05d", i), Labels: map[string]string{"vantage": "enabled"}}}
	}
	parallel(n, func(i int) error { return cl.Create(ctx, tenant(i)) })
	metricsPort := freePort(t)
	mgr, err := utils.StartProcess(filepath.Join(dir, "manager.log"), filepath.Join(root, "bin/manager"),
		"--kubeconfig", cp.Kubeconfig, "--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--metrics-secure=false",
		"--health-probe-bind-address", "0", "--default-token-url", fakeURL+oauthtest.TokenPath, "--default-api-url", fakeURL,
		"--cluster-credential-namespace", namespace)
	must(t, err)
	defer func() { _ = mgr.Stop(10 * time.Second) }()
	waitWorkers(t, filepath.Join(dir, "manager.log"))

	// Count writes at the API server: target Secrets by namespace, and the
	// credential's own events.
	var mu sync.Mutex
	writtenAt := map[string]time.Time{}
	var secretWrites, credentialWrites int
	follow(t, ctx, cl, &corev1.SecretList{}, []client.ListOption{client.MatchingLabels{vantagev1alpha1.ClusterCredentialLabel: "fanout"}}, func(o client.Object) {
		mu.Lock()
		defer mu.Unlock()
		secretWrites++
		if _, seen := writtenAt[o.GetNamespace()]; !seen {
			writtenAt[o.GetNamespace()] = time.Now()
		}
	})
	follow(t, ctx, cl, &vantagev1alpha1.ClusterVantageCredentialList{}, nil, func(client.Object) {
		mu.Lock()
		defer mu.Unlock()
		credentialWrites++
	})
	written := func() int { mu.Lock(); defer mu.Unlock(); return len(writtenAt) }

	start := time.Now()
	must(t, cl.Create(ctx, &vantagev1alpha1.ClusterVantageCredential{
		ObjectMeta: metav1.ObjectMeta{Name: "fanout"},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "sa"},
			Target: &vantagev1alpha1.TargetSpec{
				Name:              ptr.To("vantage-token"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"vantage": "enabled"}},
			},
		},
	}))
	waitFor(t, 10*time.Minute, func() bool { return written() == n })
	allWritten := time.Since(start)
	// The status follows the last Secret write; wait for it to settle.
	waitFor(t, time.Minute, func() bool {
		c := &vantagev1alpha1.ClusterVantageCredential{}
		return cl.Get(ctx, client.ObjectKey{Name: "fanout"}, c) == nil && int(c.Status.TargetNamespaces) == n
	})
	time.Sleep(2 * time.Second)
	mu.Lock()
	secrets, statuses := secretWrites, credentialWrites-1 // minus our create
	mu.Unlock()
	requests := fakeRequests(t, fakeURL)

	// One more namespace that matches: how long until it holds the token.
	relabelStart := time.Now()
	must(t, cl.Create(ctx, tenant(n)))
	waitFor(t, time.Minute, func() bool { return written() == n+1 })
	relabel := time.Since(relabelStart)

	m := scrape(metricsPort)
	fmt.Printf("BENCH fanout namespaces=%d all_written_s=%.2f token_requests=%d secret_writes=%d status_writes=%d relabel_s=%.2f rss_mib=%.1f heap_mib=%.1f\n",
		n, allWritten.Seconds(), requests, secrets, statuses, relabel.Seconds(),
		m["process_resident_memory_bytes"]/(1<<20), m["go_memstats_heap_inuse_bytes"]/(1<<20))
}
