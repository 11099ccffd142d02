package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

var _ = Describe("while the Kubernetes API fails the operator's writes", func() {
	It("keeps the token it got, marks nothing failed, and writes it within seconds of the API's return", func() {
		ns := newNamespace()
		id := newClient("away-secret")
		saSecret(ns, "sa", keyFile(id, "away-secret"))
		cred := newCredential(ns, "away", "sa")
		waitReady(ns, "away")
		Expect(requestsFor(id)()).To(Equal(1))
		first := targetToken(ns, "away")()

		apiAway.toggle(ns, true)
		DeferCleanup(apiAway.toggle, ns, false)
		patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) {
			c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "while-away"}
		})
		Eventually(requestsFor(id), timeout, interval).Should(Equal(2), "the requested refresh gets its token")
		// Longer than the retry delay cap, so the failed write is retried
		// several times, each with the token already issued.
		Consistently(requestsFor(id), maxRetryDelay+2*time.Second, 100*time.Millisecond).Should(Equal(2),
			"one token request, however often the write is retried")
		Expect(targetToken(ns, "away")()).To(Equal(first))
		Expect(getCredential(ns, "away").Status.ConsecutiveFailures).To(BeZero(), "the token server did not fail")
		Expect(condition(ns, "away", vantagev1alpha1.ConditionReady)()).To(Equal("True/" + ReasonTokenValid))

		back := time.Now()
		apiAway.toggle(ns, false)
		Eventually(targetToken(ns, "away"), maxRetryDelay+5*time.Second, 50*time.Millisecond).ShouldNot(Equal(first))
		GinkgoWriter.Printf("token written %.1fs after the API came back\n", time.Since(back).Seconds())
		Eventually(func() string { return getCredential(ns, "away").Status.LastHandledRefreshRequest },
			timeout, interval).Should(Equal("while-away"))
		Expect(requestsFor(id)()).To(Equal(2), "the token written is the one issued while the API was away")
		Expect(getCredential(ns, "away").Status.ConsecutiveFailures).To(BeZero())
	})
})
