package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/serviceaccount"
)

// The pure parts of serviceAccountRef: no API server.
var _ = Describe("serviceAccountRef inputs", func() {
	cred := func(mutate ...func(*vantagev1alpha1.VantageCredentialSpec)) *vantagev1alpha1.VantageCredential {
		c := &vantagev1alpha1.VantageCredential{ObjectMeta: metav1.ObjectMeta{Namespace: "hpc", Name: "c"},
			Spec: vantagev1alpha1.VantageCredentialSpec{
				ServiceAccountRef: &vantagev1alpha1.ServiceAccountReference{Name: "vantage-client"},
				ClientID:          ptr.To("ci"),
			}}
		for _, m := range mutate {
			m(&c.Spec)
		}
		return c
	}

	It("takes the client id from the spec and names the ServiceAccount, with no secret", func() {
		in, p := serviceAccountInputs(cred(), "hpc", DefaultEndpoints)
		Expect(p).To(BeNil())
		Expect(in.request.ClientID).To(Equal("ci"))
		Expect(in.request.ClientSecret).To(BeEmpty())
		Expect(in.request.PrivateKey).To(BeNil())
		Expect(in.request.AssertionSource).To(Equal("serviceaccount/hpc/vantage-client"))
		Expect(in.request.AssertionAudience).To(BeEmpty(), "the exchange fills in the issuer or token URL")
		Expect(in.request.TokenURL).To(Equal(DefaultEndpoints.TokenURL))
	})

	DescribeTable("the hash changes with the ServiceAccount, its audience and the client, and only with what the token depends on",
		func(mutate func(*vantagev1alpha1.VantageCredentialSpec), namespace string, changes bool) {
			base, _ := serviceAccountInputs(cred(), "hpc", DefaultEndpoints)
			in, p := serviceAccountInputs(cred(mutate), namespace, DefaultEndpoints)
			Expect(p).To(BeNil())
			Expect(in.hash != base.hash).To(Equal(changes))
		},
		Entry("another ServiceAccount", func(s *vantagev1alpha1.VantageCredentialSpec) { s.ServiceAccountRef.Name = "other" }, "hpc", true),
		Entry("the same name in another namespace", func(*vantagev1alpha1.VantageCredentialSpec) {}, "ops", true),
		Entry("an audience", func(s *vantagev1alpha1.VantageCredentialSpec) {
			s.ServiceAccountRef.Audience = ptr.To("https://kc/realms/v")
		}, "hpc", true),
		Entry("another client", func(s *vantagev1alpha1.VantageCredentialSpec) { s.ClientID = ptr.To("ci2") }, "hpc", true),
		Entry("refreshBefore", func(s *vantagev1alpha1.VantageCredentialSpec) { s.RefreshBefore = &metav1.Duration{} }, "hpc", false),
	)

	It("lets spec.clientID override a key's client_id, and keeps the hash of a credential without it", func() {
		spec := &vantagev1alpha1.VantageCredentialSpec{}
		key := serviceaccount.Key{ClientID: "from-key", ClientSecret: "s"}
		before, _ := resolveInputs(spec, key, DefaultEndpoints)
		Expect(before.request.ClientID).To(Equal("from-key"))
		spec.ClientID = ptr.To("from-spec")
		after, _ := resolveInputs(spec, key, DefaultEndpoints)
		Expect(after.request.ClientID).To(Equal("from-spec"))
		Expect(after.hash).NotTo(Equal(before.hash))
	})

	DescribeTable("checkOptedIn lends tokens only from a ServiceAccount labelled token-source \"true\"",
		func(labels map[string]string, optedIn bool) {
			sa := serviceAccountMetadata()
			sa.Name, sa.Labels = "vantage-client", labels
			p := checkOptedIn(cred(), "hpc", sa)
			if optedIn {
				Expect(p).To(BeNil())
				return
			}
			Expect(p.reason).To(Equal(ReasonServiceAccountNotOptedIn))
			Expect(p.stalled).To(BeTrue())
			Expect(p.message).To(ContainSubstring("kubectl label serviceaccount vantage-client vantage.omnivector.solutions/token-source=true"))
		},
		Entry("labelled", map[string]string{vantagev1alpha1.TokenSourceLabel: "true"}, true),
		Entry("no labels", nil, false),
		Entry("labelled false", map[string]string{vantagev1alpha1.TokenSourceLabel: "false"}, false),
		Entry("labelled True, not true", map[string]string{vantagev1alpha1.TokenSourceLabel: "True"}, false),
	)

	DescribeTable("failureReason names the ServiceAccount token's failures",
		func(code string, kind oauth.Kind, reason string) {
			Expect(failureReason(&oauth.Error{Kind: kind, Code: code})).To(Equal(reason))
		},
		Entry("RBAC refused the TokenRequest", codeTokenRequestForbidden, oauth.Terminal, ReasonTokenRequestForbidden),
		Entry("the ServiceAccount does not lend tokens for the audience", codeAudienceNotAllowed, oauth.Terminal, ReasonAudienceNotAllowed),
		Entry("the ServiceAccount went away in between", codeServiceAccountGone, oauth.Transient, ReasonServiceAccountNotFound),
		Entry("the API server failed otherwise", codeTokenRequestError, oauth.Transient, ReasonTokenRequestFailed),
	)

	DescribeTable("the token-audiences annotation limits the audiences a ServiceAccount lends tokens for",
		func(annotations map[string]string, audience string, allowed bool, listed string) {
			sa := serviceAccountMetadata()
			sa.Name, sa.Annotations = "vantage-client", annotations
			a := tokenAudiences(sa)
			Expect(a.allows(audience)).To(Equal(allowed))
			if !allowed {
				Expect(a.refusal("vantage-client", audience)).To(ContainSubstring(
					`ServiceAccount "vantage-client" lends its tokens only for the audiences its annotation vantage.omnivector.solutions/token-audiences lists (` + listed + `), not for "` + audience + `"`))
			}
		},
		Entry("no annotation: any audience", nil, "https://kubernetes.default.svc", true, ""),
		Entry("listed", map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: "https://kc/realms/v"}, "https://kc/realms/v", true, ""),
		Entry("one of several, spaces around", map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: " https://a , https://kc/realms/v"}, "https://kc/realms/v", true, ""),
		Entry("not listed", map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: "https://a,https://b"}, "https://kubernetes.default.svc", false, "https://a, https://b"),
		Entry("a prefix is not the audience", map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: "https://kc"}, "https://kc/realms/v", false, "https://kc"),
		Entry("an empty list allows nothing", map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: " , "}, "https://kc/realms/v", false, "none"),
	)

	It("keeps the opt-in label in the metadata cache, beside the managed-by label", func() {
		sa := serviceAccountMetadata()
		sa.Namespace, sa.Name = "hpc", "vantage-client"
		sa.Labels = map[string]string{vantagev1alpha1.TokenSourceLabel: "true", "app": "x"}
		slim, err := secretMetadataTransform(sa)
		Expect(err).NotTo(HaveOccurred())
		Expect(slim.(metav1.Object).GetLabels()).To(Equal(map[string]string{vantagev1alpha1.TokenSourceLabel: "true"}))

		both := serviceAccountMetadata()
		both.Namespace, both.Name = "hpc", "s"
		both.Labels = map[string]string{vantagev1alpha1.TokenSourceLabel: "true", vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue}
		slim, err = secretMetadataTransform(both)
		Expect(err).NotTo(HaveOccurred())
		Expect(slim.(metav1.Object).GetLabels()).To(Equal(both.Labels))
		Expect(managedByLabels).To(Equal(map[string]string{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue}), "the shared map is not changed")
	})

	It("keeps the token-audiences annotation in the metadata cache, and no other", func() {
		sa := serviceAccountMetadata()
		sa.Namespace, sa.Name = "hpc", "vantage-client"
		sa.Annotations = map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: "https://kc/realms/v", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
		slim, err := secretMetadataTransform(sa)
		Expect(err).NotTo(HaveOccurred())
		Expect(slim.(metav1.Object).GetAnnotations()).To(Equal(map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: "https://kc/realms/v"}))
	})
})
