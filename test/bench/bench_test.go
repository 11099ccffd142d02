//go:build bench

// Package bench measures the operator as a deployment runs it: the manager
// binary in its own process, against the local envtest control plane and
// the fake token server on loopback. `make bench` runs it; it ends with one
// BENCH line per configuration (see README "Benchmark").
//
// Writes are counted at the API server, through watches: every create or
// update of a target Secret or of a VantageCredential is one watch event.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

const (
	namespace = "bench"
	workers   = 16
	// quiet is the window in which nothing should happen.
	quiet = 15 * time.Second
)

func TestBench(t *testing.T) {
	log.SetLogger(logr.Discard())
	n := envInt("BENCH_CREDENTIALS", 1000)
	unrelated := envInt("BENCH_UNRELATED", 0)
	// BENCH_CLIENTS service accounts are spread over the credentials: 1
	// lets identical requests share exchanges, n gives each its own.
	clients := max(envInt("BENCH_CLIENTS", 1), 1)
	// BENCH_MODE=apikey runs the same benchmark with API keys
	// (apiKeySecretRef), BENCH_CLIENTS of them: each costs a check with the
	// Vantage API instead of a token request. BENCH_MODE=serviceaccount
	// runs it with BENCH_CLIENTS ServiceAccounts (serviceAccountRef): each
	// exchange costs a TokenRequest to the API server before the token
	// request.
	mode := os.Getenv("BENCH_MODE")
	if mode != "" && mode != "apikey" && mode != "serviceaccount" {
		t.Fatalf("BENCH_MODE=%s: want apikey, serviceaccount or nothing", mode)
	}
	configs := []int{unrelated}
	if unrelated > 0 {
		// The memory cost of unrelated Secrets is the difference between
		// the same run with and without them.
		configs = []int{0, unrelated}
	}
	var baseRSS float64
	for _, m := range configs {
		r := run(t, n, m, clients, mode)
		delta := ""
		if m == 0 {
			baseRSS = r.rssMiB
		} else {
			delta = fmt.Sprintf(" rss_unrelated_delta_mib=%.1f", r.rssMiB-baseRSS)
		}
		// An API key costs checks with the Vantage API, not token requests.
		label, requests := "", "token_requests"
		switch mode {
		case "apikey":
			label, requests = " mode=apikey", "api_checks"
		case "serviceaccount":
			label = " mode=serviceaccount"
		}
		line := fmt.Sprintf("BENCH%s credentials=%d unrelated=%d clients=%d all_ready_s=%.2f converge_p50_s=%.2f converge_max_s=%.2f %s=%d secret_writes=%d status_writes=%d steady_writes=%d resync_writes=%d restart_%s=%d restart_writes=%d rss_mib=%.1f peak_rss_mib=%.1f heap_mib=%.1f%s",
			label, n, m, clients, r.allReady.Seconds(), r.p50.Seconds(), r.max.Seconds(), requests, r.tokenRequests, r.secretWrites, r.statusWrites, r.steadyWrites, r.resyncWrites,
			requests, r.restartRequests, r.restartWrites, r.rssMiB, r.peakRSSMiB, r.heapMiB, delta)
		fmt.Printf("manager flags beyond the defaults: %q\n", os.Getenv("BENCH_MANAGER_ARGS"))
		fmt.Println(line)
		fmt.Println("refresh times (s after creation of the first credential, 10 s buckets):", r.refreshHistogram)
	}
}

type result struct {
	// allReady is from the first create call until the last credential is
	// Ready; p50 and max are per credential, from its own create call.
	allReady, p50, max                        time.Duration
	tokenRequests, secretWrites, statusWrites int
	steadyWrites, resyncWrites                int
	restartRequests, restartWrites            int
	rssMiB, peakRSSMiB, heapMiB               float64
	refreshHistogram                          string
}

// writeCounter counts the watch events of target Secrets and credentials.
type writeCounter struct {
	secrets, credentials atomic.Int64
	mu                   sync.Mutex
	readyAt              map[string]time.Time
}

// startPlane starts a control plane with the CRDs installed, stopped when
// the test ends, and a client for it with the limits a benchmark needs.
func startPlane(t *testing.T) (root, dir string, cp *utils.ControlPlane, cl client.WithWatch) {
	root, err := utils.ProjectDir()
	must(t, err)
	dir = t.TempDir()
	cp, err = utils.StartControlPlane(os.Getenv("KUBEBUILDER_ASSETS"), dir)
	must(t, err)
	t.Cleanup(func() { _ = cp.Stop() })
	if out, err := cp.Kubectl(nil, "apply", "--server-side", "-k", filepath.Join(root, "config/crd")); err != nil {
		t.Fatal(out, err)
	}
	if out, err := cp.Kubectl(nil, "wait", "--for=condition=Established",
		"crd/vantagecredentials.vantage.omnivector.solutions", "crd/clustervantagecredentials.vantage.omnivector.solutions"); err != nil {
		t.Fatal(out, err)
	}
	scheme := runtime.NewScheme()
	must(t, clientgoscheme.AddToScheme(scheme))
	must(t, vantagev1alpha1.AddToScheme(scheme))
	cfg := *cp.Config
	cfg.QPS, cfg.Burst = 1000, 2000
	cl, err = client.NewWithWatch(&cfg, client.Options{Scheme: scheme})
	must(t, err)
	return root, dir, cp, cl
}

// oneClient creates the benchmark's namespace and the Secret "sa" of the
// client bench-0, and starts a fake server that knows that client and
// issues tokens for an hour; it returns the server's URL.
func oneClient(t *testing.T, ctx context.Context, cl client.Client, root, dir string) string {
	must(t, cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}))
	must(t, cl.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "sa"},
		StringData: map[string]string{"client_id": "bench-0", "client_secret": "bench-secret-0"}}))
	fake, fakeURL, err := utils.StartFakeVantage(ctx, filepath.Join(root, "bin/fake-vantage"), dir, "--lifetime", "1h", "--client", "bench-0:bench-secret-0")
	must(t, err)
	t.Cleanup(func() { _ = fake.Stop(5 * time.Second) })
	return fakeURL
}

func run(t *testing.T, n, unrelated, clients int, mode string) result {
	root, dir, cp, cl := startPlane(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}))

	if unrelated > 0 {
		// Unrelated Secrets across namespaces, every tenth one 32 KiB.
		for i := range 10 {
			must(t, cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("other-%d", i)}}))
		}
		big := strings.Repeat("x", 32<<10)
		parallel(unrelated, func(i int) error {
			data := map[string]string{"password": "p"}
			if i%10 == 0 {
				data["blob"] = big
			}
			return cl.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("other-%d", i%10), Name: fmt.Sprintf("s%05d", i)}, StringData: data})
		})
	}

	fakeArgs := []string{"--lifetime", "1h"}
	if mode == "serviceaccount" {
		// The README's trust setup: the token server reads the API
		// server's service-account keys without credentials.
		caFile := filepath.Join(dir, "apiserver-ca.crt")
		issuer, jwksURL, err := cp.ServiceAccountIssuer(caFile)
		must(t, err)
		fakeArgs = append(fakeArgs, "--trust-issuer", issuer, "--trust-jwks-url", jwksURL, "--trust-ca-file", caFile)
		if out, err := cp.Kubectl(nil, "create", "clusterrolebinding", "service-account-issuer-discovery-anonymous",
			"--clusterrole=system:service-account-issuer-discovery", "--group=system:unauthenticated"); err != nil {
			t.Fatal(out, err)
		}
	}
	for j := range clients {
		switch mode {
		case "apikey":
			fakeArgs = append(fakeArgs, "--api-key", fmt.Sprintf("bench-key-%d:bench-user-%d", j, j))
		case "serviceaccount":
			fakeArgs = append(fakeArgs, "--federated-client", fmt.Sprintf("bench-%d:system:serviceaccount:%s:sa-%d", j, namespace, j))
		default:
			fakeArgs = append(fakeArgs, "--client", fmt.Sprintf("bench-%d:bench-secret-%d", j, j))
		}
	}
	fake, fakeURL, err := utils.StartFakeVantage(ctx, filepath.Join(root, "bin/fake-vantage"), dir, fakeArgs...)
	must(t, err)
	defer func() { _ = fake.Stop(5 * time.Second) }()

	metricsPort := freePort(t)
	// BENCH_PPROF_DIR: save a CPU profile of the convergence and a heap
	// profile after it, to look at with go tool pprof.
	pprofDir := os.Getenv("BENCH_PPROF_DIR")
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startManager := func(name string) *utils.Process {
		args := []string{"--kubeconfig", cp.Kubeconfig, "--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--metrics-secure=false",
			"--health-probe-bind-address", "0", "--default-token-url", fakeURL + oauthtest.TokenPath, "--default-api-url", fakeURL}
		// BENCH_MANAGER_ARGS tries other limits, e.g. --token-requests-per-second=500.
		args = append(args, strings.Fields(os.Getenv("BENCH_MANAGER_ARGS"))...)
		if pprofDir != "" {
			args = append(args, "--pprof-bind-address", pprofAddr)
		}
		p, err := utils.StartProcess(filepath.Join(dir, name+".log"), filepath.Join(root, "bin/manager"), args...)
		must(t, err)
		return p
	}
	mgr := startManager("manager")
	defer func() { _ = mgr.Stop(10 * time.Second) }()
	waitWorkers(t, filepath.Join(dir, "manager.log"))

	// Count writes at the API server from here on.
	wc := &writeCounter{readyAt: map[string]time.Time{}}
	watchWrites(t, ctx, cl, wc)

	parallel(clients, func(j int) error {
		meta := metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("sa-%d", j)}
		switch mode {
		case "apikey":
			return cl.Create(ctx, &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{"api-key": fmt.Sprintf("bench-key-%d", j)}})
		case "serviceaccount":
			meta.Labels = map[string]string{vantagev1alpha1.TokenSourceLabel: "true"}
			return cl.Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta})
		}
		data := map[string]string{"client_id": fmt.Sprintf("bench-%d", j), "client_secret": fmt.Sprintf("bench-secret-%d", j)}
		return cl.Create(ctx, &corev1.Secret{ObjectMeta: meta, StringData: data})
	})
	created := make([]time.Time, n)
	// The API server, with the admin's credentials, for its metrics and
	// its profile.
	apiClient, err := rest.HTTPClientFor(cp.Config)
	must(t, err)
	apiBase := strings.TrimSuffix(cp.Config.Host, "/")
	var cpuProfile sync.WaitGroup
	if pprofDir != "" {
		cpuProfile.Go(func() {
			saveProfile(t, pprofAddr, "profile?seconds=15", filepath.Join(pprofDir, fmt.Sprintf("cpu-%d-%d.pprof", n, unrelated)))
		})
		// The API server's profile of the same 15 s shows what each
		// credential costs it.
		cpuProfile.Go(func() {
			saveProfileWith(t, apiClient, apiBase, "profile?seconds=15", filepath.Join(pprofDir, fmt.Sprintf("apiserver-cpu-%d-%d.pprof", n, unrelated)))
		})
	}
	requestsBefore := apiRequests(t, apiClient, apiBase)
	start := time.Now()
	parallel(n, func(i int) error {
		created[i] = time.Now()
		source := fmt.Sprintf("sa-%d", i%clients)
		spec := vantagev1alpha1.VantageCredentialSpec{ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: source}}
		switch mode {
		case "apikey":
			spec = vantagev1alpha1.VantageCredentialSpec{APIKeySecretRef: &vantagev1alpha1.APIKeySecretReference{Name: source}}
		case "serviceaccount":
			spec = vantagev1alpha1.VantageCredentialSpec{ServiceAccountRef: &vantagev1alpha1.ServiceAccountReference{Name: source},
				ClientID: ptr.To(fmt.Sprintf("bench-%d", i%clients))}
		}
		return cl.Create(ctx, &vantagev1alpha1.VantageCredential{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name(i)}, Spec: spec})
	})
	t.Logf("created %d credentials in %.2fs", n, time.Since(start).Seconds())
	waitFor(t, 10*time.Minute, func() bool { wc.mu.Lock(); defer wc.mu.Unlock(); return len(wc.readyAt) == n })

	var r result
	var converge []time.Duration
	wc.mu.Lock()
	for i := range n {
		converge = append(converge, wc.readyAt[name(i)].Sub(created[i]))
	}
	wc.mu.Unlock()
	slices.Sort(converge)
	r.p50, r.max = converge[n/2], converge[n-1]
	wc.mu.Lock()
	for _, at := range wc.readyAt {
		r.allReady = max(r.allReady, at.Sub(start))
	}
	wc.mu.Unlock()
	t.Logf("all %d Ready %.2fs after the first creation", n, time.Since(start).Seconds())

	// Let the last status writes land, then take the convergence counts.
	time.Sleep(2 * time.Second)
	cpuProfile.Wait()
	if pprofDir != "" {
		saveProfile(t, pprofAddr, "heap?gc=1", filepath.Join(pprofDir, fmt.Sprintf("heap-%d-%d.pprof", n, unrelated)))
	}
	t.Logf("API server requests per credential, the benchmark's included: %s", perCredential(requestsBefore, apiRequests(t, apiClient, apiBase), n))
	r.tokenRequests = fakeRequests(t, fakeURL)
	r.secretWrites, r.statusWrites = int(wc.secrets.Load()), int(wc.credentials.Load())-n // minus our creates
	m := scrape(metricsPort)
	r.rssMiB, r.heapMiB = m["process_resident_memory_bytes"]/(1<<20), m["go_memstats_heap_inuse_bytes"]/(1<<20)
	// Where the RSS goes, as the Go runtime sees it.
	t.Logf("memory MiB: rss=%.1f go_sys=%.1f heap_sys=%.1f heap_inuse=%.1f heap_idle=%.1f heap_released=%.1f stack_sys=%.1f other_sys=%.1f",
		r.rssMiB, m["go_memstats_sys_bytes"]/(1<<20), m["go_memstats_heap_sys_bytes"]/(1<<20), r.heapMiB,
		m["go_memstats_heap_idle_bytes"]/(1<<20), m["go_memstats_heap_released_bytes"]/(1<<20),
		m["go_memstats_stack_sys_bytes"]/(1<<20), m["go_memstats_other_sys_bytes"]/(1<<20))
	peak, err := mgr.PeakRSS()
	must(t, err)
	r.peakRSSMiB = float64(peak) / (1 << 20)

	// A quiet window: nothing should be written.
	before := wc.secrets.Load() + wc.credentials.Load()
	time.Sleep(quiet)
	r.steadyWrites = int(wc.secrets.Load() + wc.credentials.Load() - before)

	// A forced resync: touch every credential with an annotation the
	// operator does not use; it reconciles each and must write nothing.
	before = wc.secrets.Load() + wc.credentials.Load()
	parallel(n, func(i int) error {
		c := &vantagev1alpha1.VantageCredential{}
		c.Namespace, c.Name = namespace, name(i)
		return cl.Patch(ctx, c, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"bench/touched":"1"}}}`)))
	})
	time.Sleep(quiet)
	r.resyncWrites = int(wc.secrets.Load()+wc.credentials.Load()-before) - n

	// A restart with fresh tokens: no token request, no write.
	must(t, mgr.Stop(10*time.Second))
	requests := fakeRequests(t, fakeURL)
	before = wc.secrets.Load() + wc.credentials.Load()
	mgr = startManager("manager-restarted")
	waitWorkers(t, filepath.Join(dir, "manager-restarted.log"))
	time.Sleep(quiet)
	r.restartRequests = fakeRequests(t, fakeURL) - requests
	r.restartWrites = int(wc.secrets.Load() + wc.credentials.Load() - before)

	r.refreshHistogram = refreshHistogram(t, ctx, cl, start)
	return r
}

// watchWrites counts target Secret and credential events, and records when
// each credential was first seen Ready. A watch the API server ends is
// resumed from the last resource version seen, so no event is lost.
func watchWrites(t *testing.T, ctx context.Context, cl client.WithWatch, wc *writeCounter) {
	follow(t, ctx, cl, &corev1.SecretList{}, []client.ListOption{client.InNamespace(namespace),
		client.MatchingLabels{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue}}, func(client.Object) { wc.secrets.Add(1) })
	follow(t, ctx, cl, &vantagev1alpha1.VantageCredentialList{}, []client.ListOption{client.InNamespace(namespace)}, func(o client.Object) {
		wc.credentials.Add(1)
		c := o.(*vantagev1alpha1.VantageCredential)
		if meta.IsStatusConditionTrue(c.Status.Conditions, vantagev1alpha1.ConditionReady) {
			wc.mu.Lock()
			if _, seen := wc.readyAt[c.Name]; !seen {
				wc.readyAt[c.Name] = time.Now()
			}
			wc.mu.Unlock()
		}
	})
}

// follow calls write for every object added or modified, from now on.
func follow(t *testing.T, ctx context.Context, cl client.WithWatch, list client.ObjectList, opts []client.ListOption, write func(client.Object)) {
	must(t, cl.List(ctx, list, opts...))
	rv := list.GetResourceVersion()
	go func() {
		for ctx.Err() == nil {
			w, err := cl.Watch(ctx, list, append(opts, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})...)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				o, ok := ev.Object.(client.Object)
				if !ok || ev.Type == watch.Error {
					break
				}
				rv = o.GetResourceVersion()
				if ev.Type == watch.Added || ev.Type == watch.Modified {
					write(o)
				}
			}
			w.Stop()
		}
	}()
}

// refreshHistogram buckets the credentials' next refresh times, to show the
// jitter spreading refreshes of credentials created together.
func refreshHistogram(t *testing.T, ctx context.Context, cl client.Client, start time.Time) string {
	var list vantagev1alpha1.VantageCredentialList
	must(t, cl.List(ctx, &list, client.InNamespace(namespace)))
	buckets := map[int]int{}
	for _, c := range list.Items {
		if c.Status.NextRefreshTime != nil {
			buckets[int(c.Status.NextRefreshTime.Sub(start).Seconds())/10*10]++
		}
	}
	keys := make([]int, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%d", k, buckets[k]))
	}
	return strings.Join(parts, " ")
}

func name(i int) string { return fmt.Sprintf("c%05d", i) }

// parallel runs f for 0..n-1 on a fixed number of workers.
func parallel(n int, f func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				for attempt := 0; f(i) != nil && attempt < 3; attempt++ {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
}

// waitWorkers waits until the manager logging to path has synced its caches
// and started its workers, so that the clock of the convergence does not
// run while it lists what is already in the cluster.
func waitWorkers(t *testing.T, path string) {
	waitFor(t, 2*time.Minute, func() bool {
		b, _ := os.ReadFile(path)
		return bytes.Contains(b, []byte(`"Starting workers"`))
	})
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", limit)
		}
	}
}

func freePort(t *testing.T) int {
	port, err := utils.FreePort()
	must(t, err)
	return port
}

// scrape reads the manager's metrics without labels; none if it does not
// answer yet.
func scrape(port int) map[string]float64 {
	m, _ := utils.ScrapeMetrics(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	return m
}

// fakeRequests counts what the credentials asked of the fake Vantage
// server: token requests, and checks of API keys.
func fakeRequests(t *testing.T, url string) int {
	st, err := utils.FakeVantageStats(url)
	must(t, err)
	return st.Requests + st.Checks
}

// saveProfile fetches one pprof profile from the manager into path.
func saveProfile(t *testing.T, addr, profile, path string) {
	saveProfileWith(t, http.DefaultClient, "http://"+addr, profile, path)
}

// saveProfileWith fetches base/debug/pprof/profile with hc: the API
// server's own profiles need its credentials.
func saveProfileWith(t *testing.T, hc *http.Client, base, profile, path string) {
	resp, err := hc.Get(base + "/debug/pprof/" + profile)
	if err != nil {
		t.Errorf("fetching %s: %v", profile, err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Errorf("saving %s: %v", profile, err)
	}
}

// apiRequests counts the API server's requests so far by verb, resource
// and subresource, from its apiserver_request_total metric.
func apiRequests(t *testing.T, hc *http.Client, base string) map[string]float64 {
	series, err := utils.ScrapeSeries(hc, base+"/metrics")
	if err != nil {
		t.Errorf("reading the API server's metrics: %v", err)
	}
	label := func(series, name string) string {
		_, rest, ok := strings.Cut(series, name+`="`)
		if !ok {
			return ""
		}
		v, _, _ := strings.Cut(rest, `"`)
		return v
	}
	counts := map[string]float64{}
	for s, v := range series {
		if !strings.HasPrefix(s, "apiserver_request_total{") {
			continue
		}
		key := label(s, "verb") + " " + label(s, "resource")
		if sub := label(s, "subresource"); sub != "" {
			key += "/" + sub
		}
		counts[key] += v
	}
	return counts
}

// perCredential formats the requests made between two counts, per
// credential, leaving out those rarer than one per ten credentials.
func perCredential(before, after map[string]float64, n int) string {
	var parts []string
	for key, v := range after {
		if d := (v - before[key]) / float64(n); d >= 0.1 {
			parts = append(parts, fmt.Sprintf("%s=%.2f", strings.ReplaceAll(key, " ", ":"), d))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
