package controller

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
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
			Expect(testutil.GatherAndCompare(reg, strings.NewReader(header+want),
				"vantage_credential_ready", "vantage_credential_token_expiry_timestamp_seconds")).To(Succeed())
		},
		Entry("a Ready credential with an expiry", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(&expiry, metav1.ConditionTrue))
		}, `vantage_credential_ready{name="a",namespace="ns"} 1
vantage_credential_token_expiry_timestamp_seconds{name="a",namespace="ns"} 1.8e+09
`),
		Entry("an API key that never expires: no expiry series", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(nil, metav1.ConditionTrue))
		}, `vantage_credential_ready{name="a",namespace="ns"} 1
`),
		Entry("not Ready, or no condition yet: 0", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(&expiry, metav1.ConditionFalse))
			m.observe(cred("ns", "b"), status(nil, ""))
		}, `vantage_credential_ready{name="a",namespace="ns"} 0
vantage_credential_ready{name="b",namespace="ns"} 0
vantage_credential_token_expiry_timestamp_seconds{name="a",namespace="ns"} 1.8e+09
`),
		Entry("a later observation replaces the earlier, and an expiry gone removes its series", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(&expiry, metav1.ConditionTrue))
			m.observe(cred("ns", "a"), status(nil, metav1.ConditionFalse))
		}, `vantage_credential_ready{name="a",namespace="ns"} 0
`),
		Entry("a forgotten credential has no series; others keep theirs", func(m *Metrics) {
			m.observe(cred("ns", "a"), status(&expiry, metav1.ConditionTrue))
			m.observe(cred("other", "a"), status(nil, metav1.ConditionTrue))
			m.forget("ns", "a")
		}, `vantage_credential_ready{name="a",namespace="other"} 1
`),
	)
})
