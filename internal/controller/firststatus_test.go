package controller

import (
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

var _ = Describe("firstStatus", func() {
	var (
		clk  *clocktesting.FakeClock
		r    *VantageCredentialReconciler
		cred *vantagev1alpha1.VantageCredential
	)
	BeforeEach(func() {
		clk = clocktesting.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
		cred = &vantagev1alpha1.VantageCredential{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", Generation: 1}}
		c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(cred).WithStatusSubresource(cred).Build()
		r = &VantageCredentialReconciler{Client: c, Clock: clk}
	})
	stored := func() *vantagev1alpha1.VantageCredential {
		c := &vantagev1alpha1.VantageCredential{}
		Expect(r.Get(ctx, client.ObjectKeyFromObject(cred), c)).To(Succeed())
		return c
	}

	It("writes nothing when the reconcile has its result within the grace", func() {
		fs := r.firstStatusAfter(ctx, cred, time.Second)
		clk.Step(999 * time.Millisecond)
		Expect(fs.settle(ctx, r, cred, false)).To(Succeed())
		clk.Step(time.Hour)
		Expect(stored().Status.Conditions).To(BeEmpty())
		Expect(cred.Status.Conditions).To(BeEmpty(), "the result is computed from the empty status")
	})

	It("writes the first status at once when the reconcile ends without a result", func() {
		fs := r.firstStatusAfter(ctx, cred, time.Second)
		Expect(fs.settle(ctx, r, cred, true)).To(Succeed())
		Expect(conds(stored().Status)).To(Equal([]string{"Ready=Unknown/Progressing", "Reconciling=True/IssuingToken", "Stalled=False/IssuingToken"}))
		Expect(stored().Status.ObservedGeneration).To(Equal(int64(1)))
	})

	It("writes the first status when the grace runs out, and hands it to the reconcile", func() {
		fs := r.firstStatusAfter(ctx, cred, time.Second)
		clk.Step(time.Second)
		Eventually(func() []metav1.Condition { return stored().Status.Conditions }, timeout, interval).Should(HaveLen(3))
		Expect(cred.Status.Conditions).To(BeEmpty(), "the timer writes its own copy while the reconcile runs")
		Expect(fs.settle(ctx, r, cred, true)).To(Succeed())
		Expect(cred.Status).To(Equal(stored().Status), "the next write starts from what was written")
		Expect(cred.ResourceVersion).To(Equal(stored().ResourceVersion))
	})
})

var _ = Describe("a new credential's first status", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("is the result itself when the first token comes quickly: one status write", func() {
		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.Scheme})
		Expect(err).NotTo(HaveOccurred())
		id := newClient("s")
		saSecret(ns, "sa", keyFile(id, "s"))
		c := newCredential(ns, "quick", "sa")
		w, err := wc.Watch(ctx, &vantagev1alpha1.VantageCredentialList{}, client.InNamespace(ns),
			&client.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "quick"), Raw: &metav1.ListOptions{ResourceVersion: c.ResourceVersion}})
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()

		// Each status write reaches the watch as a modification; drain
		// records the Ready condition of each one seen so far.
		var writes []string
		drain := func() []string {
			for {
				select {
				case ev := <-w.ResultChan():
					if ev.Type != watch.Modified {
						continue
					}
					ready := meta.FindStatusCondition(ev.Object.(*vantagev1alpha1.VantageCredential).Status.Conditions, vantagev1alpha1.ConditionReady)
					if ready == nil {
						writes = append(writes, "absent")
						continue
					}
					writes = append(writes, string(ready.Status)+"/"+ready.Reason)
				default:
					return writes
				}
			}
		}
		Eventually(drain, timeout, interval).Should(ContainElement("True/" + ReasonTokenValid))
		Expect(writes).To(Equal([]string{"True/" + ReasonTokenValid}), "no separate first status before the result")
		Consistently(drain, quiet, interval).Should(HaveLen(1), "nothing written after the result")
	})

	It("is written within the grace while the token server is slow, and the result follows", func() {
		id := newClient("s")
		release := make(chan struct{})
		faultFor(id, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
				token(`,"expires_in":3600`)(w, r)
			case <-r.Context().Done():
			}
		})
		saSecret(ns, "sa", keyFile(id, "s"))
		newCredential(ns, "slow", "sa")
		Eventually(condition(ns, "slow", vantagev1alpha1.ConditionReady), 3*time.Second, interval).Should(Equal("Unknown/" + ReasonProgressing))
		Expect(condition(ns, "slow", vantagev1alpha1.ConditionReconciling)()).To(Equal("True/" + reconcilingFirstToken))
		close(release)
		waitReady(ns, "slow")
	})
})
