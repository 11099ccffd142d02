package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// The CRD refuses bad objects at the API server, so `kubectl apply` says
// what to fix before anything runs. These run against the real API server.
var _ = Describe("CRD validation", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	valid := func() *vantagev1alpha1.VantageCredential {
		return &vantagev1alpha1.VantageCredential{
			ObjectMeta: metav1.ObjectMeta{Name: "v"},
			Spec: vantagev1alpha1.VantageCredentialSpec{
				ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "sa"},
			},
		}
	}

	DescribeTable("refuses a bad object with a message that says what to fix",
		func(mutate func(*vantagev1alpha1.VantageCredential), message string) {
			c := valid()
			c.Namespace = ns
			mutate(c)
			err := k8sClient.Create(ctx, c)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("a CA bundle and verification off at once", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.TLS = &vantagev1alpha1.TLSConfig{InsecureSkipVerify: ptr.To(true),
				CABundleRef: &vantagev1alpha1.CABundleReference{Kind: vantagev1alpha1.CABundleConfigMap, Name: "ca"}}
		}, "set tls.caBundleRef or tls.insecureSkipVerify, not both"),
		Entry("a CA bundle in a kind that cannot hold one", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.TLS = &vantagev1alpha1.TLSConfig{CABundleRef: &vantagev1alpha1.CABundleReference{Kind: "Pod", Name: "ca"}}
		}, `supported values: "Secret", "ConfigMap"`),
		Entry("refreshBefore of zero", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.RefreshBefore = parseDuration("0s")
		}, "refreshBefore must be a positive duration"),
		Entry("tokenURL over plain http to a remote host", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.TokenURL = ptr.To("http://auth.example/oauth/token")
		}, "tokenURL must be an https URL"),
		Entry("tokenURL that is not a URL", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.TokenURL = ptr.To("auth.example")
		}, "tokenURL must be an https URL"),
		Entry("apiURL with another scheme", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.APIURL = ptr.To("ftp://api.example")
		}, "apiURL must be an https URL"),
		Entry("a scope with a space", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.Scopes = []string{"jobs:read clusters:read"}
		}, "spec.scopes[0]"),
		Entry("a scope twice", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.Scopes = []string{"jobs:read", "jobs:read"}
		}, "Duplicate value"),
		Entry("a Secret name that is not a DNS subdomain", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef.Name = "Vantage_SA"
		}, "spec.serviceAccountSecretRef.name"),
		Entry("a target name that is not a DNS subdomain", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.Target = &vantagev1alpha1.TargetSpec{Name: ptr.To("-token")}
		}, "spec.target.name"),
		Entry("the target named like the source", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.Target = &vantagev1alpha1.TargetSpec{Name: ptr.To("sa")}
		}, "the target Secret must differ from the Secret holding the key"),
		Entry("the default target (the credential's name) named like the source", func(c *vantagev1alpha1.VantageCredential) {
			c.Name = "sa"
		}, "the target Secret must differ from the Secret holding the key"),
		Entry("a service-account-token target", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.Target = &vantagev1alpha1.TargetSpec{Template: &vantagev1alpha1.TargetTemplate{Type: ptr.To("kubernetes.io/service-account-token")}}
		}, "type must not be kubernetes.io/service-account-token"),
		Entry("a bootstrap-token target", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.Target = &vantagev1alpha1.TargetSpec{Template: &vantagev1alpha1.TargetTemplate{Type: ptr.To("bootstrap.kubernetes.io/token")}}
		}, "type must not be kubernetes.io/service-account-token or bootstrap.kubernetes.io/token"),
		Entry("a template key that is not a Secret key", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.Target = &vantagev1alpha1.TargetSpec{Template: &vantagev1alpha1.TargetTemplate{Data: map[string]string{"my token": "x"}}}
		}, "data keys must be valid Secret keys"),
		Entry("an unknown auth method", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ClientAuthMethod = ptr.To(vantagev1alpha1.ClientAuthMethod("TLSClientAuth"))
		}, `supported values: "Auto", "ClientSecretBasic", "ClientSecretPost", "PrivateKeyJWT"`),
		Entry("tokenURL and issuerURL at once", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.TokenURL, c.Spec.IssuerURL = ptr.To("https://kc.example/t"), ptr.To("https://kc.example/realms/v")
		}, "set tokenURL or issuerURL, not both"),
		Entry("expectedIssuer without issuerURL", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ExpectedIssuer = ptr.To("https://sso.example/realms/v")
		}, "expectedIssuer needs issuerURL"),
		Entry("issuerURL over plain http to a remote host", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.IssuerURL = ptr.To("http://kc.example/realms/v")
		}, "issuerURL must be an https URL"),
		Entry("an unknown scope delimiter", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ScopeDelimiter = ptr.To(vantagev1alpha1.ScopeDelimiter("Semicolon"))
		}, `supported values: "Space", "Comma"`),
		Entry("a scope holding a comma, with commas joining the scopes", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ScopeDelimiter = ptr.To(vantagev1alpha1.ScopeDelimiterComma)
			c.Spec.Scopes = []string{"jobs:read", "a,b"}
		}, "with scopeDelimiter Comma no scope may contain a comma"),
		Entry("an unknown creation policy", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.Target = &vantagev1alpha1.TargetSpec{CreationPolicy: ptr.To(vantagev1alpha1.CreationPolicy("Replace"))}
		}, `supported values: "Owner", "Orphan", "Merge"`),
		Entry("no Secret reference", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef.Name = ""
		}, "spec.serviceAccountSecretRef.name"),
		Entry("neither a service-account key nor an API key", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
		}, "set exactly one of serviceAccountSecretRef"),
		Entry("both a service-account key and an API key", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "key"}
		}, "set exactly one of serviceAccountSecretRef"),
		Entry("a service-account key and a ServiceAccount", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountRef = &vantagev1alpha1.ServiceAccountReference{Name: "op"}
			c.Spec.ClientID = ptr.To("ci")
		}, "set exactly one of serviceAccountSecretRef"),
		Entry("an API key and a ServiceAccount", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
			c.Spec.APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "key"}
			c.Spec.ServiceAccountRef = &vantagev1alpha1.ServiceAccountReference{Name: "op"}
		}, "set exactly one of serviceAccountSecretRef"),
		Entry("a ServiceAccount without clientID", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
			c.Spec.ServiceAccountRef = &vantagev1alpha1.ServiceAccountReference{Name: "op"}
		}, "serviceAccountRef needs clientID"),
		Entry("a ServiceAccount with a client-secret auth method", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
			c.Spec.ServiceAccountRef = &vantagev1alpha1.ServiceAccountReference{Name: "op"}
			c.Spec.ClientID = ptr.To("ci")
			c.Spec.ClientAuthMethod = ptr.To(vantagev1alpha1.ClientAuthPost)
		}, "clientAuthMethod must be Auto or PrivateKeyJWT"),
		Entry("a ServiceAccount name that is not a DNS subdomain", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
			c.Spec.ServiceAccountRef = &vantagev1alpha1.ServiceAccountReference{Name: "Op_SA"}
			c.Spec.ClientID = ptr.To("ci")
		}, "spec.serviceAccountRef.name"),
		Entry("an API key with a clientID", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
			c.Spec.APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "key"}
			c.Spec.ClientID = ptr.To("ci")
		}, "with apiKeySecretRef the API key itself is the credential"),
		Entry("an API key checked every 10s", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
			c.Spec.APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "key"}
			c.Spec.ValidateInterval = parseDuration("10s")
		}, "validateInterval must be at least 1m"),
		Entry("an API key with scopes", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
			c.Spec.APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "key"}
			c.Spec.Scopes = []string{"jobs:read"}
		}, "with apiKeySecretRef the API key itself is the credential"),
		Entry("validateInterval for a service-account key", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ValidateInterval = parseDuration("1h")
		}, "validateInterval and expiryWarning belong to apiKeySecretRef"),
		Entry("the target named like the API key's Secret", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountSecretRef = nil
			c.Spec.APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "v"}
		}, "the target Secret must differ from the Secret holding the key"),
	)

	It("accepts an API key with its own settings", func() {
		c := valid()
		c.Namespace = ns
		c.Spec.ServiceAccountSecretRef = nil
		c.Spec.APIKeySecretRef = &vantagev1alpha1.APIKeySecretReference{Name: "key", Key: ptr.To("token")}
		c.Spec.ValidateInterval = parseDuration("1m")
		c.Spec.ExpiryWarning = parseDuration("72h")
		c.Spec.APIURL = ptr.To("https://api.vantage.omnivector.solutions")
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
	})

	It("accepts a ServiceAccount with clientID and an audience, and a clientID overriding a key's", func() {
		c := valid()
		c.Namespace = ns
		c.Spec.ServiceAccountSecretRef = nil
		c.Spec.ServiceAccountRef = &vantagev1alpha1.ServiceAccountReference{Name: "op", Audience: ptr.To("https://kc.example/realms/v")}
		c.Spec.ClientID = ptr.To("ci")
		c.Spec.ClientAuthMethod = ptr.To(vantagev1alpha1.ClientAuthPrivateKeyJWT)
		Expect(k8sClient.Create(ctx, c)).To(Succeed())

		k := valid()
		k.Namespace, k.Name = ns, "k"
		k.Spec.ClientID = ptr.To("ci")
		Expect(k8sClient.Create(ctx, k)).To(Succeed())
	})

	It("refuses a refreshBefore that is not a duration", func() {
		// metav1.Duration cannot hold a malformed value, so send raw JSON.
		err := k8sClient.Create(ctx, rawCredential(ns, `{"serviceAccountSecretRef":{"name":"sa"},"refreshBefore":"ten minutes"}`))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.refreshBefore"))
	})

	It("accepts a full, valid object and fills in the defaults", func() {
		c := valid()
		c.Namespace = ns
		c.Spec.Scopes = []string{"jobs:read", "clusters:read"}
		c.Spec.TokenURL = ptr.To("http://localhost:8080/realms/vantage/protocol/openid-connect/token")
		c.Spec.APIURL = ptr.To("https://api.vantage.omnivector.solutions")
		c.Spec.RefreshBefore = parseDuration("10m")
		c.Spec.Target = &vantagev1alpha1.TargetSpec{Name: ptr.To("ci-runner-token")}
		c.Spec.ScopeDelimiter = ptr.To(vantagev1alpha1.ScopeDelimiterComma)
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		got := getCredential(ns, "v")
		Expect(*got.Spec.ClientAuthMethod).To(Equal(vantagev1alpha1.ClientAuthAuto))
		Expect(*got.Spec.Target.CreationPolicy).To(Equal(vantagev1alpha1.CreationPolicyOwner))
	})
})
