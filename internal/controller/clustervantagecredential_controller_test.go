package controller

import (
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// selectorKey is the namespace label the cluster credentials of these
// tests select by; each test uses a value of its own, so no test sees the
// namespaces of another.
const selectorKey = "test.vantage.omnivector.solutions/tenant"

var _ = Describe("ClusterVantageCredential controller", func() {
	var tenant, id, source string
	BeforeEach(func() {
		n := nsCounter.Add(1)
		tenant = fmt.Sprintf("tenant-%d", n)
		source = fmt.Sprintf("cluster-sa-%d", n)
		id = newClient("s3cret")
		saSecret(operatorNamespace, source, keyFile(id, "s3cret"))
	})

	It("writes one token into every namespace the selector or the list picks, with one token request", func() {
		picked := []string{labelledNamespace(tenant), labelledNamespace(tenant), labelledNamespace(tenant), labelledNamespace(tenant)}
		listed := newNamespace()
		other := newNamespace()
		cred := newClusterCredential(tenant, source, func(t *vantagev1alpha1.TargetSpec) { t.Namespaces = []string{listed} })

		got := waitClusterReady(tenant)
		Expect(got.Status.TargetNamespaces).To(BeEquivalentTo(5))
		Expect(got.Status.FailedCount).To(BeZero())
		Expect(got.Status.TargetSecretName).To(Equal("vantage-token"))
		token := targetToken(picked[0], "vantage-token")()
		Expect(tokenSrv.IssuedTokens()).To(ContainElement(token))
		for _, ns := range append(picked, listed) {
			s, err := getSecret(ns, "vantage-token")
			Expect(err).NotTo(HaveOccurred())
			Expect(string(s.Data["VANTAGE_API_KEY"])).To(Equal(token), "every namespace holds the one token")
			Expect(s.Labels).To(HaveKeyWithValue(vantagev1alpha1.ClusterCredentialLabel, tenant))
			Expect(s.Labels).NotTo(HaveKey(vantagev1alpha1.CredentialLabel))
			Expect(metav1.GetControllerOf(s)).To(PointTo(MatchFields(IgnoreExtras, Fields{
				"Kind": Equal("ClusterVantageCredential"), "Name": Equal(tenant), "UID": Equal(cred.UID)})))
		}
		_, err := getSecret(other, "vantage-token")
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a namespace not picked gets nothing")
		_, err = getSecret(operatorNamespace, "vantage-token")
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "nor does the operator's own")
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))

		Eventually(func() []string { return eventNotes(tenant) }, timeout, interval).Should(ContainElement(And(
			HavePrefix("Issued: wrote a token valid until"), ContainSubstring(`to Secret "vantage-token" in 5 namespaces`))))

		By("writing nothing in steady state")
		Expect(getClusterCredential(tenant).ResourceVersion).To(Equal(got.ResourceVersion))
	})

	It("follows namespaces that are created, relabelled in and out, or deleted, without a token request", func() {
		first := labelledNamespace(tenant)
		newClusterCredential(tenant, source)
		waitClusterReady(tenant)
		token := targetToken(first, "vantage-token")()

		By("a new namespace that matches")
		second := labelledNamespace(tenant)
		Eventually(targetToken(second, "vantage-token"), timeout, interval).Should(Equal(token))

		By("a namespace relabelled to match")
		third := newNamespace()
		relabel(third, map[string]string{selectorKey: tenant})
		Eventually(targetToken(third, "vantage-token"), timeout, interval).Should(Equal(token))
		Eventually(func() int32 { return getClusterCredential(tenant).Status.TargetNamespaces }, timeout, interval).Should(BeEquivalentTo(3))

		By("an unrelated namespace changing, which costs no write")
		before := getClusterCredential(tenant).ResourceVersion
		targetBefore, err := getSecret(first, "vantage-token")
		Expect(err).NotTo(HaveOccurred())
		bystander := newNamespace()
		relabel(bystander, map[string]string{"unrelated": "yes"})
		Consistently(func() string { return getClusterCredential(tenant).ResourceVersion }, quiet, interval).Should(Equal(before))

		By("a namespace relabelled out of the selector")
		relabel(third, map[string]string{selectorKey: "someone-else"})
		Eventually(func() bool { _, err := getSecret(third, "vantage-token"); return apierrors.IsNotFound(err) }, timeout, interval).Should(BeTrue())

		By("a namespace being deleted (envtest never finishes deleting one)")
		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: second}})).To(Succeed())
		Eventually(func() bool { _, err := getSecret(second, "vantage-token"); return apierrors.IsNotFound(err) }, timeout, interval).Should(BeTrue())
		Eventually(func() int32 { return getClusterCredential(tenant).Status.TargetNamespaces }, timeout, interval).Should(BeEquivalentTo(1))

		Expect(requestsFor(id)()).To(Equal(1), "namespaces coming and going cost no token request")
		targetAfter, err := getSecret(first, "vantage-token")
		Expect(err).NotTo(HaveOccurred())
		Expect(targetAfter.ResourceVersion).To(Equal(targetBefore.ResourceVersion), "the namespace that stayed was not written")
		_, err = getSecret(bystander, "vantage-token")
		Expect(apierrors.IsNotFound(err)).To(BeTrue())
	})

	It("leaves a Secret it does not own alone, lists its namespace as failed, and serves the others", func() {
		blocked := labelledNamespace(tenant)
		fine := labelledNamespace(tenant)
		theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: blocked, Name: "vantage-token"}, StringData: map[string]string{"mine": "keep"}}
		Expect(k8sClient.Create(ctx, theirs)).To(Succeed())
		newClusterCredential(tenant, source)

		got := waitClusterReady(tenant)
		Expect(got.Status.TargetNamespaces).To(BeEquivalentTo(1))
		Expect(got.Status.FailedCount).To(BeEquivalentTo(1))
		Expect(got.Status.FailedNamespaces).To(ConsistOf(MatchFields(IgnoreExtras, Fields{
			"Namespace": Equal(blocked), "Reason": Equal(ReasonTargetConflict), "Message": ContainSubstring("not managed by this operator")})))
		Expect(meta.FindStatusCondition(got.Status.Conditions, vantagev1alpha1.ConditionReady).Message).To(ContainSubstring("1 of 2 namespaces could not take it"))
		Expect(targetToken(fine, "vantage-token")()).NotTo(BeEmpty())
		s, err := getSecret(blocked, "vantage-token")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Data).To(Equal(map[string][]byte{"mine": []byte("keep")}), "a Secret the operator does not own is never touched")

		By("the blocking Secret going away")
		Expect(k8sClient.Delete(ctx, theirs)).To(Succeed())
		Eventually(targetToken(blocked, "vantage-token"), timeout, interval).Should(Equal(targetToken(fine, "vantage-token")()))
		Eventually(func() int32 { return getClusterCredential(tenant).Status.FailedCount }, timeout, interval).Should(BeZero())
		Expect(requestsFor(id)()).To(Equal(1))
	})

	It("deletes every target it wrote when it is deleted, with no garbage collector running", func() {
		a, b := labelledNamespace(tenant), labelledNamespace(tenant)
		cred := newClusterCredential(tenant, source)
		waitClusterReady(tenant)
		Expect(k8sClient.Delete(ctx, cred)).To(Succeed())
		for _, ns := range []string{a, b} {
			Eventually(func() bool { _, err := getSecret(ns, "vantage-token"); return apierrors.IsNotFound(err) }, timeout, interval).Should(BeTrue())
		}
		_, err := getSecret(operatorNamespace, source)
		Expect(err).NotTo(HaveOccurred(), "the key Secret stays")
	})

	It("is Ready=False NoTargetNamespaces, not Stalled, while nothing matches, and requests nothing", func() {
		newClusterCredential(tenant, source)
		Eventually(clusterCondition(tenant, vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonNoTargetNamespaces))
		Expect(clusterCondition(tenant, vantagev1alpha1.ConditionStalled)()).To(HavePrefix("False/"))
		Consistently(requestsFor(id), quiet, interval).Should(BeZero())

		By("a namespace appearing")
		ns := labelledNamespace(tenant)
		waitClusterReady(tenant)
		Expect(targetToken(ns, "vantage-token")()).NotTo(BeEmpty())
	})

	It("reads its key only in the operator's namespace, never in a target namespace", func() {
		ns := labelledNamespace(tenant)
		saSecret(ns, "tenant-key", keyFile(id, "s3cret"))
		newClusterCredential(tenant, "tenant-key")
		Eventually(clusterCondition(tenant, vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonSecretNotFound))
		ready := meta.FindStatusCondition(getClusterCredential(tenant).Status.Conditions, vantagev1alpha1.ConditionReady)
		Expect(ready.Message).To(ContainSubstring(fmt.Sprintf("in namespace %q", operatorNamespace)))
		Consistently(requestsFor(id), quiet, interval).Should(BeZero())
	})

	It("never puts a token or client secret into logs, events or status", func() {
		const secret = "SENTINEL-cluster-secret-51a7c2"
		sentinelID := newClient(secret)
		saSecret(operatorNamespace, source+"-sentinel", keyFile(sentinelID, secret))
		saSecret(operatorNamespace, source+"-wrong", keyFile(sentinelID, secret+"-wrong"))
		blocked := labelledNamespace(tenant)
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: blocked, Name: "vantage-token"}})).To(Succeed())
		labelledNamespace(tenant)
		newClusterCredential(tenant, source+"-sentinel")
		waitClusterReady(tenant)
		newClusterCredential(tenant+"-wrong", source+"-wrong", func(t *vantagev1alpha1.TargetSpec) {
			t.NamespaceSelector.MatchLabels[selectorKey] = tenant
			t.Name = ptr.To("other-token")
		})
		Eventually(clusterCondition(tenant+"-wrong", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonInvalidClient))
		Eventually(func() []string { return eventNotes(tenant + "-wrong") }, timeout, interval).ShouldNot(BeEmpty())

		evJSON, err := json.Marshal(append(eventNotes(tenant), eventNotes(tenant+"-wrong")...))
		Expect(err).NotTo(HaveOccurred())
		credJSON, err := json.Marshal([]any{getClusterCredential(tenant), getClusterCredential(tenant + "-wrong")})
		Expect(err).NotTo(HaveOccurred())
		Expect(string(credJSON)).To(ContainSubstring("failedNamespaces"), "the failure list is part of what is looked at")
		for where, text := range map[string]string{"logs": logs.String(), "events": string(evJSON), "status": string(credJSON)} {
			for _, needle := range append([]string{secret}, tokenSrv.IssuedTokens()...) {
				Expect(strings.Contains(text, needle)).To(BeFalse(), "%s contain a secret value", where)
			}
		}
	})

	DescribeTable("the API server refuses",
		func(spec, want string) {
			u := rawClusterCredential(tenant, spec)
			err := k8sClient.Create(ctx, u)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("an empty target", `{"serviceAccountSecretRef":{"name":"sa"}}`, "set spec.target.namespaceSelector or spec.target.namespaces"),
		Entry("a target with neither selector nor namespaces", `{"serviceAccountSecretRef":{"name":"sa"},"target":{"name":"t"}}`,
			"set spec.target.namespaceSelector or spec.target.namespaces"),
		Entry("a selector operator that does not exist", `{"serviceAccountSecretRef":{"name":"sa"},"target":{"namespaceSelector":{"matchExpressions":[{"key":"a","operator":"Near"}]}}}`,
			"operator must be In, NotIn, Exists or DoesNotExist"),
		Entry("In without values", `{"serviceAccountSecretRef":{"name":"sa"},"target":{"namespaceSelector":{"matchExpressions":[{"key":"a","operator":"In"}]}}}`,
			"In and NotIn need values"),
		Entry("a listed namespace that is no namespace name", `{"serviceAccountSecretRef":{"name":"sa"},"target":{"namespaces":["Not_A_Namespace"]}}`,
			"spec.target.namespaces[0]"),
		Entry("a source Secret name that is no DNS name", `{"serviceAccountSecretRef":{"name":"Bad Name"},"target":{"namespaces":["a"]}}`,
			"spec.serviceAccountSecretRef.name"),
		Entry("creationPolicy Merge", `{"serviceAccountSecretRef":{"name":"sa"},"target":{"namespaces":["a"],"creationPolicy":"Merge"}}`,
			"spec.target.creationPolicy must be Owner"),
	)

	It("is Stalled with InvalidNamespaceSelector for a label value the CRD cannot check", func() {
		newClusterCredential(tenant, source, func(t *vantagev1alpha1.TargetSpec) {
			t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{selectorKey: "not a value"}}
		})
		Eventually(clusterCondition(tenant, vantagev1alpha1.ConditionStalled), timeout, interval).Should(Equal("True/" + ReasonInvalidNamespaceSelector))
		Expect(requestsFor(id)()).To(BeZero())
	})

	It("is refused on a VantageCredential: its target is its own namespace", func() {
		ns := newNamespace()
		err := k8sClient.Create(ctx, rawCredential(ns, `{"serviceAccountSecretRef":{"name":"sa"},"target":{"namespaces":["a"]}}`))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("belong to ClusterVantageCredential"))
	})
})

// labelledNamespace creates a namespace the cluster credential of tenant
// selects.
func labelledNamespace(tenant string) string {
	ns := newNamespace()
	relabel(ns, map[string]string{selectorKey: tenant})
	return ns
}

// relabel replaces a namespace's labels.
func relabel(name string, labels map[string]string) {
	ns := &corev1.Namespace{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Name: name}, ns)).To(Succeed())
	base := ns.DeepCopy()
	ns.Labels = labels
	ns.Labels[corev1.LabelMetadataName] = name
	Expect(k8sClient.Patch(ctx, ns, client.MergeFrom(base))).To(Succeed())
}

// newClusterCredential creates a cluster credential named tenant whose
// target, vantage-token, selects the namespaces labelled for tenant.
func newClusterCredential(tenant, source string, mutate ...func(*vantagev1alpha1.TargetSpec)) *vantagev1alpha1.ClusterVantageCredential {
	c := clusterCredential(tenant, source)
	for _, m := range mutate {
		m(c.Spec.Target)
	}
	Expect(k8sClient.Create(ctx, c)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, c))).To(Succeed()) })
	return c
}

// clusterCredential is the cluster credential newClusterCredential creates.
func clusterCredential(tenant, source string) *vantagev1alpha1.ClusterVantageCredential {
	return &vantagev1alpha1.ClusterVantageCredential{
		TypeMeta:   metav1.TypeMeta{Kind: "ClusterVantageCredential"},
		ObjectMeta: metav1.ObjectMeta{Name: tenant},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: source},
			Scopes:                  []string{"jobs:read"},
			Target: &vantagev1alpha1.TargetSpec{
				Name:              ptr.To("vantage-token"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{selectorKey: tenant}},
			},
		},
	}
}

func getClusterCredential(name string) *vantagev1alpha1.ClusterVantageCredential {
	c := &vantagev1alpha1.ClusterVantageCredential{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Name: name}, c)).To(Succeed())
	return c
}

func clusterCondition(name, typ string) func() string {
	return func() string {
		c := &vantagev1alpha1.ClusterVantageCredential{}
		if err := k8sClient.Get(ctx, types.NamespacedName{Name: name}, c); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(c.Status.Conditions, typ)
		if cond == nil {
			return "absent"
		}
		return string(cond.Status) + "/" + cond.Reason
	}
}

func waitClusterReady(name string) *vantagev1alpha1.ClusterVantageCredential {
	Eventually(clusterCondition(name, vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("True/" + ReasonTokenValid))
	return getClusterCredential(name)
}

// rawClusterCredential builds a cluster credential from a raw JSON spec,
// for values the Go types cannot hold.
func rawClusterCredential(name, spec string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	Expect(u.UnmarshalJSON([]byte(`{"apiVersion":"vantage.omnivector.solutions/v1alpha1","kind":"ClusterVantageCredential",` +
		`"metadata":{"name":"` + name + `"},"spec":` + spec + `}`))).To(Succeed())
	return u
}

// eventNotes lists the reason and note of each event about the cluster
// credential name.
func eventNotes(name string) []string {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list)).To(Succeed())
	var notes []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "ClusterVantageCredential" && e.Regarding.Name == name {
			notes = append(notes, e.Reason+": "+e.Note)
		}
	}
	return notes
}
