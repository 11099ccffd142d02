package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// The metadata cache holds no Secret the operator manages (memory.go), so
// a credential reading one of them as its source hears of its changes
// from the manager's cache instead.
var _ = Describe("a credential whose source is another credential's target", func() {
	It("follows the change of that target at once", func() {
		ns := newNamespace()
		key := "SENTINEL-chained-" + ns
		next := key + "-2"
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "u"})
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: next, UserID: "u2"})
		s := saSecret(ns, "key", map[string]string{"api-key": key})
		newCredential(ns, "a", "", withAPIKey(&vantagev1alpha1.APIKeySecretReference{Name: "key"}))
		Eventually(targetToken(ns, "a"), timeout, interval).Should(Equal(key))
		// b reads a's target, a Secret the operator manages.
		newCredential(ns, "b", "", withAPIKey(&vantagev1alpha1.APIKeySecretReference{Name: "a", Key: ptr.To("VANTAGE_API_KEY")}))
		Eventually(condition(ns, "b", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("True/" + ReasonAPIKeyValid))
		Expect(targetToken(ns, "b")()).To(Equal(key))

		s.StringData = map[string]string{"api-key": next}
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
		Eventually(targetToken(ns, "a"), timeout, interval).Should(Equal(next))
		// b checks again an hour on unless a's change reaches it.
		Eventually(targetToken(ns, "b"), timeout, interval).Should(Equal(next))
	})
})
