package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

var _ = Describe("sourceData", func() {
	key := types.NamespacedName{Namespace: "ns", Name: "sa"}
	data := map[string][]byte{"client_id": []byte("c")}

	It("gives the data only for the version it was read at", func() {
		s := newSourceData()
		_, ok := s.get(key, "1")
		Expect(ok).To(BeFalse())
		s.put(key, "1", data)
		got, ok := s.get(key, "1")
		Expect(ok).To(BeTrue())
		Expect(got).To(Equal(data))
		_, ok = s.get(key, "2")
		Expect(ok).To(BeFalse(), "a newer version must be read")
		_, ok = s.get(types.NamespacedName{Namespace: "other", Name: "sa"}, "1")
		Expect(ok).To(BeFalse(), "namespaces never share")
	})

	It("drops a Secret's data when the Secret is deleted, tombstones included", func() {
		s := newSourceData()
		h := s.forgetDeleted()
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "sa"}}

		s.put(key, "1", data)
		h.OnDelete(m)
		_, ok := s.get(key, "1")
		Expect(ok).To(BeFalse())

		s.put(key, "1", data)
		h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/sa", Obj: m})
		_, ok = s.get(key, "1")
		Expect(ok).To(BeFalse())
	})
})

var _ = Describe("reading source Secrets", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("reads a source live once per version, however many reconciles and credentials use it", func() {
		id := newClient("s1")
		src := saSecret(ns, "sa", keyFile(id, "s1"))
		a := newCredential(ns, "a", "sa")
		waitReady(ns, "a")
		Expect(liveReads.of(ns, "sa")()).To(Equal(1), "the reconcile set off by writing the target reads nothing")

		// A second credential of the same source, and a forced refresh:
		// new tokens, no new read.
		newCredential(ns, "b", "sa")
		waitReady(ns, "b")
		patchCredential(a, func(c *vantagev1alpha1.VantageCredential) {
			c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "now"}
		})
		Eventually(func() string { return getCredential(ns, "a").Status.LastHandledRefreshRequest }, timeout, interval).Should(Equal("now"))
		Expect(liveReads.of(ns, "sa")()).To(Equal(1))

		// A new version is read, once for each credential at most.
		tokenA, tokenB := targetToken(ns, "a")(), targetToken(ns, "b")()
		newID := newClient("s2")
		base := src.DeepCopy()
		src.StringData = keyFile(newID, "s2")
		Expect(k8sClient.Patch(ctx, src, client.MergeFrom(base))).To(Succeed())
		Eventually(targetToken(ns, "a"), timeout, interval).ShouldNot(Equal(tokenA))
		Eventually(targetToken(ns, "b"), timeout, interval).ShouldNot(Equal(tokenB))
		Consistently(liveReads.of(ns, "sa"), quiet, interval).Should(And(BeNumerically(">=", 2), BeNumerically("<=", 3)))
	})

	It("acts on a deleted and recreated source as on a new one", func() {
		id := newClient("s3")
		src := saSecret(ns, "sa", keyFile(id, "s3"))
		newCredential(ns, "c", "sa")
		waitReady(ns, "c")
		Expect(k8sClient.Delete(ctx, src)).To(Succeed())

		newID := newClient("s4")
		saSecret(ns, "sa", keyFile(newID, "s4"))
		Eventually(requestsFor(newID), timeout, interval).Should(Equal(1), "the recreated Secret's key is used")
		waitReady(ns, "c")
	})
})
