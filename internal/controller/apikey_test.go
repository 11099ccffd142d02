package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

// apiKeyFactsAt builds facts for an API-key credential whose target holds
// a key checked at checked that expires at expires (zero: never), seen at
// the clock's now.
func apiKeyFactsAt(clk *clocktesting.FakeClock, checked, expires time.Time) *facts {
	f := factsAt(clk, checked)
	f.cred.GetSpec().APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "key"}
	f.cred.GetStatus().LastValidationTime = ptr.To(metav1.NewTime(checked))
	f.inputs.apiURL = "https://api.example"
	f.token = &currentToken{issuedAt: checked, expiresAt: expires, inputsHash: "h1", source: oauth.LifetimeAuthTest}
	return f
}

var _ = Describe("an API key's decisions", func() {
	p := refresh.DefaultPolicy()
	p.JitterFraction = 0

	DescribeTable("when to check the key",
		func(elapsed time.Duration, expires time.Duration, mutate func(*facts), want trigger, wantWake time.Duration) {
			clk := clocktesting.NewFakeClock(epoch)
			clk.Step(elapsed)
			var exp time.Time
			if expires != 0 {
				exp = epoch.Add(expires)
			}
			f := apiKeyFactsAt(clk, epoch, exp)
			if mutate != nil {
				mutate(f)
			}
			d := decide(f, p)
			Expect(d.exchange).To(Equal(want))
			if wantWake == 0 {
				Expect(d.wakeAt.IsZero()).To(BeTrue(), "no timed wake, got %s", d.wakeAt)
			} else {
				Expect(d.wakeAt).To(Equal(epoch.Add(wantWake)))
			}
		},
		Entry("checked 10m ago: next check after the default hour", 10*time.Minute, time.Duration(0), nil, triggerNone, time.Hour),
		Entry("an hour since the check: check", time.Hour, time.Duration(0), nil, triggerScheduled, time.Duration(0)),
		Entry("validateInterval 5m", 5*time.Minute, time.Duration(0), func(f *facts) {
			f.cred.GetSpec().ValidateInterval = &metav1.Duration{Duration: 5 * time.Minute}
		}, triggerScheduled, time.Duration(0)),
		Entry("the last check counts, not the write", 90*time.Minute, time.Duration(0), func(f *facts) {
			f.cred.GetStatus().LastValidationTime = ptr.To(metav1.NewTime(epoch.Add(time.Hour)))
		}, triggerNone, 2*time.Hour),
		Entry("expired: no check can help, nor any timer", 3*time.Hour, 2*time.Hour, nil, triggerNone, time.Duration(0)),
		Entry("rotated in its Secret: check at once", 10*time.Minute, time.Duration(0), func(f *facts) {
			f.inputs.hash = "h2"
		}, triggerInputsChanged, time.Duration(0)),
		Entry("refused by the API: no retry by timer", 3*time.Hour, time.Duration(0), func(f *facts) {
			f.cred.GetStatus().ConsecutiveFailures = 1
			f.cred.GetStatus().FailedSourceVersion = f.sourceVersion
			f.cred.GetStatus().NextRefreshTime = nil
		}, triggerNone, time.Duration(0)),
		Entry("refused, then the Secret changed: check at once", 3*time.Hour, time.Duration(0), func(f *facts) {
			f.cred.GetStatus().ConsecutiveFailures = 1
			f.cred.GetStatus().FailedSourceVersion = "9"
		}, triggerInputsChanged, time.Duration(0)),
	)
})

var _ = Describe("an API key's status", func() {
	var clk *clocktesting.FakeClock
	BeforeEach(func() { clk = clocktesting.NewFakeClock(epoch.Add(10 * time.Minute)) })

	It("says whom the key authenticates and that it never expires", func() {
		f := apiKeyFactsAt(clk, clk.Now(), time.Time{})
		st := computeStatus(f, result{exchanged: true, checked: true, userID: "user_123", scopes: []string{"jobs:read"}, nextRefresh: clk.Now().Add(time.Hour)})
		Expect(conds(st)).To(Equal([]string{"Ready=True/APIKeyValid", "Reconciling=False/Succeeded", "Stalled=False/Succeeded"}))
		Expect(st.ExpiresAt).To(BeNil(), "null expires_at: no expiry")
		Expect(st.UserID).To(Equal("user_123"))
		Expect(st.GrantedScopes).To(Equal([]string{"jobs:read"}))
		Expect(st.LastValidationTime.Time).To(Equal(clk.Now().Truncate(time.Second)))
		Expect(message(st, vantagev1alpha1.ConditionReady)).To(ContainSubstring(`for user "user_123"; it never expires; next check at`))
	})

	It("says a key the API could not check is unverified, yet Ready", func() {
		f := apiKeyFactsAt(clk, clk.Now(), time.Time{})
		f.token.source = oauth.LifetimeUnverified
		st := computeStatus(f, result{exchanged: true, checked: true, nextRefresh: clk.Now().Add(time.Hour)})
		Expect(conds(st)[0]).To(Equal("Ready=True/APIKeyUnverified"))
		Expect(message(st, vantagev1alpha1.ConditionReady)).To(ContainSubstring("has no /v1/auth/test endpoint, so the key could not be checked"))
	})

	It("turns Ready False at the expiry, stalled until a new key", func() {
		f := apiKeyFactsAt(clk, epoch, epoch.Add(5*time.Minute))
		st := computeStatus(f, result{})
		Expect(conds(st)).To(Equal([]string{"Ready=False/APIKeyExpired", "Reconciling=False/Stalled", "Stalled=True/APIKeyExpired"}))
		Expect(message(st, vantagev1alpha1.ConditionReady)).To(ContainSubstring(`put a new one in Secret "key"`))
	})

	It("keeps Ready True through a failed check while the key is valid, with the check's reason", func() {
		f := apiKeyFactsAt(clk, epoch, time.Time{})
		*f.cred.GetStatus() = computeStatus(f, result{checked: true, nextRefresh: epoch.Add(time.Hour)})
		st := computeStatus(f, result{failed: &failure{reason: ReasonValidationFailed, message: "the Vantage API answered 503", retryAt: clk.Now().Add(time.Minute)}})
		Expect(conds(st)[0]).To(Equal("Ready=True/ValidationFailed"))
		Expect(message(st, vantagev1alpha1.ConditionReady)).To(ContainSubstring(`the API key in Secret "c" never expires`))
	})

	It("refused by the API: stalled with no retry time", func() {
		f := apiKeyFactsAt(clk, epoch, time.Time{})
		st := computeStatus(f, result{failed: &failure{reason: ReasonAPIKeyRejected, message: "the Vantage API refused the credential", stalled: true}})
		Expect(conds(st)).To(Equal([]string{"Ready=False/APIKeyRejected", "Reconciling=False/Stalled", "Stalled=True/APIKeyRejected"}))
		Expect(st.NextRefreshTime).To(BeNil())
	})

	It("warns of a close expiry at most once a day, and again for a new key", func() {
		expires := epoch.Add(3 * 24 * time.Hour)
		f := apiKeyFactsAt(clk, epoch, expires)
		f.cred.GetSpec().ExpiryWarning = &metav1.Duration{Duration: 72 * time.Hour}
		step := func(d time.Duration, res result) *metav1.Time {
			GinkgoHelper()
			clk.Step(d)
			f.now = clk.Now()
			*f.cred.GetStatus() = computeStatus(f, res)
			return f.cred.GetStatus().ExpiryWarningTime
		}
		first := step(0, result{})
		Expect(first).NotTo(BeNil(), "within 72h of the expiry")
		Expect(step(time.Hour, result{})).To(Equal(first), "an hour on: no second warning")
		Expect(step(22*time.Hour, result{})).To(Equal(first), "23 hours on: still none")
		Expect(wakeAt(f, result{}, f.cred.GetStatus())).To(Equal(first.Add(24*time.Hour)), "the reconciler wakes for the next one")
		second := step(time.Hour, result{})
		Expect(second.Time).To(Equal(first.Add(24*time.Hour)), "a day on: the next warning")
		f.token.issuedAt = clk.Now()
		Expect(step(time.Minute, result{exchanged: true, checked: true})).NotTo(Equal(second), "a new key that is also close gets its own")
	})

	It("does not warn while the expiry is far, but wakes when it comes close", func() {
		f := apiKeyFactsAt(clk, epoch, epoch.Add(30*24*time.Hour))
		*f.cred.GetStatus() = computeStatus(f, result{})
		Expect(f.cred.GetStatus().ExpiryWarningTime).To(BeNil())
		Expect(expiryWarningWake(f, nil)).To(Equal(epoch.Add(16 * 24 * time.Hour)))
	})
})

var _ = Describe("reading an API key from its Secret", func() {
	DescribeTable("refuses a value no key can be, without quoting it",
		func(raw string, reason, words string) {
			got, p := checkAPIKey("key", "api-key", []byte(raw))
			if reason == "" {
				Expect(p).To(BeNil())
				Expect(got).To(Equal("vk_live_abc"), "the key, without what surrounds it")
				return
			}
			Expect(p).NotTo(BeNil())
			Expect(p.reason).To(Equal(reason))
			Expect(p.message).To(ContainSubstring(words))
			if len(raw) > 3 {
				Expect(p.message).NotTo(ContainSubstring(raw[1 : len(raw)-1]))
			}
		},
		Entry("a key with a trailing newline, as echo writes it", "vk_live_abc\n", "", ""),
		Entry("empty", "", ReasonInvalidAPIKey, "is empty"),
		Entry("only a newline", "\n", ReasonInvalidAPIKey, "is empty"),
		Entry("two words", "vk_live abc", ReasonInvalidAPIKey, "spaces or control characters"),
		Entry("a control character", "vk_live\x01abc", ReasonInvalidAPIKey, "spaces or control characters"),
	)
})
