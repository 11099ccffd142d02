package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// conds summarises the three conditions as "status/reason" strings.
func conds(st vantagev1alpha1.VantageCredentialStatus) []string {
	var out []string
	for _, typ := range []string{vantagev1alpha1.ConditionReady, vantagev1alpha1.ConditionReconciling, vantagev1alpha1.ConditionStalled} {
		c := meta.FindStatusCondition(st.Conditions, typ)
		if c == nil {
			out = append(out, typ+"=absent")
			continue
		}
		out = append(out, typ+"="+string(c.Status)+"/"+c.Reason)
	}
	return out
}

func message(st vantagev1alpha1.VantageCredentialStatus, typ string) string {
	return meta.FindStatusCondition(st.Conditions, typ).Message
}

var _ = Describe("computeStatus", func() {
	var (
		clk *clocktesting.FakeClock
		f   *facts
	)
	BeforeEach(func() {
		clk = clocktesting.NewFakeClock(epoch.Add(50*time.Minute + 300*time.Millisecond))
		f = factsAt(clk, epoch)
	})
	next := epoch.Add(40 * time.Minute)

	It("after a new token: Ready, not reconciling, failures cleared, request handled", func() {
		f.cred.SetAnnotations(map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "r1"})
		f.cred.GetStatus().ConsecutiveFailures = 3
		f.cred.GetStatus().LastFailureTime = ptr.To(metav1.NewTime(epoch))
		f.cred.GetStatus().FailedSourceVersion = "9"
		f.token = &currentToken{issuedAt: clk.Now().Truncate(time.Second), expiresAt: clk.Now().Add(time.Hour).Truncate(time.Second), inputsHash: "h1"}
		st := computeStatus(f, result{exchanged: true, scopes: []string{"jobs:read"}, tokenURL: "https://auth.example/token", nextRefresh: clk.Now().Add(40 * time.Minute)})

		Expect(conds(st)).To(Equal([]string{"Ready=True/TokenValid", "Reconciling=False/Succeeded", "Stalled=False/Succeeded"}))
		Expect(st.ConsecutiveFailures).To(BeZero())
		Expect(st.LastFailureTime).To(BeNil())
		Expect(st.FailedSourceVersion).To(BeEmpty())
		Expect(st.LastHandledRefreshRequest).To(Equal("r1"))
		Expect(st.GrantedScopes).To(Equal([]string{"jobs:read"}))
		Expect(st.TokenURL).To(Equal("https://auth.example/token"))
		Expect(st.LastRefreshTime.Time).To(Equal(clk.Now().Truncate(time.Second)))
		Expect(st.NextRefreshTime.Time.Nanosecond()).To(BeZero(), "times are whole seconds, as the API server stores them")
		Expect(st.ObservedGeneration).To(Equal(int64(1)))
	})

	It("is stable: computing it again from its own result changes nothing", func() {
		*f.cred.GetStatus() = computeStatus(f, result{nextRefresh: next})
		clk.Step(5 * time.Minute)
		f.now = clk.Now()
		again := computeStatus(f, result{nextRefresh: next})
		Expect(apiequality.Semantic.DeepEqual(*f.cred.GetStatus(), again)).To(BeTrue())
	})

	It("keeps a condition's transition time while its status holds", func() {
		*f.cred.GetStatus() = computeStatus(f, result{nextRefresh: next})
		before := meta.FindStatusCondition(f.cred.GetStatus().Conditions, vantagev1alpha1.ConditionReady).LastTransitionTime
		clk.Step(time.Minute)
		f.now = clk.Now()
		st := computeStatus(f, result{failed: &failure{reason: ReasonTokenRequestFailed, message: "503", retryAt: clk.Now().Add(5 * time.Second)}})
		ready := meta.FindStatusCondition(st.Conditions, vantagev1alpha1.ConditionReady)
		Expect(ready.Reason).To(Equal(ReasonRefreshFailing))
		Expect(ready.LastTransitionTime).To(Equal(before))
	})

	It("a routine refresh failing while the token is valid: Ready=True RefreshFailing, not reconciling", func() {
		retry := clk.Now().Add(10 * time.Second).Truncate(time.Second)
		st := computeStatus(f, result{failed: &failure{reason: ReasonTokenRequestFailed, message: "token endpoint answered 503", retryAt: retry}})
		Expect(conds(st)).To(Equal([]string{"Ready=True/RefreshFailing", "Reconciling=False/Succeeded", "Stalled=False/Succeeded"}))
		Expect(message(st, vantagev1alpha1.ConditionReady)).To(And(
			ContainSubstring("token endpoint answered 503"), ContainSubstring("valid until 2026-11-22T13:00:00Z"), ContainSubstring("next attempt at")))
		Expect(st.ConsecutiveFailures).To(Equal(int32(1)))
		Expect(st.FailedSourceVersion).To(Equal("10"))
		Expect(st.NextRefreshTime.Time).To(Equal(retry))
	})

	It("the first token failing transiently: Ready=False, reconciling towards it", func() {
		f.token = nil
		f.cred.GetStatus().LastRefreshTime = nil
		st := computeStatus(f, result{failed: &failure{reason: ReasonTokenRequestFailed, message: "connection refused", retryAt: clk.Now().Add(5 * time.Second)}})
		Expect(conds(st)).To(Equal([]string{"Ready=False/TokenRequestFailed", "Reconciling=True/IssuingToken", "Stalled=False/IssuingToken"}))
	})

	It("new inputs failing transiently while the old token is valid: Ready=True, reconciling towards the new generation", func() {
		f.inputs.hash = "h2"
		st := computeStatus(f, result{failed: &failure{reason: ReasonTokenRequestFailed, message: "503", retryAt: clk.Now().Add(5 * time.Second)}})
		Expect(conds(st)).To(Equal([]string{"Ready=True/RefreshFailing", "Reconciling=True/NewGeneration", "Stalled=False/NewGeneration"}))
	})

	It("refreshing failing after expiry: Ready=False TokenExpired", func() {
		clk.Step(time.Hour)
		f.now = clk.Now()
		st := computeStatus(f, result{failed: &failure{reason: ReasonTokenRequestFailed, message: "503", retryAt: clk.Now().Add(5 * time.Second)}})
		Expect(conds(st)[0]).To(Equal("Ready=False/TokenExpired"))
		Expect(message(st, vantagev1alpha1.ConditionReady)).To(ContainSubstring("expired at 2026-11-22T13:00:00Z"))
	})

	It("a terminal failure stalls with Ready=False even while the old token is valid, and says until when", func() {
		st := computeStatus(f, result{failed: &failure{reason: ReasonInvalidClient, message: "invalid_client", stalled: true, retryAt: clk.Now().Add(time.Hour)}})
		Expect(conds(st)).To(Equal([]string{"Ready=False/InvalidClient", "Reconciling=False/Stalled", "Stalled=True/InvalidClient"}))
		Expect(message(st, vantagev1alpha1.ConditionReady)).To(ContainSubstring("stays valid until 2026-11-22T13:00:00Z"))
	})

	It("waiting out a backoff keeps the failure's conditions, until the token expires", func() {
		*f.cred.GetStatus() = computeStatus(f, result{failed: &failure{reason: ReasonTokenRequestFailed, message: "503 from server", retryAt: clk.Now().Add(20 * time.Minute)}})
		clk.Step(time.Minute)
		f.now = clk.Now()
		waiting := computeStatus(f, result{})
		Expect(apiequality.Semantic.DeepEqual(waiting, *f.cred.GetStatus())).To(BeTrue(), "nothing new: nothing to write")

		clk.Step(10 * time.Minute) // past 13:00
		f.now = clk.Now()
		expired := computeStatus(f, result{})
		Expect(conds(expired)[0]).To(Equal("Ready=False/TokenExpired"))
		Expect(message(expired, vantagev1alpha1.ConditionReady)).To(ContainSubstring("503 from server"))
		Expect(expired.NextRefreshTime).To(Equal(f.cred.GetStatus().NextRefreshTime), "the backoff survives")
	})

	It("a problem a person must fix stalls; one expected to resolve itself (a Secret not created yet) reconciles", func() {
		f.problem = &problem{ReasonInvalidKey, "bad JSON", true}
		f.inputs = nil
		Expect(conds(computeStatus(f, result{}))).To(Equal([]string{"Ready=False/InvalidServiceAccountKey", "Reconciling=False/Stalled", "Stalled=True/InvalidServiceAccountKey"}))

		f.problem = &problem{ReasonSecretNotFound, "Secret sa not found", false}
		st := computeStatus(f, result{})
		Expect(conds(st)).To(Equal([]string{"Ready=False/SecretNotFound", "Reconciling=True/NewGeneration", "Stalled=False/NewGeneration"}))
		Expect(st.NextRefreshTime).To(BeNil())
	})

	It("suspended: Ready follows the token's validity", func() {
		f.cred.GetSpec().Suspend = ptr.To(true)
		Expect(conds(computeStatus(f, result{}))).To(Equal([]string{"Ready=True/Suspended", "Reconciling=False/Suspended", "Stalled=False/Suspended"}))
		f.token = nil
		Expect(conds(computeStatus(f, result{}))[0]).To(Equal("Ready=False/Suspended"))
	})

	It("the initial status is Unknown and reconciling, with the generation observed", func() {
		st := initialStatus(f.cred, clk.Now())
		Expect(conds(st)).To(Equal([]string{"Ready=Unknown/Progressing", "Reconciling=True/IssuingToken", "Stalled=False/IssuingToken"}))
		Expect(st.ObservedGeneration).To(Equal(int64(1)))
	})
})
