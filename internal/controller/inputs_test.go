package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/serviceaccount"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/targetsecret"
)

var _ = Describe("resolveInputs", func() {
	key := serviceaccount.Key{ClientID: "id", ClientSecret: "s"}

	It("takes the spec first, then the key, then the defaults", func() {
		spec := &vantagev1alpha1.VantageCredentialSpec{TokenURL: ptr.To("https://spec/token"), Scopes: []string{"b", "a", "b"}}
		k := key
		k.TokenURL, k.APIURL, k.Organization = "https://key/token", "https://key/api", "key-org"
		in, p := resolveInputs(spec, k, DefaultEndpoints)
		Expect(p).To(BeNil())
		Expect(in.request.TokenURL).To(Equal("https://spec/token"))
		Expect(in.apiURL).To(Equal("https://key/api"))
		Expect(in.organization).To(Equal("key-org"))
		Expect(in.request.Scopes).To(Equal([]string{"a", "b"}), "scopes are a set")
		Expect(in.request.AuthMethod).To(Equal(oauth.AuthAuto))

		in, _ = resolveInputs(&vantagev1alpha1.VantageCredentialSpec{}, key, DefaultEndpoints)
		Expect(in.request.TokenURL).To(Equal(DefaultEndpoints.TokenURL))
		Expect(in.apiURL).To(Equal(DefaultEndpoints.APIURL))
	})

	DescribeTable("the hash changes with what the token or data are made of, and only that",
		func(mutate func(*vantagev1alpha1.VantageCredentialSpec, *serviceaccount.Key), changes bool) {
			base, _ := resolveInputs(&vantagev1alpha1.VantageCredentialSpec{Scopes: []string{"a", "b"}}, key, DefaultEndpoints)
			spec, k := &vantagev1alpha1.VantageCredentialSpec{Scopes: []string{"a", "b"}}, key
			mutate(spec, &k)
			in, p := resolveInputs(spec, k, DefaultEndpoints)
			Expect(p).To(BeNil())
			Expect(in.hash != base.hash).To(Equal(changes))
		},
		Entry("rotated client secret", func(_ *vantagev1alpha1.VantageCredentialSpec, k *serviceaccount.Key) { k.ClientSecret = "s2" }, true),
		Entry("another client", func(_ *vantagev1alpha1.VantageCredentialSpec, k *serviceaccount.Key) { k.ClientID = "id2" }, true),
		Entry("another scope", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) { s.Scopes = []string{"a"} }, true),
		Entry("audience", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) { s.Audience = ptr.To("x") }, true),
		Entry("organization", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) { s.Organization = ptr.To("o") }, true),
		Entry("template data", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) {
			s.Target = &vantagev1alpha1.TargetSpec{Template: &vantagev1alpha1.TargetTemplate{Data: map[string]string{"t": "{{ .AccessToken }}"}}}
		}, true),
		Entry("scopes reordered", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) { s.Scopes = []string{"b", "a"} }, false),
		Entry("refreshBefore", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) {
			s.RefreshBefore = &metav1.Duration{}
		}, false),
		Entry("creation policy", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) {
			s.Target = &vantagev1alpha1.TargetSpec{CreationPolicy: ptr.To(vantagev1alpha1.CreationPolicyOrphan)}
		}, false),
		Entry("suspend", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) { s.Suspend = ptr.To(true) }, false),
		Entry("comma-joined scopes", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) {
			s.ScopeDelimiter = ptr.To(vantagev1alpha1.ScopeDelimiterComma)
		}, true),
		Entry("space-joined scopes said aloud", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) {
			s.ScopeDelimiter = ptr.To(vantagev1alpha1.ScopeDelimiterSpace)
		}, false),
		Entry("an issuer instead of a token URL", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) {
			s.IssuerURL = ptr.To("https://kc.example/realms/vantage")
		}, true),
		Entry("an expected issuer", func(s *vantagev1alpha1.VantageCredentialSpec, _ *serviceaccount.Key) {
			s.IssuerURL, s.ExpectedIssuer = ptr.To("https://kc.example/realms/vantage"), ptr.To("https://sso.example/realms/vantage")
		}, true),
		Entry("a private key for the secret", func(_ *vantagev1alpha1.VantageCredentialSpec, k *serviceaccount.Key) {
			k.ClientSecret, k.PrivateKey = "", testKeys[0]
		}, true),
	)

	It("tells private keys apart by their public half, and key ids apart", func() {
		hash := func(mutate func(*serviceaccount.Key)) string {
			k := serviceaccount.Key{ClientID: "id", PrivateKey: testKeys[0], KeyID: "k1"}
			mutate(&k)
			in, p := resolveInputs(&vantagev1alpha1.VantageCredentialSpec{}, k, DefaultEndpoints)
			Expect(p).To(BeNil())
			Expect(in.request.PrivateKey).To(BeIdenticalTo(k.PrivateKey))
			Expect(in.request.KeyID).To(Equal(k.KeyID))
			return in.hash
		}
		base := hash(func(*serviceaccount.Key) {})
		Expect(hash(func(k *serviceaccount.Key) { k.PrivateKey = testKeys[1] })).NotTo(Equal(base))
		Expect(hash(func(k *serviceaccount.Key) { k.KeyID = "k2" })).NotTo(Equal(base))
		Expect(hash(func(*serviceaccount.Key) {})).To(Equal(base))
	})

	It("keeps the hash a secret client had before private keys, so an upgrade requests no tokens", func() {
		// The hash of these inputs as the operator computed it at 44dd86c.
		in, _ := resolveInputs(&vantagev1alpha1.VantageCredentialSpec{Scopes: []string{"a", "b"}}, key, DefaultEndpoints)
		Expect(in.hash).To(Equal("b50007b35884420db5d4363bde3d94800c66a4392d0972583903ab2c34d74c3a"))
	})

	DescribeTable("refuses what the CRD cannot see",
		func(k serviceaccount.Key, spec *vantagev1alpha1.VantageCredentialSpec, reason, msg string) {
			endpoints := DefaultEndpoints
			endpoints.AllowedTokenHosts = []string{"auth.vantage.omnivector.solutions"}
			_, p := resolveInputs(spec, k, endpoints)
			Expect(p).NotTo(BeNil())
			Expect(p.reason).To(Equal(reason))
			Expect(p.message).To(ContainSubstring(msg))
			Expect(p.stalled).To(BeTrue())
		},
		Entry("http token_url to a remote host", serviceaccount.Key{ClientID: "i", ClientSecret: "s", TokenURL: "http://auth.example/token"},
			&vantagev1alpha1.VantageCredentialSpec{}, ReasonInvalidKey, "token_url in the key"),
		Entry("api_url with another scheme", serviceaccount.Key{ClientID: "i", ClientSecret: "s", APIURL: "ftp://api"},
			&vantagev1alpha1.VantageCredentialSpec{}, ReasonInvalidKey, "must use https"),
		Entry("issuer_url over plain http to a remote host", serviceaccount.Key{ClientID: "i", ClientSecret: "s", IssuerURL: "http://kc/realms/vantage"},
			&vantagev1alpha1.VantageCredentialSpec{}, ReasonInvalidKey, "issuer_url in the key"),
		Entry("issuer host not allowed", key, &vantagev1alpha1.VantageCredentialSpec{IssuerURL: ptr.To("https://kc.example/realms/vantage")},
			ReasonTokenURLNotAllowed, `not to "kc.example" (the issuer in spec.issuerURL)`),
		Entry("key's issuer host not allowed", serviceaccount.Key{ClientID: "i", ClientSecret: "s", IssuerURL: "https://kc.example/realms/v"},
			&vantagev1alpha1.VantageCredentialSpec{}, ReasonTokenURLNotAllowed, `(the issuer in the key's issuer_url)`),
		Entry("token host not allowed", key, &vantagev1alpha1.VantageCredentialSpec{TokenURL: ptr.To("https://evil.example/token")},
			ReasonTokenURLNotAllowed, `not to "evil.example" (the token URL in spec.tokenURL)`),
		Entry("key's token host not allowed", serviceaccount.Key{ClientID: "i", ClientSecret: "s", TokenURL: "https://evil.example:8443/t"},
			&vantagev1alpha1.VantageCredentialSpec{}, ReasonTokenURLNotAllowed, `only to auth.vantage.omnivector.solutions, not to "evil.example:8443" (the token URL in the key's token_url)`),
		Entry("broken template", key, &vantagev1alpha1.VantageCredentialSpec{Target: &vantagev1alpha1.TargetSpec{
			Template: &vantagev1alpha1.TargetTemplate{Data: map[string]string{"t": "{{"}}}}, ReasonInvalidTemplate, `key "t"`),
	)

	DescribeTable("the token endpoint: spec.tokenURL, spec.issuerURL, the key's token_url, its issuer_url, the default",
		func(spec *vantagev1alpha1.VantageCredentialSpec, k serviceaccount.Key, wantToken, wantIssuer string) {
			in, p := resolveInputs(spec, k, DefaultEndpoints)
			Expect(p).To(BeNil())
			Expect(in.request.TokenURL).To(Equal(wantToken))
			Expect(in.request.IssuerURL).To(Equal(wantIssuer))
		},
		Entry("spec.tokenURL over all", &vantagev1alpha1.VantageCredentialSpec{TokenURL: ptr.To("https://a/t")},
			serviceaccount.Key{ClientID: "i", ClientSecret: "s", TokenURL: "https://b/t", IssuerURL: "https://b/i"}, "https://a/t", ""),
		Entry("spec.issuerURL over the key", &vantagev1alpha1.VantageCredentialSpec{IssuerURL: ptr.To("https://a/i")},
			serviceaccount.Key{ClientID: "i", ClientSecret: "s", TokenURL: "https://b/t"}, "", "https://a/i"),
		Entry("the key's token_url over its issuer_url", &vantagev1alpha1.VantageCredentialSpec{},
			serviceaccount.Key{ClientID: "i", ClientSecret: "s", TokenURL: "https://b/t", IssuerURL: "https://b/i"}, "https://b/t", ""),
		Entry("the key's issuer_url", &vantagev1alpha1.VantageCredentialSpec{},
			serviceaccount.Key{ClientID: "i", ClientSecret: "s", IssuerURL: "https://b/i"}, "", "https://b/i"),
		Entry("the default", &vantagev1alpha1.VantageCredentialSpec{}, key, DefaultEndpoints.TokenURL, ""),
	)

	It("guards discovered URLs with the same rules as a token URL", func() {
		e := DefaultEndpoints
		e.AllowedTokenHosts = []string{"*.example.com"}
		Expect(e.allowDiscovered("https://kc.example.com/realms/v/protocol/openid-connect/token")).To(Succeed())
		Expect(e.allowDiscovered("https://evil.example/token")).To(MatchError(ContainSubstring(`not to "evil.example"`)))
		Expect(e.allowDiscovered("http://kc.example.com/token")).To(MatchError(ContainSubstring("uses http")))
	})

	It("allows http to loopback, for local development", func() {
		for _, u := range []string{"http://localhost:8080/t", "http://127.0.0.1/t", "http://[::1]:9/t", "https://auth.example/t"} {
			Expect(checkEndpoint(u)).To(Succeed(), u)
		}
	})
})

var _ = Describe("target ownership", func() {
	cred := &vantagev1alpha1.VantageCredential{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"}}
	ours := map[string]string{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue, vantagev1alpha1.CredentialLabel: "c"}
	secret := func(labels map[string]string, typ corev1.SecretType) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c", Labels: labels}, Type: typ}
	}
	merge := cred.DeepCopy()
	merge.Spec.Target = &vantagev1alpha1.TargetSpec{CreationPolicy: ptr.To(vantagev1alpha1.CreationPolicyMerge)}

	DescribeTable("checkTarget",
		func(c *vantagev1alpha1.VantageCredential, s *corev1.Secret, conflict string) {
			p := checkTarget(c, "c", s)
			if conflict == "" {
				Expect(p).To(BeNil())
				return
			}
			Expect(p.reason).To(Equal(ReasonTargetConflict))
			Expect(p.message).To(ContainSubstring(conflict))
		},
		Entry("absent", cred, nil, ""),
		Entry("ours", cred, secret(ours, corev1.SecretTypeOpaque), ""),
		Entry("someone else's under Owner", cred, secret(nil, corev1.SecretTypeOpaque), "not managed by this operator"),
		Entry("someone else's under Merge", merge, secret(map[string]string{"app": "x"}, corev1.SecretTypeOpaque), ""),
		Entry("another credential's, even under Merge", merge, secret(map[string]string{
			vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue, vantagev1alpha1.CredentialLabel: "other"}, corev1.SecretTypeOpaque), `VantageCredential "other"`),
		Entry("another type", merge, secret(nil, corev1.SecretTypeDockerConfigJson), "cannot change"),
	)

	It("trusts the token annotations only while the operator's keys are as written", func() {
		data := map[string][]byte{"access_token": []byte("t"), "token_type": []byte("Bearer"), "expires_at": []byte("x"),
			"scope": []byte(""), "VANTAGE_API_KEY": []byte("t"), "VANTAGE_API_URL": []byte("u"), "extra": []byte("foreign")}
		s := secret(ours, corev1.SecretTypeOpaque)
		s.Data = data
		s.Annotations = map[string]string{
			vantagev1alpha1.IssuedAtAnnotation:   "2026-11-22T12:00:00Z",
			vantagev1alpha1.ExpiresAtAnnotation:  "2026-11-22T13:00:00Z",
			vantagev1alpha1.InputsHashAnnotation: "h",
			vantagev1alpha1.DataHashAnnotation:   targetsecret.Hash(data, targetsecret.Keys(nil, "")),
		}
		tok := tokenIn(cred, s)
		Expect(tok).NotTo(BeNil())
		Expect(tok.expiresAt).To(Equal(epoch.Add(time.Hour)))
		Expect(tok.inputsHash).To(Equal("h"))

		s.Data["extra"] = []byte("changed")
		Expect(tokenIn(cred, s)).NotTo(BeNil(), "keys the operator does not manage are not drift")
		s.Data["access_token"] = []byte("edited")
		Expect(tokenIn(cred, s)).To(BeNil())
		s.Data["access_token"] = []byte("t")
		s.Annotations[vantagev1alpha1.ExpiresAtAnnotation] = "garbage"
		Expect(tokenIn(cred, s)).To(BeNil())
	})
})
