package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/refresh"
)

var epoch = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// factsAt builds facts for a credential whose target holds a one-hour token
// issued at issued with the current inputs, seen at now.
func factsAt(clk *clocktesting.FakeClock, issued time.Time) *facts {
	cred := &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns", UID: "uid-1", Generation: 1},
		Status: vantagev1alpha1.VantageCredentialStatus{
			ObservedGeneration: 1,
			LastRefreshTime:    ptr.To(metav1.NewTime(issued)),
		},
	}
	return &facts{
		now:           clk.Now(),
		cred:          cred,
		sourceVersion: "10",
		inputs:        &inputs{hash: "h1"},
		targetName:    "c",
		token:         &currentToken{issuedAt: issued, expiresAt: issued.Add(time.Hour), inputsHash: "h1"},
	}
}

var _ = Describe("decide", func() {
	p := refresh.DefaultPolicy()
	p.JitterFraction = 0 // exact times below

	DescribeTable("when to request a token",
		func(elapsed time.Duration, mutate func(*facts), want trigger, wantWake time.Duration) {
			clk := clocktesting.NewFakeClock(epoch)
			clk.Step(elapsed)
			f := factsAt(clk, epoch)
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
		Entry("fresh token: wait until two thirds of the lifetime", 10*time.Minute, nil, triggerNone, 40*time.Minute),
		Entry("due: refresh", 40*time.Minute, nil, triggerScheduled, time.Duration(0)),
		Entry("explicit refreshBefore", 45*time.Minute, func(f *facts) {
			f.cred.GetSpec().RefreshBefore = &metav1.Duration{Duration: 10 * time.Minute}
		}, triggerNone, 50*time.Minute),
		Entry("expired token: refresh", 2*time.Hour, nil, triggerScheduled, time.Duration(0)),
		Entry("first token", time.Duration(0), func(f *facts) { f.token = nil; f.cred.GetStatus().LastRefreshTime = nil }, triggerFirst, time.Duration(0)),
		Entry("target gone after a token was issued", time.Duration(0), func(f *facts) { f.token = nil }, triggerTargetChanged, time.Duration(0)),
		Entry("inputs changed (rotated key, new scopes)", time.Minute, func(f *facts) { f.inputs.hash = "h2" }, triggerInputsChanged, time.Duration(0)),
		Entry("refresh requested", time.Minute, func(f *facts) {
			f.cred.SetAnnotations(map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "t1"})
		}, triggerRequested, time.Duration(0)),
		Entry("refresh request already handled", time.Minute, func(f *facts) {
			f.cred.SetAnnotations(map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "t1"})
			f.cred.GetStatus().LastHandledRefreshRequest = "t1"
		}, triggerNone, 40*time.Minute),
		Entry("suspended: never, but wake at expiry", 50*time.Minute, func(f *facts) { f.cred.GetSpec().Suspend = ptr.To(true) }, triggerNone, time.Hour),
		Entry("suspended with an expired token: no wake", 2*time.Hour, func(f *facts) { f.cred.GetSpec().Suspend = ptr.To(true) }, triggerNone, time.Duration(0)),
		Entry("input problem: wait for a watch, wake at expiry", 50*time.Minute, func(f *facts) {
			f.problem = &problem{reason: ReasonSecretNotFound}
			f.inputs = nil
		}, triggerNone, time.Hour),
		Entry("backing off: wait for the recorded retry time", 50*time.Minute, func(f *facts) {
			f.cred.GetStatus().ConsecutiveFailures = 2
			f.cred.GetStatus().FailedSourceVersion = "10"
			f.cred.GetStatus().NextRefreshTime = ptr.To(metav1.NewTime(epoch.Add(52 * time.Minute)))
		}, triggerNone, 52*time.Minute),
		Entry("backing off past expiry: wake at expiry first", 59*time.Minute, func(f *facts) {
			f.cred.GetStatus().ConsecutiveFailures = 2
			f.cred.GetStatus().FailedSourceVersion = "10"
			f.cred.GetStatus().NextRefreshTime = ptr.To(metav1.NewTime(epoch.Add(70 * time.Minute)))
		}, triggerNone, time.Hour),
		Entry("backoff over: retry", 53*time.Minute, func(f *facts) {
			f.cred.GetStatus().ConsecutiveFailures = 2
			f.cred.GetStatus().FailedSourceVersion = "10"
			f.cred.GetStatus().NextRefreshTime = ptr.To(metav1.NewTime(epoch.Add(52 * time.Minute)))
		}, triggerRetry, time.Duration(0)),
		Entry("backing off but the source Secret changed: retry now", 50*time.Minute, func(f *facts) {
			f.cred.GetStatus().ConsecutiveFailures = 5
			f.cred.GetStatus().FailedSourceVersion = "9"
			f.cred.GetStatus().NextRefreshTime = ptr.To(metav1.NewTime(epoch.Add(2 * time.Hour)))
		}, triggerInputsChanged, time.Duration(0)),
		Entry("backing off but the spec changed: retry now", 50*time.Minute, func(f *facts) {
			f.cred.SetGeneration(2)
			f.cred.GetStatus().ConsecutiveFailures = 5
			f.cred.GetStatus().FailedSourceVersion = "10"
			f.cred.GetStatus().NextRefreshTime = ptr.To(metav1.NewTime(epoch.Add(2 * time.Hour)))
		}, triggerInputsChanged, time.Duration(0)),
		Entry("backing off but a refresh was requested: retry now", 50*time.Minute, func(f *facts) {
			f.cred.SetAnnotations(map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "t2"})
			f.cred.GetStatus().ConsecutiveFailures = 5
			f.cred.GetStatus().FailedSourceVersion = "10"
			f.cred.GetStatus().NextRefreshTime = ptr.To(metav1.NewTime(epoch.Add(2 * time.Hour)))
		}, triggerRequested, time.Duration(0)),
	)
})
