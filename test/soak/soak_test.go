//go:build soak

// Package soak runs the operator for minutes against a token server that
// fails part of its requests at random, as `make soak` does, and reports
// whether any target held an expired token, the token request rate, and
// the manager's goroutines and memory over the run. It is kept out of
// `make test` by its build tag because it runs for minutes.
package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/controller"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

func envOr[T any](name string, def T, parse func(string) (T, error)) T {
	if v := os.Getenv(name); v != "" {
		if x, err := parse(v); err == nil {
			return x
		}
	}
	return def
}

func TestSoak(t *testing.T) {
	n := envOr("SOAK_CREDENTIALS", 200, strconv.Atoi)
	duration := envOr("SOAK_DURATION", 5*time.Minute, time.ParseDuration)
	failRate := envOr("SOAK_FAIL_RATE", 0.3, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	const (
		lifetime = 60 * time.Second
		rps      = 20
		burst    = 20
	)
	root, err := utils.ProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cp, err := utils.StartControlPlane(os.Getenv("KUBEBUILDER_ASSETS"), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	if out, err := cp.Kubectl(nil, "apply", "--server-side", "-k", filepath.Join(root, "config/crd")); err != nil {
		t.Fatal(out, err)
	}
	if out, err := cp.Kubectl(nil, "wait", "--for=condition=Established", "crd/vantagecredentials.vantage.omnivector.solutions", "crd/clustervantagecredentials.vantage.omnivector.solutions"); err != nil {
		t.Fatal(out, err)
	}

	// Every credential has a client of its own: identical requests share
	// exchanges, and the soak is about each credential's own failures.
	fakeArgs := []string{"--lifetime", lifetime.String(), "--fail-rate", fmt.Sprint(failRate)}
	for i := range n {
		fakeArgs = append(fakeArgs, "--client", fmt.Sprintf("soak-%d:soak-secret-%d", i, i))
	}
	fake, fakeURL, err := utils.StartFakeVantage(context.Background(), filepath.Join(root, "bin/fake-vantage"), dir, fakeArgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Stop(5 * time.Second) })

	metricsPort := freePort(t)
	mgr, err := utils.StartProcess(filepath.Join(dir, "manager.log"), filepath.Join(root, "bin/manager"),
		"--kubeconfig", cp.Kubeconfig, "--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--metrics-secure=false",
		"--health-probe-bind-address", "0", "--default-token-url", fakeURL+oauthtest.TokenPath, "--default-api-url", fakeURL,
		"--token-requests-per-second", fmt.Sprint(rps), "--token-request-burst", fmt.Sprint(burst))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Stop(10 * time.Second) })

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = vantagev1alpha1.AddToScheme(scheme)
	cl, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must(t, cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "soak"}}))
	for i := range n {
		must(t, cl.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "soak", Name: fmt.Sprintf("sa-%d", i)},
			StringData: map[string]string{"client_id": fmt.Sprintf("soak-%d", i), "client_secret": fmt.Sprintf("soak-secret-%d", i)}}))
	}
	start := time.Now()
	for i := range n {
		must(t, cl.Create(ctx, &vantagev1alpha1.VantageCredential{
			ObjectMeta: metav1.ObjectMeta{Namespace: "soak", Name: fmt.Sprintf("c%04d", i)},
			Spec:       vantagev1alpha1.VantageCredentialSpec{ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: fmt.Sprintf("sa-%d", i)}},
		}))
	}

	// Sample every second: targets holding an expired token, the token
	// request count, and the manager's goroutines and memory.
	type sample struct {
		at                  time.Duration
		requests            int
		goroutines, heapMiB float64
		rssMiB              float64
	}
	var samples []sample
	expiredSeen, targetsChecked := 0, 0
	// mostReadyAt is when 95% of the credentials had a token: with 30% of
	// requests failing, a few draw five or six failures in a row and back
	// off for minutes, as they should.
	allReadyAt, mostReadyAt := time.Duration(0), time.Duration(0)
	for time.Since(start) < duration {
		time.Sleep(time.Second)
		var secrets corev1.SecretList
		must(t, cl.List(ctx, &secrets, client.InNamespace("soak"), client.MatchingLabels{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue}))
		now := time.Now()
		for _, s := range secrets.Items {
			exp, err := time.Parse(time.RFC3339, string(s.Data["expires_at"]))
			targetsChecked++
			if err != nil || !now.Before(exp) {
				expiredSeen++
				t.Logf("%s holds a token that expired at %s", s.Name, s.Data["expires_at"])
			}
		}
		if mostReadyAt == 0 && len(secrets.Items) >= n*95/100 {
			mostReadyAt = time.Since(start)
		}
		if allReadyAt == 0 && len(secrets.Items) == n {
			allReadyAt = time.Since(start)
		}
		m := scrape(t, metricsPort)
		samples = append(samples, sample{at: time.Since(start), requests: fakeRequests(t, fakeURL),
			goroutines: m["go_goroutines"], heapMiB: m["go_memstats_heap_inuse_bytes"] / (1 << 20), rssMiB: m["process_resident_memory_bytes"] / (1 << 20)})
	}

	// Rate over sliding 10 s windows, against the cap of rps plus burst.
	maxWindow := 0
	for i := range samples {
		for j := i + 1; j < len(samples) && samples[j].at-samples[i].at <= 10*time.Second; j++ {
			maxWindow = max(maxWindow, samples[j].requests-samples[i].requests)
		}
	}
	last := samples[len(samples)-1]
	// Steady state starts once 95% of the credentials have their first
	// token and a refresh cycle has passed.
	var first sample
	for _, s := range samples {
		if mostReadyAt > 0 && s.at >= mostReadyAt+lifetime {
			first = s
			break
		}
	}
	maxG, maxRSS := 0.0, 0.0
	for _, s := range samples {
		maxG, maxRSS = max(maxG, s.goroutines), max(maxRSS, s.rssMiB)
	}
	t.Logf("SOAK credentials=%d duration=%s fail_rate=%.2f lifetime=%s ready95_s=%.1f all_ready_s=%.1f token_requests=%d mean_rps=%.1f max_requests_10s=%d cap_10s=%d expired_seen=%d targets_checked=%d goroutines_start=%.0f goroutines_end=%.0f goroutines_max=%.0f heap_mib_start=%.1f heap_mib_end=%.1f rss_mib_start=%.1f rss_mib_end=%.1f rss_mib_max=%.1f",
		n, duration, failRate, lifetime, mostReadyAt.Seconds(), allReadyAt.Seconds(), last.requests, float64(last.requests)/last.at.Seconds(), maxWindow, rps*10+burst,
		expiredSeen, targetsChecked, first.goroutines, last.goroutines, maxG, first.heapMiB, last.heapMiB, first.rssMiB, last.rssMiB, maxRSS)

	// A credential still without a token must be one that is backing off
	// after transient failures, as the policy says; anything else is a bug.
	var creds vantagev1alpha1.VantageCredentialList
	must(t, cl.List(ctx, &creds, client.InNamespace("soak")))
	for _, c := range creds.Items {
		ready := meta.FindStatusCondition(c.Status.Conditions, vantagev1alpha1.ConditionReady)
		switch {
		case ready != nil && ready.Status == metav1.ConditionTrue:
		case ready != nil && ready.Reason == controller.ReasonTokenRequestFailed && c.Status.NextRefreshTime != nil:
			t.Logf("%s is still backing off after %d failures in a row; next attempt at %s", c.Name, c.Status.ConsecutiveFailures, c.Status.NextRefreshTime.UTC().Format(time.RFC3339))
		default:
			t.Errorf("%s has no token and is not backing off: Ready %+v", c.Name, ready)
		}
	}
	if first.at == 0 {
		t.Errorf("no steady state to check growth in: 95%% of the credentials had a token after %s, so SOAK_DURATION must exceed that plus a lifetime (%s)",
			mostReadyAt.Round(time.Second), lifetime)
	}
	if expiredSeen > 0 {
		t.Errorf("%d observations of an expired token in a target", expiredSeen)
	}
	if maxWindow > rps*10+burst {
		t.Errorf("%d token requests in 10 s, over the cap of %d", maxWindow, rps*10+burst)
	}
	if first.goroutines > 0 && last.goroutines > first.goroutines*1.2+10 {
		t.Errorf("goroutines grew from %.0f to %.0f", first.goroutines, last.goroutines)
	}
	if first.heapMiB > 0 && last.heapMiB > first.heapMiB*1.5+4 {
		t.Errorf("heap grew from %.1f to %.1f MiB", first.heapMiB, last.heapMiB)
	}
	if mgr.Exited() {
		t.Error("the manager exited")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	port, err := utils.FreePort()
	must(t, err)
	return port
}

// scrape reads the manager's metrics without labels; none if it does not
// answer.
func scrape(t *testing.T, port int) map[string]float64 {
	m, err := utils.ScrapeMetrics(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Logf("scraping metrics: %v", err)
	}
	return m
}

func fakeRequests(t *testing.T, url string) int {
	st, err := utils.FakeVantageStats(url)
	must(t, err)
	return st.Requests
}
