//go:build bench

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

// TestRestarts measures spec.rolloutRestart: BENCH_WORKLOADS credentials
// (default 1,000), each restarting a Deployment created before it. It
// reports the time until every Deployment was restarted for the first
// token and, after a refresh of all, for the second; the workload writes
// each took (one per Deployment and token, at best); and the writes and
// token requests a forced resync and a restart of the manager make, which
// must be none.
func TestRestarts(t *testing.T) {
	log.SetLogger(logr.Discard())
	n := envInt("BENCH_WORKLOADS", 1000)
	root, dir, cp, cl := startPlane(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	fakeURL := oneClient(t, ctx, cl, root, dir)
	parallel(n, func(i int) error { return cl.Create(ctx, deployment(name(i))) })
	metricsPort := freePort(t)
	startManager := func(name string) *utils.Process {
		p, err := utils.StartProcess(filepath.Join(dir, name+".log"), filepath.Join(root, "bin/manager"),
			"--kubeconfig", cp.Kubeconfig, "--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--metrics-secure=false",
			"--health-probe-bind-address", "0", "--default-token-url", fakeURL+oauthtest.TokenPath, "--default-api-url", fakeURL,
			"--enable-rollout-restart")
		must(t, err)
		waitWorkers(t, filepath.Join(dir, name+".log"))
		return p
	}
	mgr := startManager("manager")
	defer func() { _ = mgr.Stop(10 * time.Second) }()

	// Deployment writes, and the restart record each Deployment holds.
	var mu sync.Mutex
	holds := map[string]string{}
	var workloadWrites, otherWrites atomic.Int64
	follow(t, ctx, cl, &appsv1.DeploymentList{}, []client.ListOption{client.InNamespace(namespace)}, func(o client.Object) {
		workloadWrites.Add(1)
		mu.Lock()
		defer mu.Unlock()
		holds[o.GetName()] = o.(*appsv1.Deployment).Spec.Template.Annotations[vantagev1alpha1.RestartedForAnnotation]
	})
	follow(t, ctx, cl, &corev1.SecretList{}, []client.ListOption{client.InNamespace(namespace),
		client.MatchingLabels{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue}}, func(client.Object) { otherWrites.Add(1) })
	follow(t, ctx, cl, &vantagev1alpha1.VantageCredentialList{}, []client.ListOption{client.InNamespace(namespace)},
		func(client.Object) { otherWrites.Add(1) })
	// restarted counts the Deployments whose record differs from before.
	restarted := func(before map[string]string) int {
		mu.Lock()
		defer mu.Unlock()
		count := 0
		for i := range n {
			if h := holds[name(i)]; h != "" && h != before[name(i)] {
				count++
			}
		}
		return count
	}
	snapshot := func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]string, len(holds))
		for k, v := range holds {
			out[k] = v
		}
		return out
	}
	writes := func() int64 { return workloadWrites.Load() + otherWrites.Load() }

	start := time.Now()
	parallel(n, func(i int) error {
		return cl.Create(ctx, &vantagev1alpha1.VantageCredential{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name(i)},
			Spec: vantagev1alpha1.VantageCredentialSpec{
				ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "sa"},
				Target:                  &vantagev1alpha1.TargetSpec{Name: ptr.To("token-" + name(i))},
				RolloutRestart: &vantagev1alpha1.RolloutRestartSpec{
					Targets: []vantagev1alpha1.RolloutRestartTarget{{Kind: vantagev1alpha1.WorkloadDeployment, Name: name(i)}},
				},
			},
		})
	})
	waitFor(t, 10*time.Minute, func() bool { return restarted(nil) == n })
	first := time.Since(start)
	time.Sleep(2 * time.Second)
	firstWrites := workloadWrites.Load()

	// Every credential refreshed at once: each Deployment restarts again.
	before := snapshot()
	workloadWrites.Store(0)
	start = time.Now()
	parallel(n, func(i int) error {
		c := &vantagev1alpha1.VantageCredential{}
		c.Namespace, c.Name = namespace, name(i)
		return cl.Patch(ctx, c, client.RawPatch(types.MergePatchType,
			fmt.Appendf(nil, `{"metadata":{"annotations":{%q:"bench"}}}`, vantagev1alpha1.RefreshRequestedAnnotation)))
	})
	waitFor(t, 10*time.Minute, func() bool { return restarted(before) == n })
	second := time.Since(start)
	time.Sleep(2 * time.Second)
	secondWrites := workloadWrites.Load()

	// A forced resync: every credential reconciled, nothing to restart.
	was := writes()
	parallel(n, func(i int) error {
		c := &vantagev1alpha1.VantageCredential{}
		c.Namespace, c.Name = namespace, name(i)
		return cl.Patch(ctx, c, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"bench/touched":"1"}}}`)))
	})
	time.Sleep(quiet)
	resyncWrites := writes() - was - int64(n) // minus our touches

	// A restart of the manager: no token request, no write, no restart.
	must(t, mgr.Stop(10*time.Second))
	requests := fakeRequests(t, fakeURL)
	was = writes()
	mgr = startManager("manager-restarted")
	time.Sleep(quiet)
	restartWrites := writes() - was
	restartRequests := fakeRequests(t, fakeURL) - requests

	m := scrape(metricsPort)
	fmt.Printf("BENCH restarts workloads=%d first_all_restarted_s=%.2f first_workload_writes=%d refresh_all_restarted_s=%.2f refresh_workload_writes=%d resync_writes=%d restart_writes=%d restart_token_requests=%d rss_mib=%.1f heap_mib=%.1f\n",
		n, first.Seconds(), firstWrites, second.Seconds(), secondWrites, resyncWrites, restartWrites, restartRequests,
		m["process_resident_memory_bytes"]/(1<<20), m["go_memstats_heap_inuse_bytes"]/(1<<20))
}

// deployment is one replica reading its token from the environment.
func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app",
					EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "token-" + name}}}}}}},
			},
		},
	}
}
