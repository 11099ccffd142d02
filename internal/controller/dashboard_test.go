package controller

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

// The Grafana dashboard must query only what the manager exports: a
// renamed metric would leave a panel silently empty.
var _ = Describe("config/grafana/vantage-credentials.json", func() {
	It("queries only metrics the manager exports", func() {
		// controller-runtime's series of a controller appear once it starts.
		var exported map[string]bool
		Eventually(func() map[string]bool { exported = exportedMetrics(); return exported }, timeout, interval).
			Should(HaveKey("controller_runtime_reconcile_total"))
		b, err := os.ReadFile(filepath.Join("..", "..", "config", "grafana", "vantage-credentials.json"))
		Expect(err).NotTo(HaveOccurred())
		var dashboard struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		Expect(json.Unmarshal(b, &dashboard)).To(Succeed())
		Expect(dashboard.Panels).NotTo(BeEmpty())
		for _, p := range dashboard.Panels {
			Expect(p.Targets).NotTo(BeEmpty(), "panel %q has no query", p.Title)
			for _, t := range p.Targets {
				names := queryMetrics(t.Expr)
				Expect(names).NotTo(BeEmpty(), "panel %q: %s names no metric", p.Title, t.Expr)
				for _, n := range names {
					Expect(exported).To(HaveKey(n), "panel %q: %s names %s, which the manager does not export", p.Title, t.Expr, n)
				}
			}
		}
	})

	DescribeTable("queryMetrics names the metrics of a query",
		func(expr string, want []string) { Expect(queryMetrics(expr)).To(Equal(want)) },
		Entry("a bare metric", "vantage_credential_ready", []string{"vantage_credential_ready"}),
		Entry("label matchers, ranges and Grafana variables are not metrics",
			`rate(a_total{controller=~"x|y",result="by"}[$__rate_interval])`, []string{"a_total"}),
		Entry("aggregations, their by clause and functions are not metrics",
			"histogram_quantile(0.99, sum by (le, result) (rate(h_bucket[5m])))", []string{"h_bucket"}),
		Entry("comparisons and vector()", "count(g == 0) or vector(0)", []string{"g"}),
		Entry("arithmetic with time()", "sort(e - time())", []string{"e"}),
	)
})

// queryMetrics lists the metric names a PromQL query selects. It knows the
// parts of PromQL the dashboard uses: functions and aggregations, by and
// without clauses, label matchers, range selectors, comparisons, set
// operators, numbers and Grafana's $variables.
func queryMetrics(expr string) []string {
	s := regexp.MustCompile(`"(?:[^"\\]|\\.)*"`).ReplaceAllString(expr, `""`)
	s = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\$\w+`).ReplaceAllString(s, " ")
	s = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`).ReplaceAllString(s, " ")
	keywords := map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true}
	var names []string
	for _, m := range regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\s*\(?`).FindAllString(s, -1) {
		name := strings.TrimSpace(m)
		if strings.HasSuffix(name, "(") || keywords[name] {
			continue
		}
		names = append(names, name)
	}
	return names
}

// exportedMetrics is every series name the manager serves: the operator's
// own, each given a sample so that it shows, and controller-runtime's
// (reconciles, work queues, the API client, Go and the process). A
// histogram serves its _bucket, _sum and _count series.
func exportedMetrics() map[string]bool {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.exchanged(nil, time.Second)
	m.checked(nil)
	m.heldBack.Inc()
	cred := &vantagev1alpha1.VantageCredential{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}}
	m.restarted(cred, rollout.Workload{Kind: "Deployment", Namespace: "ns", Name: "w"})
	m.observe(cred, &vantagev1alpha1.VantageCredentialStatus{ExpiresAt: &metav1.Time{Time: time.Now()}}, time.Now())
	names := map[string]bool{}
	for _, g := range []prometheus.Gatherer{reg, ctrlmetrics.Registry} {
		families, err := g.Gather()
		Expect(err).NotTo(HaveOccurred())
		for _, f := range families {
			names[f.GetName()] = true
			if f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					names[f.GetName()+suffix] = true
				}
			}
		}
	}
	return names
}
