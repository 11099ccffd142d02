package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

var _ = Describe("a token server with a private CA", func() {
	var ns, id string
	BeforeEach(func() {
		ns = newNamespace()
		id = newClient("right")
		tlsSrv.AddClient(oauthtest.Client{ID: id, Secret: "right"})
		saSecret(ns, "sa", keyFile(id, "right"))
	})
	onTLSServer := func(tls *vantagev1alpha1.TLSConfig) func(*vantagev1alpha1.VantageCredential) {
		return func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.TokenURL = ptr.To(tlsSrv.TokenURL())
			c.Spec.TLS = tls
		}
	}
	readyMessage := func(name string) string {
		return meta.FindStatusCondition(getCredential(ns, name).Status.Conditions, vantagev1alpha1.ConditionReady).Message
	}

	It("is not trusted without its CA, and is used once the CA is given", func() {
		newCredential(ns, "c", "sa", onTLSServer(nil))
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonTLSVerificationFailed))
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(HavePrefix("True/"))
		Expect(readyMessage("c")).To(ContainSubstring("certificate is not trusted"))
		Expect(tlsSrv.RequestsFor(id)).To(BeZero(), "no request gets past the TLS handshake")

		patchCredential(getCredential(ns, "c"), func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.TLS = &vantagev1alpha1.TLSConfig{CABundleRef: &vantagev1alpha1.CABundleReference{
				Kind: vantagev1alpha1.CABundleConfigMap, Name: "token-server-ca"}}
		})
		// The ConfigMap does not exist yet: waiting for it is no stall.
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonCABundleNotFound))
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(HavePrefix("False/"))

		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token-server-ca"},
			Data: map[string]string{"ca.crt": string(tlsSrv.CAPEM())}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		waitReady(ns, "c")
		Expect(tlsSrv.RequestsFor(id)).To(Equal(1))
		Expect(getCredential(ns, "c").Status.Conditions).NotTo(ContainElement(HaveField("Type", vantagev1alpha1.ConditionTLSVerified)))
	})

	It("takes the CA from a Secret key, and refuses a bundle that is not PEM until it is fixed", func() {
		ca := saSecret(ns, "ca", map[string]string{"bundle.pem": "not a certificate"})
		newCredential(ns, "c", "sa", onTLSServer(&vantagev1alpha1.TLSConfig{CABundleRef: &vantagev1alpha1.CABundleReference{
			Kind: vantagev1alpha1.CABundleSecret, Name: "ca", Key: ptr.To("bundle.pem")}}))
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonInvalidCABundle))
		Expect(readyMessage("c")).To(ContainSubstring(`key "bundle.pem" of Secret "ca" holds no PEM certificate`))
		Expect(tlsSrv.RequestsFor(id)).To(BeZero())

		base := ca.DeepCopy()
		ca.StringData = map[string]string{"bundle.pem": string(tlsSrv.CAPEM())}
		Expect(k8sClient.Patch(ctx, ca, client.MergeFrom(base))).To(Succeed())
		waitReady(ns, "c")
		Expect(tlsSrv.RequestsFor(id)).To(Equal(1))
	})

	It("works with verification off, and says so in a condition and a Warning event on every request", func() {
		newCredential(ns, "c", "sa", onTLSServer(&vantagev1alpha1.TLSConfig{InsecureSkipVerify: ptr.To(true)}))
		waitReady(ns, "c")
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionTLSVerified), timeout, interval).Should(Equal("False/" + ReasonInsecureSkipVerify))
		Eventually(func() []string {
			var evs eventsv1.EventList
			Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			var got []string
			for _, e := range evs.Items {
				got = append(got, e.Type+"/"+e.Reason)
			}
			return got
		}, timeout, interval).Should(ContainElement(corev1.EventTypeWarning + "/" + ReasonInsecureSkipVerify))

		// Verification back on (with the CA): the warning condition goes,
		// and no new token is needed for that.
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"}, Data: map[string]string{"ca.crt": string(tlsSrv.CAPEM())}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		patchCredential(getCredential(ns, "c"), func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.TLS = &vantagev1alpha1.TLSConfig{CABundleRef: &vantagev1alpha1.CABundleReference{Kind: vantagev1alpha1.CABundleConfigMap, Name: "ca"}}
		})
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionTLSVerified), timeout, interval).Should(Equal("absent"))
		Consistently(func() int { return tlsSrv.RequestsFor(id) }, time.Second, interval).Should(Equal(1))
	})
})
