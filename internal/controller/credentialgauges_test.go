package controller

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

var _ = Describe("the per-credential gauges", func() {
	cred := func(ns, name string) *vantagev1alpha1.VantageCredential {
		c := &vantagev1alpha1.VantageCredential{}
		c.Namespace, c.Name = ns, name
		return c
	}
	status := func(expires *time.Time, ready metav1.ConditionStatus) *vantagev1alpha1.VantageCredentialStatus {
		st := &vantagev1alpha1.VantageCredentialStatus{}
		if expires != nil {
			st.ExpiresAt = &metav1.Time{Time: *expires}
		}
		if ready != "" {
			st.Conditions = []metav1.Condition{{Type: vantagev1alpha1.ConditionReady, Status: ready}}
		}
		return st
	}
	expiry := time.Unix(1800000000, 0)
	due := time.Unix(1799998800, 0)

	DescribeTable("serve what observe and forget leave, as the GaugeVecs did",
		func(act func(m *Metrics), want string) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			act(m)
			header := `
# HELP vantage_credential_ready 1 when the credential's Ready condition is True, else 0.
# TYPE vantage_credential_ready gauge
`
			if strings.Contains(want, "expiry") {
				header += `# HELP vantage_credential_token_expiry_timestamp_seconds Unix time at which the token in the credential's target Secret expires.
# TYPE vantage_credential_token_expiry_timestamp_seconds gauge
`
			}
			if strings.Contains(want, "refresh_timestamp") {
				header += `# HELP vantage_credential_token_refresh_timestamp_seconds Unix time at which the operator is due to replace the token in the credential's target Secret (spec.refreshBefore and jitter applied); failed attempts do not move it. Absent for API keys and suspended credentials.
# TYPE vantage_credential_token_refresh_timestamp_seconds gauge
`
			}
			Expect(testutil.GatherAndCompare(reg, strings.NewReader(header+want), "vantage_credential_ready",
				"vantage_credential_token_expiry_timestamp_seconds", "vantage_credential_token_refresh_timestamp_seconds")).To(Succeed())
		},
		Entry("a Ready credential with an expiry and a refresh due", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(&expiry, metav1.ConditionTrue), due)
		}, `vantage_credential_ready{name="a",namespace="ns"} 1
vantage_credential_token_expiry_timestamp_seconds{name="a",namespace="ns"} 1.8e+09
vantage_credential_token_refresh_timestamp_seconds{name="a",namespace="ns"} 1.7999988e+09
`),
		Entry("an API key that never expires: no expiry series", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(nil, metav1.ConditionTrue), time.Time{})
		}, `vantage_credential_ready{name="a",namespace="ns"} 1
`),
		Entry("not Ready, or no condition yet: 0", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(&expiry, metav1.ConditionFalse), time.Time{})
			m.observe(cred("ns", "b"), status(nil, ""), time.Time{})
		}, `vantage_credential_ready{name="a",namespace="ns"} 0
vantage_credential_ready{name="b",namespace="ns"} 0
vantage_credential_token_expiry_timestamp_seconds{name="a",namespace="ns"} 1.8e+09
`),
		Entry("a later observation replaces the earlier, and an expiry gone removes its series", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(&expiry, metav1.ConditionTrue), due)
			m.observe(cred("ns", "a"), status(nil, metav1.ConditionFalse), time.Time{})
		}, `vantage_credential_ready{name="a",namespace="ns"} 0
`),
		Entry("a forgotten credential has no series; others keep theirs", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(&expiry, metav1.ConditionTrue), due)
			m.observe(cred("other", "a"), status(nil, metav1.ConditionTrue), time.Time{})
			m.forget("ns", "a")
		}, `vantage_credential_ready{name="a",namespace="other"} 1
`),
	)
})

var _ = Describe("the refresh due time behind the gauge", func() {
	p := refresh.DefaultPolicy()
	p.JitterFraction = 0 // exact times below

	DescribeTable("is the current token's scheduled refresh, or none",
		func(mutate func(*facts), want time.Duration) {
			clk := clocktesting.NewFakeClock(epoch)
			f := factsAt(clk, epoch)
			mutate(f)
			got := tokenRefreshDue(f, p)
			if want == 0 {
				Expect(got.IsZero()).To(BeTrue(), "no refresh due, got %s", got)
				return
			}
			Expect(got).To(Equal(epoch.Add(want)))
		},
		Entry("a one-hour token: two thirds in", func(*facts) {}, 40*time.Minute),
		Entry("spec.refreshBefore moves it", func(f *facts) {
			f.cred.GetSpec().RefreshBefore = &metav1.Duration{Duration: 5 * time.Minute}
		}, 55*time.Minute),
		// The alerts measure the delay from here; a backoff must not move it.
		Entry("failing refreshes leave it where it was", func(f *facts) {
			f.now = epoch.Add(50 * time.Minute)
			f.cred.GetStatus().ConsecutiveFailures = 3
			f.cred.GetStatus().NextRefreshTime = ptr.To(metav1.NewTime(epoch.Add(51 * time.Minute)))
		}, 40*time.Minute),
		Entry("no token yet", func(f *facts) { f.token = nil }, time.Duration(0)),
		Entry("an API key: nothing to refresh", func(f *facts) {
			f.cred.GetSpec().APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "key"}
		}, time.Duration(0)),
		Entry("suspended: its owner stopped the refreshes", func(f *facts) {
			f.cred.GetSpec().Suspend = ptr.To(true)
		}, time.Duration(0)),
	)
})
