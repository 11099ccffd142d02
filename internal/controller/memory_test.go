package controller

import (
	"reflect"
	"strings"
	"unsafe"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// fresh is a copy of s in memory of its own, as decoding gives.
func fresh(s string) string { return strings.Clone(s) }

// same says whether two strings share their bytes.
func same(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

var _ = Describe("the cache transforms", func() {
	DescribeTable("the interner hands out one copy of each value within its bounds",
		func(maxEntries, maxBytes int, values []string, shared []bool) {
			in := newInterner(maxEntries, maxBytes)
			first := map[string]string{}
			for i, v := range values {
				got := in.str(fresh(v))
				Expect(got).To(Equal(v))
				if f, seen := first[v]; seen {
					Expect(same(got, f)).To(Equal(shared[i]), "value %d, %q", i, v)
				}
				first[v] = got
			}
		},
		Entry("repeats share the first copy", 10, 1000,
			[]string{"a", "b", "a", "b"}, []bool{false, false, true, true}),
		Entry("when full of entries, it starts over", 2, 1000,
			[]string{"a", "b", "c", "a", "c"}, []bool{false, false, false, false, true}),
		Entry("when full of bytes, it starts over", 10, 4,
			[]string{"ab", "cd", "ef", "ab", "ef"}, []bool{false, false, false, false, true}),
		Entry("long values are left alone", 10, 1000,
			[]string{strings.Repeat("x", internMaxLen+1), strings.Repeat("x", internMaxLen+1)}, []bool{false, false}),
	)

	It("shares equal data across Secrets, and never keeps values too large for it", func() {
		in := newInterner(10, 1600)
		a, b := in.byteSlice([]byte("token")), in.byteSlice([]byte("token"))
		Expect(string(b)).To(Equal("token"))
		Expect(&a[0]).To(BeIdenticalTo(&b[0]))
		big := []byte(strings.Repeat("x", 101))
		Expect(&in.byteSlice(big)[0]).To(BeIdenticalTo(&big[0]))
		Expect(in.bytes).NotTo(HaveKey(string(big)))
	})

	target := func(name, token string) *corev1.Secret {
		return &corev1.Secret{
			TypeMeta: metav1.TypeMeta{APIVersion: fresh("v1"), Kind: fresh("Secret")},
			ObjectMeta: metav1.ObjectMeta{
				Namespace: fresh("team-a"), Name: fresh(name), UID: types.UID("uid-s-" + name), ResourceVersion: "42",
				Labels: map[string]string{fresh(vantagev1alpha1.ManagedByLabel): fresh(vantagev1alpha1.ManagedByValue),
					fresh(vantagev1alpha1.CredentialLabel): fresh(name), fresh("team"): fresh("a")},
				Annotations: map[string]string{fresh(vantagev1alpha1.IssuedAtAnnotation): fresh("2026-12-01T12:00:00Z"),
					fresh(lastAppliedAnnotation): fresh("{}")},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: fresh("vantage.omnivector.solutions/v1alpha1"),
					Kind: fresh("VantageCredential"), Name: fresh(name), UID: types.UID("uid-" + name), Controller: ptr.To(true)}},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}},
			},
			Type: corev1.SecretType(fresh(string(corev1.SecretTypeOpaque))),
			Data: map[string][]byte{"access_token": []byte(token), "VANTAGE_API_KEY": []byte(token), "other": []byte("kept")},
		}
	}

	It("keeps every field of a target Secret but its managed fields, and shares what Secrets repeat", func() {
		a, b := target("a", "tok-1"), target("b", "tok-1")
		want := a.DeepCopy()
		want.ManagedFields = nil
		slimA, err := slimSecret(a)
		Expect(err).NotTo(HaveOccurred())
		slimB, err := slimSecret(b)
		Expect(err).NotTo(HaveOccurred())
		Expect(slimA).To(Equal(want), "the reconciler writes the Secret back whole: nothing else may go")
		sa, sb := slimA.(*corev1.Secret), slimB.(*corev1.Secret)
		Expect(same(sa.Namespace, sb.Namespace)).To(BeTrue())
		Expect(same(sa.Labels[vantagev1alpha1.ManagedByLabel], sb.Labels[vantagev1alpha1.ManagedByLabel])).To(BeTrue())
		Expect(same(sa.Labels[vantagev1alpha1.CredentialLabel], sa.Name)).To(BeTrue(), "the credential label is the Secret's own name")
		Expect(same(sa.OwnerReferences[0].Name, sa.Name)).To(BeTrue())
		Expect(same(sa.OwnerReferences[0].Kind, sb.OwnerReferences[0].Kind)).To(BeTrue())
		Expect(&sa.Data["access_token"][0]).To(BeIdenticalTo(&sa.Data["VANTAGE_API_KEY"][0]))
		Expect(&sa.Data["access_token"][0]).To(BeIdenticalTo(&sb.Data["access_token"][0]), "one token, stored once")
		Expect(sa.Annotations).To(HaveKey(lastAppliedAnnotation), "kept: a Merge target keeps its own annotations")
		Expect(reflect.ValueOf(sa.Data).UnsafePointer()).To(Equal(reflect.ValueOf(sb.Data).UnsafePointer()), "the same data, one map")
		Expect(reflect.ValueOf(sa.Annotations).UnsafePointer()).To(Equal(reflect.ValueOf(sb.Annotations).UnsafePointer()))
		Expect(reflect.ValueOf(sa.Labels).UnsafePointer()).NotTo(Equal(reflect.ValueOf(sb.Labels).UnsafePointer()))

		c := target("c", "tok-2")
		slimC, err := slimSecret(c)
		Expect(err).NotTo(HaveOccurred())
		sc := slimC.(*corev1.Secret)
		Expect(string(sc.Data["access_token"])).To(Equal("tok-2"), "another token, another map")
		Expect(string(sa.Data["access_token"])).To(Equal("tok-1"))
	})

	It("drops the managed fields and kubectl's last-applied copy of a credential, and keeps the rest", func() {
		c := &vantagev1alpha1.VantageCredential{
			ObjectMeta: metav1.ObjectMeta{Namespace: fresh("team-a"), Name: "ci", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}},
				Annotations: map[string]string{lastAppliedAnnotation: "{}", vantagev1alpha1.RefreshRequestedAnnotation: "now"}},
			Status: vantagev1alpha1.VantageCredentialStatus{
				Conditions: append(make([]metav1.Condition, 0, 4),
					metav1.Condition{Type: fresh("Ready"), Status: metav1.ConditionTrue, Reason: fresh("TokenIssued"), Message: fresh("ok")},
					metav1.Condition{Type: fresh("Stalled"), Status: metav1.ConditionFalse, Reason: fresh("TokenIssued"), Message: fresh("ok")}),
				GrantedScopes:    []string{fresh("openid")},
				TargetSecretName: fresh("ci"),
				TokenURL:         fresh("https://auth.example/token"),
			},
		}
		want := c.DeepCopy()
		want.ManagedFields = nil
		delete(want.Annotations, lastAppliedAnnotation)
		got, err := slimCredential(c)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(want))
		st := got.(*vantagev1alpha1.VantageCredential).Status
		Expect(cap(st.Conditions)).To(Equal(2), "no room left over from decoding")
		Expect(same(st.Conditions[0].Reason, st.Conditions[1].Reason)).To(BeTrue())
		Expect(same(st.TargetSecretName, got.(*vantagev1alpha1.VantageCredential).Name)).To(BeTrue())

		only := &vantagev1alpha1.VantageCredential{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{lastAppliedAnnotation: "{}"}}}
		got, err = slimCredential(only)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.(*vantagev1alpha1.VantageCredential).Annotations).To(BeNil())
	})

	It("passes other objects through", func() {
		cm := &corev1.ConfigMap{}
		Expect(slimSecret(cm)).To(BeIdenticalTo(cm))
		Expect(slimCredential(cm)).To(BeIdenticalTo(cm))
	})

	DescribeTable("the slim metadata of a Secret keeps its managed-by label, in one shared map when it is the operator's",
		func(labels map[string]string, want map[string]string, shared bool) {
			m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s", Labels: labels, Annotations: map[string]string{"a": "b"}}}
			got, err := secretMetadataTransform(m)
			Expect(err).NotTo(HaveOccurred())
			slim := got.(*metav1.PartialObjectMetadata)
			Expect(slim.Labels).To(Equal(want))
			Expect(slim.Annotations).To(BeNil())
			if shared {
				Expect(reflect.ValueOf(slim.Labels).UnsafePointer()).To(Equal(reflect.ValueOf(managedByLabels).UnsafePointer()))
			}
		},
		Entry("the operator's", map[string]string{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue, "x": "y"},
			map[string]string{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue}, true),
		Entry("someone else's", map[string]string{vantagev1alpha1.ManagedByLabel: "helm"},
			map[string]string{vantagev1alpha1.ManagedByLabel: "helm"}, false),
		Entry("none", map[string]string{"x": "y"}, nil, false),
	)

	DescribeTable("a credential is in the target index only when its target is not its own name",
		func(target *string, want []string) {
			c := &vantagev1alpha1.VantageCredential{ObjectMeta: metav1.ObjectMeta{Name: "ci"}}
			if target != nil {
				c.Spec.Target = &vantagev1alpha1.TargetSpec{Name: target}
			}
			Expect(targetIndexValues(c)).To(Equal(want))
		},
		Entry("no target name", nil, nil),
		Entry("its own name, spelled out", ptr.To("ci"), nil),
		Entry("another name", ptr.To("ci-token"), []string{"ci-token"}),
	)

	DescribeTable("the map interner shares only equal maps, within its bounds",
		func(maxEntries int, ms []map[string]string, sharesWith []int) {
			mi := newMapInterner[string](maxEntries)
			var got []map[string]string
			for i, m := range ms {
				got = append(got, mi.intern(m))
				Expect(got[i]).To(Equal(m))
				want := i
				if sharesWith[i] >= 0 {
					want = sharesWith[i]
				}
				Expect(reflect.ValueOf(got[i]).UnsafePointer()).To(Equal(reflect.ValueOf(ms[want]).UnsafePointer()), "map %d", i)
			}
		},
		Entry("equal maps share the first", 10,
			[]map[string]string{{"a": "1", "b": "2"}, {"b": "2", "a": "1"}, {"a": "1"}}, []int{-1, 0, -1}),
		Entry("keys and values do not run together", 10,
			[]map[string]string{{"ab": "c"}, {"a": "bc"}}, []int{-1, -1}),
		Entry("when full, it starts over", 1,
			[]map[string]string{{"a": "1"}, {"b": "2"}, {"a": "1"}}, []int{-1, -1, -1}),
	)
})
