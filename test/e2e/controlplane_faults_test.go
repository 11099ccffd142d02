package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"

	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

// The manager's shutdown bound: its graceful shutdown timeout (15 s) plus
// the margin after which it forces the exit (2 s), cmd/shutdown.go; before
// its caches have synced, the margin alone. The specs allow 3 s more for a
// loaded machine.
const (
	shutdownBound         = 17 * time.Second
	unsyncedShutdownBound = 2 * time.Second
	shutdownSlack         = 3 * time.Second
)

// Clients of this suite's own fake Vantage server: one whose 120 s tokens
// are refreshed every 68 to 80 s, one with ordinary one-hour tokens.
const (
	dueClient   = "restart-due"
	dueSecret   = "due-secret"
	freshClient = "restart-fresh"
	freshSecret = "fresh-secret"
)

// How long the API server, then etcd, stays away: longer than the due
// client's refresh interval counting the stop around it, so a refresh
// comes due meanwhile, and short enough that the token obtained then is
// not itself due when it is written. etcd takes about 7 s to stop, and the
// API server up to 35 s to write to it again after it returns, so its
// outage is set shorter.
const (
	apiServerOutage = 85 * time.Second
	etcdOutage      = 80 * time.Second
)

// A control plane of its own, so that stopping its API server and etcd
// disturbs no other spec.
var _ = Describe("a manager whose control plane fails", Ordered, func() {
	var (
		plane   *utils.ControlPlane
		dir     string
		url     string
		started []*utils.Process
	)

	pk := func(args ...string) string {
		GinkgoHelper()
		out, err := plane.Kubectl(nil, args...)
		Expect(err).NotTo(HaveOccurred())
		return out
	}
	// serviceAccountKubeconfig creates a ServiceAccount in the operator's
	// namespace (unless it exists) and a kubeconfig with its token.
	serviceAccountKubeconfig := func(name string) string {
		GinkgoHelper()
		if _, err := plane.Kubectl(nil, "get", "serviceaccount", name, "-n", operatorNamespace); err != nil {
			pk("create", "serviceaccount", name, "-n", operatorNamespace)
		}
		token := strings.TrimSpace(pk("create", "token", name, "-n", operatorNamespace, "--duration=2h"))
		kc, err := plane.WriteTokenKubeconfig(name, token)
		Expect(err).NotTo(HaveOccurred())
		return kc
	}
	type run struct {
		*utils.Process
		probe   string
		started time.Time
	}
	// start runs the manager binary with kubeconfig, leader election and
	// a probe port, as the Deployment does.
	start := func(name, kubeconfig string, extra ...string) *run {
		GinkgoHelper()
		r := &run{probe: fmt.Sprintf("http://127.0.0.1:%d", freePort()), started: time.Now()}
		args := append([]string{
			"--kubeconfig", kubeconfig,
			"--leader-elect", "--leader-election-namespace", operatorNamespace,
			"--cluster-credential-namespace", operatorNamespace,
			"--metrics-bind-address", "0",
			"--health-probe-bind-address", strings.TrimPrefix(r.probe, "http://"),
			"--default-token-url", url + "/oauth/token", "--default-api-url", url,
			"--zap-log-level", "debug",
		}, extra...)
		var err error
		r.Process, err = utils.StartProcess(filepath.Join(dir, name+".log"), filepath.Join(projectDir, "bin/manager"), args...)
		Expect(err).NotTo(HaveOccurred())
		started = append(started, r.Process)
		// Each spec leaves no manager behind, so the next one leads.
		DeferCleanup(func() { _ = r.Stop(30 * time.Second) })
		return r
	}
	readyz := func(r *run) int {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(r.probe + "/readyz")
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	// sigterm sends SIGTERM and returns how long the process took to end;
	// it fails the spec if the process had to be killed.
	sigterm := func(r *run) time.Duration {
		GinkgoHelper()
		at := time.Now()
		// terminationGracePeriodSeconds of the Deployment, then SIGKILL.
		Expect(r.Stop(30 * time.Second)).To(Succeed())
		took := time.Since(at)
		Expect(r.ExitCode()).NotTo(Equal(-1), "the manager ended on its own, not by SIGKILL 30 s later; log:\n%s", logOf(r.Process))
		return took
	}
	requests := func(client string) func() int {
		return func() int {
			GinkgoHelper()
			st, err := utils.FakeVantageStats(url)
			Expect(err).NotTo(HaveOccurred())
			return st.PerClient[client]
		}
	}
	dueRequests, freshRequests := requests(dueClient), requests(freshClient)
	token := func(name string) string {
		out, _ := plane.Kubectl(nil, "get", "secret", name, "-n", "restart", "-o", "jsonpath={.data.access_token}")
		return out
	}

	BeforeAll(func() {
		dir = GinkgoT().TempDir()
		plane, url = ownPlane(dir, "--client", dueClient+":"+dueSecret+":120s", "--client", freshClient+":"+freshSecret)

		pk("apply", "--server-side", "-f", filepath.Join(projectDir, "dist/install.yaml"))
		pk("wait", "--for=condition=Established", "crd/vantagecredentials.vantage.omnivector.solutions", "crd/clustervantagecredentials.vantage.omnivector.solutions", "--timeout=30s")
	})

	AfterEach(func() {
		if !CurrentSpecReport().Failed() {
			return
		}
		for _, p := range started {
			b, _ := os.ReadFile(p.Log)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			GinkgoWriter.Printf("--- %s (end)\n%s\n", filepath.Base(p.Log), b)
		}
	})

	It("exits within the shutdown bound on SIGTERM 0, 0.5, 1 and 2 s after the API server went away during its start", func() {
		kc := serviceAccountKubeconfig(operatorSA)
		for i, moment := range []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second} {
			m := start(fmt.Sprintf("sigterm-api-gone-%d", i), kc)
			// Past its setup (which needs the API server), starting its
			// caches and probes.
			Eventually(func() string { return logOf(m.Process) }, 30*time.Second, 10*time.Millisecond).
				Should(ContainSubstring("starting manager"))
			Expect(plane.StopAPIServer()).To(Succeed())
			// The moment is the experiment: SIGTERM that long after the API
			// server is gone.
			time.Sleep(moment)
			Expect(m.Exited()).To(BeFalse(), "still running when the signal comes; log:\n%s", logOf(m.Process))
			sent := time.Since(m.started)
			took := sigterm(m)
			forced := strings.Contains(logOf(m.Process), "did not stop after the signal")
			GinkgoWriter.Printf("SIGTERM %s after the API server went away (%.1fs after start): exited in %.1fs, status %d, forced %v\n",
				moment, sent.Seconds(), took.Seconds(), m.ExitCode(), forced)
			AddReportEntry(fmt.Sprintf("sigterm-api-gone+%s", moment), fmt.Sprintf("%.1fs after start; exit in %.1fs, status %d, forced %v",
				sent.Seconds(), took.Seconds(), m.ExitCode(), forced))
			Expect(took).To(BeNumerically("<", shutdownBound+shutdownSlack))
			if forced {
				Expect(m.ExitCode()).To(Equal(1), "a forced exit is a failure")
			}
			Expect(plane.StartAPIServer()).To(Succeed())
		}
	})

	It("without RBAC, is not ready, logs which informer cannot list what, and exits within the bound on SIGTERM", func() {
		m := start("sigterm-no-rbac", serviceAccountKubeconfig("no-rbac"))
		Eventually(func() string { return logOf(m.Process) }, 30*time.Second, 200*time.Millisecond).
			Should(MatchRegexp(`waiting for the caches to sync.*not synced: .*is forbidden`))
		Expect(readyz(m)).To(Equal(http.StatusInternalServerError))
		took := sigterm(m)
		GinkgoWriter.Printf("SIGTERM without RBAC: exited in %.1fs, status %d\n", took.Seconds(), m.ExitCode())
		AddReportEntry("sigterm-no-rbac", fmt.Sprintf("exit in %.1fs, status %d", took.Seconds(), m.ExitCode()))
		Expect(took).To(BeNumerically("<", unsyncedShutdownBound+shutdownSlack), "its caches never synced: nothing to wait for")
	})

	It("becomes ready once its permissions are granted, without a restart; a follower is ready too", func() {
		m := start("late-rbac", serviceAccountKubeconfig("late-rbac"))
		Eventually(func() string { return logOf(m.Process) }, 30*time.Second, 200*time.Millisecond).
			Should(ContainSubstring("is forbidden"))
		Consistently(func() int { return readyz(m) }, 3*time.Second, 200*time.Millisecond).Should(Equal(http.StatusInternalServerError))

		sa := "system:serviceaccount:" + operatorNamespace + ":late-rbac"
		pk("create", "clusterrolebinding", "late-rbac-manager", "--clusterrole", "vantage-credential-operator-manager-role", "--user", sa)
		pk("create", "rolebinding", "late-rbac-leader", "-n", operatorNamespace, "--role", "vantage-credential-operator-leader-election-role", "--user", sa)
		granted := time.Now()
		// The informers retry a failed list with a backoff of up to 30 s.
		Eventually(func() int { return readyz(m) }, 60*time.Second, 100*time.Millisecond).Should(Equal(http.StatusOK))
		GinkgoWriter.Printf("ready %.1fs after the permissions were granted\n", time.Since(granted).Seconds())
		AddReportEntry("ready-after-grant", fmt.Sprintf("%.1fs", time.Since(granted).Seconds()))
		Expect(m.Exited()).To(BeFalse())
		Eventually(func() string { return logOf(m.Process) }, 30*time.Second, 200*time.Millisecond).
			Should(ContainSubstring("Successfully acquired lease"))

		By("a follower is ready once its caches have synced: it can take over")
		follower := start("late-rbac-follower", serviceAccountKubeconfig(operatorSA))
		Eventually(func() int { return readyz(follower) }, 30*time.Second, 100*time.Millisecond).Should(Equal(http.StatusOK))
		Expect(logOf(follower.Process)).NotTo(ContainSubstring("Successfully acquired lease"))
	})

	It("exits non-zero after --cache-sync-timeout, naming the resource and the error", func() {
		m := start("sync-deadline", serviceAccountKubeconfig("never-rbac"), "--cache-sync-timeout=10s")
		Eventually(m.Exited, 10*time.Second+20*time.Second, 100*time.Millisecond).Should(BeTrue())
		took := time.Since(m.started)
		GinkgoWriter.Printf("exited %.1fs after start (--cache-sync-timeout=10s), status %d\n", took.Seconds(), m.ExitCode())
		AddReportEntry("sync-deadline-exit", fmt.Sprintf("%.1fs after start, status %d", took.Seconds(), m.ExitCode()))
		Expect(m.ExitCode()).To(Equal(1))
		Expect(took).To(BeNumerically(">=", 10*time.Second), "not before the deadline")
		Expect(logOf(m.Process)).To(MatchRegexp(`giving up: the caches did not sync: caches not synced within 10s: .*not synced: .*is forbidden: .*cannot list resource`))
	})

	Context("with credentials Ready", Ordered, func() {
		var (
			m          *run
			apiMetrics func() writes
		)
		BeforeAll(func() {
			// Lease timings above the outages, so that the leader rides
			// them out instead of stepping down (README, operator flags).
			m = start("restarts", serviceAccountKubeconfig(operatorSA),
				"--leader-elect-lease-duration=5m", "--leader-elect-renew-deadline=4m")
			Eventually(func() int { return readyz(m) }, 60*time.Second, 200*time.Millisecond).Should(Equal(http.StatusOK))
			pk("create", "namespace", "restart")
			_, err := plane.Kubectl([]byte(credentialManifest("restart", "due", dueClient, dueSecret)+"---"+
				credentialManifest("restart", "fresh", freshClient, freshSecret)), "apply", "-f", "-")
			Expect(err).NotTo(HaveOccurred())
			pk("wait", "--for=condition=Ready", "vcred/due", "vcred/fresh", "-n", "restart", "--timeout=60s")
			hc, err := rest.HTTPClientFor(plane.Config)
			Expect(err).NotTo(HaveOccurred())
			apiMetrics = func() writes {
				GinkgoHelper()
				series, err := utils.ScrapeSeries(hc, strings.TrimSuffix(plane.Config.Host, "/")+"/metrics")
				Expect(err).NotTo(HaveOccurred())
				Expect(series).To(HaveKey(HavePrefix("apiserver_request_total{")))
				return countWrites(series)
			}
		})

		// rideOut stops what stop stops for the outage, right after a
		// refresh of the due credential, starts it again, and checks what
		// the issue asks of a return.
		// hung says requests sent during the outage can hang in the API
		// server and finish after it, as they do while etcd is away: such a
		// status patch may reach etcd yet count as failed (a timeout to its
		// client), so the API server's counters may miss it.
		rideOut := func(what string, outage time.Duration, stop, restart func() error, writesSince func() writes, hung bool) {
			GinkgoHelper()
			before, waiting := token("due"), time.Now()
			// After an earlier outage this waits for the manager's informers
			// too: client-go's reflectors retry a failed watch with a
			// jittered backoff of up to a minute, and the reconciler's
			// read-your-writes reads wait for them to see its last writes.
			Eventually(func() string { return token("due") }, 3*time.Minute, 200*time.Millisecond).ShouldNot(Equal(before),
				"a refresh, so the next one comes due during the outage")
			GinkgoWriter.Printf("a refresh of the due credential %.1fs into the spec\n", time.Since(waiting).Seconds())
			held, fresh := token("due"), token("fresh")
			freshVersions := versionsIn(plane, "restart", "fresh")
			dues, freshes := dueRequests(), freshRequests()

			stopping := time.Now()
			Expect(stop()).To(Succeed())
			GinkgoWriter.Printf("%s stopped in %.1fs\n", what, time.Since(stopping).Seconds())
			Consistently(m.Exited, outage, time.Second).Should(BeFalse(), "the manager rides out the outage")
			Expect(dueRequests()).To(Equal(dues+1), "the refresh that came due got its token while %s was away", what)
			Expect(restart()).To(Succeed())
			// Back once the API server writes again: etcd's return alone is
			// not enough, the API server has to reconnect to it.
			restarted := time.Now()
			Eventually(func() error {
				_, err := plane.Kubectl(nil, "annotate", "namespace", "restart", "--overwrite", "writable-at="+time.Now().Format(time.RFC3339Nano))
				return err
			}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())
			back := time.Now()
			GinkgoWriter.Printf("the API server writes again %.1fs after %s's restart\n", back.Sub(restarted).Seconds(), what)
			Eventually(func() string { return token("due") }, 40*time.Second, 100*time.Millisecond).ShouldNot(Equal(held))
			recovered := time.Since(back)
			// Let any further write show before counting.
			Consistently(func() int { return dueRequests() }, 5*time.Second, 250*time.Millisecond).Should(Equal(dues+1),
				"the token written is the one obtained while %s was away: no second request", what)
			w := writesSince()
			GinkgoWriter.Printf("%s away %s: due refresh written %.1fs after its return; writes since: %+v; token requests %d (due), %d (fresh)\n",
				what, outage, recovered.Seconds(), w, dueRequests()-dues, freshRequests()-freshes)
			AddReportEntry(what+"-restart", fmt.Sprintf("recovered in %.1fs, writes %+v, token requests due %d fresh %d",
				recovered.Seconds(), w, dueRequests()-dues, freshRequests()-freshes))
			// A write the manager sent while etcd was away can hang in the
			// API server past the return (10 s measured), then the retry
			// follows within the 5 s retry cap; on a loaded machine the
			// hung write takes longer to give up.
			bound := 20 * time.Second
			if hung {
				bound = 30 * time.Second
			}
			Expect(recovered).To(BeNumerically("<", bound), "within seconds of the return")
			// The status tells the new token's expiry: its write reached etcd.
			Eventually(func() string {
				return pk("get", "vcred", "due", "-n", "restart", "-o", "jsonpath={.status.expiresAt}")
			}, 30*time.Second, 200*time.Millisecond).Should(Equal(
				pk("get", "secret", "due", "-n", "restart", "-o", `jsonpath={.metadata.annotations.vantage\.omnivector\.solutions/expires-at}`)))
			if hung {
				// The new token in the Secret and the expiry in status show
				// both writes landed; a hung one may land uncounted.
				Expect(w.Secrets).To(BeNumerically("<=", 1), "at most one Secret write counted for the one credential that came due")
				Expect(w.Statuses).To(BeNumerically("<=", 1), "at most one status write counted for it")
			} else {
				Expect(w).To(Equal(writes{Secrets: 1, Statuses: 1}), "one Secret and one status write for the one credential that came due")
			}

			Expect(m.Exited()).To(BeFalse(), "the manager did not exit")
			Expect(token("fresh")).To(Equal(fresh), "no token lost from a target")
			Expect(versionsIn(plane, "restart", "fresh")).To(Equal(freshVersions), "the credential not due: no write")
			Expect(freshRequests()).To(Equal(freshes))
			for _, name := range []string{"due", "fresh"} {
				Expect(pk("get", "vcred", name, "-n", "restart", "-o",
					`jsonpath={.status.consecutiveFailures}/{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}`)).
					To(Equal("/True/TokenValid"), "%s: not marked failed", name)
			}
			Expect(pk("get", "events", "-n", "restart", "--field-selector", "type=Warning", "-o", "name")).To(BeEmpty(),
				"no Warning event: the token server did not fail")
		}

		It("rides out an API server restart: one token request, one Secret and one status write per due credential, within seconds", func() {
			// The restarted API server's counters start at zero: what they
			// count is what came after the return.
			rideOut("the API server", apiServerOutage, plane.StopAPIServer, plane.StartAPIServer, func() writes { return apiMetrics() }, false)
		})

		It("rides out an etcd restart the same way", func() {
			var base writes
			rideOut("etcd", etcdOutage, func() error {
				base = apiMetrics()
				return plane.StopEtcd()
			}, plane.StartEtcd, func() writes { return apiMetrics().minus(base) }, true)
		})
	})
})

// versionsIn is the resourceVersion of a credential and of its target.
func versionsIn(plane *utils.ControlPlane, ns, name string) string {
	GinkgoHelper()
	out, err := plane.Kubectl(nil, "get", "vcred/"+name, "secret/"+name, "-n", ns, "-o", "jsonpath={.items[*].metadata.resourceVersion}")
	Expect(err).NotTo(HaveOccurred())
	return out
}

// writes counts the API server's successful writes of Secrets and of
// VantageCredential status.
type writes struct{ Secrets, Statuses int }

func (w writes) minus(o writes) writes {
	return writes{Secrets: w.Secrets - o.Secrets, Statuses: w.Statuses - o.Statuses}
}

// countWrites sums apiserver_request_total over successful (2xx) Secret
// creates, updates and patches, and VantageCredential status patches.
func countWrites(series map[string]float64) writes {
	var w writes
	for s, v := range series {
		if !strings.HasPrefix(s, "apiserver_request_total{") || !strings.HasPrefix(label(s, "code"), "2") {
			continue
		}
		switch verb := label(s, "verb"); {
		case verb != "POST" && verb != "PUT" && verb != "PATCH":
		case label(s, "resource") == "secrets" && label(s, "subresource") == "":
			w.Secrets += int(v)
		case label(s, "resource") == "vantagecredentials" && label(s, "subresource") == "status":
			w.Statuses += int(v)
		}
	}
	return w
}

// label is the value of a label in a series key, "" when absent.
func label(series, name string) string {
	m := regexp.MustCompile(`[{,]` + name + `="([^"]*)"`).FindStringSubmatch(series)
	if m == nil {
		return ""
	}
	return m[1]
}
