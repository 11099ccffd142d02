package controller

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

// Metrics are the operator's Prometheus metrics (DESIGN §5). Labels carry
// names only, never a token or a secret.
type Metrics struct {
	// credentials holds the per-credential gauges, the token's expiry, its
	// refresh due time and Ready (credentialgauges.go).
	credentials *credentialGauges
	exchanges   *prometheus.CounterVec
	latency     prometheus.Histogram
	checks      *prometheus.CounterVec
	restarts    *prometheus.CounterVec
	heldBack    prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		credentials: newCredentialGauges(
			gaugeDesc{"vantage_credential_token_expiry_timestamp_seconds",
				"Unix time at which the token in the credential's target Secret expires."},
			gaugeDesc{"vantage_credential_token_refresh_timestamp_seconds",
				"Unix time at which the operator is due to replace the token in the credential's target Secret (spec.refreshBefore and jitter applied); failed attempts do not move it. Absent for API keys and suspended credentials."},
			gaugeDesc{"vantage_credential_ready",
				"1 when the credential's Ready condition is True, else 0."}),
		exchanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vantage_credential_token_exchanges_total",
			Help: "Token requests by result: success, transient (retried with backoff) or terminal (stalled until an input changes).",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vantage_credential_token_exchange_duration_seconds",
			Help:    "Time taken by token requests, including client-side rate limiting.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vantage_credential_api_key_checks_total",
			Help: "Checks of API keys with the Vantage API by result: success, unverified (the API has no auth/test endpoint), transient (retried with backoff) or terminal (stalled until the key changes).",
		}, []string{"result"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vantage_credential_rollout_restarts_total",
			Help: "Workloads restarted by spec.rolloutRestart: namespace is the workload's, name the credential's, kind and target the workload's kind and name.",
		}, []string{"namespace", "name", "kind", "target"}),
	}
	m.heldBack = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vantage_credential_token_requests_held_back_total",
		Help: "Token requests (and API key checks) not sent because they would have waited over a second for --token-requests-per-second or --token-requests-in-flight; each is sent later, when its turn comes.",
	})
	reg.MustRegister(m.credentials, m.exchanges, m.latency, m.checks, m.restarts, m.heldBack)
	return m
}

func (m *Metrics) exchanged(err error, took time.Duration) {
	m.latency.Observe(took.Seconds())
	m.exchanges.WithLabelValues(resultLabel(err)).Inc()
}

// resultLabel is a request's result label: success, terminal (stalled
// until an input changes) or transient (retried with backoff).
func resultLabel(err error) string {
	switch {
	case err == nil:
		return "success"
	case oauth.IsTerminal(err):
		return "terminal"
	}
	return "transient"
}

// checked counts a check of an API key; the latency histogram is the token
// requests' alone.
func (m *Metrics) checked(err error) {
	if oauth.IsCode(err, oauth.CodeNoAuthTest) {
		m.checks.WithLabelValues("unverified").Inc()
		return
	}
	m.checks.WithLabelValues(resultLabel(err)).Inc()
}

// observe records cred's status and refreshDue, when the operator is due to
// replace the current token (zero for never).
func (m *Metrics) observe(cred credential, st *vantagev1alpha1.VantageCredentialStatus, refreshDue time.Time) {
	var s credentialSample
	if st.ExpiresAt != nil {
		s.expiry, s.hasExpiry = st.ExpiresAt.Unix(), true
	}
	if !refreshDue.IsZero() {
		s.refresh, s.hasRefresh = refreshDue.Unix(), true
	}
	s.ready = meta.IsStatusConditionPresentAndEqual(st.Conditions, vantagev1alpha1.ConditionReady, metav1.ConditionTrue)
	m.credentials.set(client.ObjectKeyFromObject(cred), s)
}

// restarted counts a workload restarted by cred's spec.rolloutRestart.
func (m *Metrics) restarted(cred credential, w rollout.Workload) {
	m.restarts.WithLabelValues(w.Namespace, cred.GetName(), w.Kind, w.Name).Inc()
}

func (m *Metrics) forget(namespace, name string) {
	m.credentials.delete(types.NamespacedName{Namespace: namespace, Name: name})
}
