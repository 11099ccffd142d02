package controller

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/clusterissuer"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// tokenSourceName is the ServiceAccount the specs lend tokens from.
const tokenSourceName = "vantage-client"

// apiServerIssuer is the envtest API server's service-account issuer and
// the URL of its keys. Reading them anonymously is allowed first, as a
// token server outside the cluster needs (the README's trust setup).
var apiServerIssuer = sync.OnceValues(func() (issuer, jwksURL string) {
	iss, err := clusterissuer.Publish(ctx, cfg)
	Expect(err).NotTo(HaveOccurred())
	return iss.URL, iss.JWKSURL
})

// federatedClient registers a client of the fake server that accepts the
// tokens of ServiceAccount ns/name, signed by the envtest API server.
func federatedClient(ns, name string, mutate ...func(*oauthtest.Client)) string {
	issuer, jwks := apiServerIssuer()
	return newClient("", append([]func(*oauthtest.Client){func(c *oauthtest.Client) {
		c.Federation = &oauthtest.Federation{Issuer: issuer, JWKSURL: jwks, CAPEM: cfg.CAData,
			Subject: "system:serviceaccount:" + ns + ":" + name}
	}}, mutate...)...)
}

// tokenSource creates ServiceAccount ns/name, opted in or not.
func tokenSource(ns, name string, optIn bool) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if optIn {
		sa.Labels = map[string]string{vantagev1alpha1.TokenSourceLabel: "true"}
	}
	Expect(k8sClient.Create(ctx, sa)).To(Succeed())
	return sa
}

// withServiceAccount makes a credential authenticate as client id with the
// tokens of ServiceAccount name.
func withServiceAccount(name, id string) func(*vantagev1alpha1.VantageCredential) {
	return func(c *vantagev1alpha1.VantageCredential) {
		c.Spec.ServiceAccountSecretRef = nil
		c.Spec.ServiceAccountRef = &vantagev1alpha1.ServiceAccountReference{Name: name}
		c.Spec.ClientID = ptr.To(id)
	}
}

// sentAssertions records the client assertions the fake server receives
// from client id, until the test ends.
func sentAssertions(id string) func() []string {
	var mu sync.Mutex
	var sent []string
	tokenSrv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.PostForm.Get("client_id") == id {
			mu.Lock()
			sent = append(sent, r.PostForm.Get("client_assertion"))
			mu.Unlock()
		}
		return false
	})
	DeferCleanup(func() { tokenSrv.Intercept(nil) })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}
}

// saClaims reads the claims of a ServiceAccount token, which the fake
// server has verified already.
func saClaims(token string) jwt.Claims {
	GinkgoHelper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	Expect(err).NotTo(HaveOccurred())
	var c jwt.Claims
	Expect(tok.UnsafeClaimsWithoutVerification(&c)).To(Succeed())
	return c
}

// setTokenAudiences sets the ServiceAccount's token-audiences annotation.
func setTokenAudiences(sa *corev1.ServiceAccount, audiences string) {
	base := sa.DeepCopy()
	sa.Annotations = map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: audiences}
	Expect(k8sClient.Patch(ctx, sa, client.MergeFrom(base))).To(Succeed())
}

// setTokenSourceLabel sets or removes the opt-in label.
func setTokenSourceLabel(sa *corev1.ServiceAccount, optIn bool) {
	base := sa.DeepCopy()
	if optIn {
		sa.Labels = map[string]string{vantagev1alpha1.TokenSourceLabel: "true"}
	} else {
		sa.Labels = nil
	}
	Expect(k8sClient.Patch(ctx, sa, client.MergeFrom(base))).To(Succeed())
}

var _ = Describe("a ServiceAccount's token as the client assertion (serviceAccountRef)", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("mints a 10-minute token of the token URL's audience for each exchange, and the token shows nowhere", func() {
		id := federatedClient(ns, tokenSourceName)
		sent := sentAssertions(id)
		tokenSource(ns, tokenSourceName, true)
		c := newCredential(ns, "c", "", withServiceAccount(tokenSourceName, id))
		waitReady(ns, "c")
		Expect(tokenSrv.IssuedTokens()).To(ContainElement(targetToken(ns, "c")()))
		Expect(sent()).To(HaveLen(1))
		claims := saClaims(sent()[0])
		Expect(claims.Audience).To(Equal(jwt.Audience{tokenSrv.TokenURL()}))
		Expect(claims.Subject).To(Equal("system:serviceaccount:" + ns + ":" + tokenSourceName))
		Expect(claims.Expiry.Time().Sub(claims.IssuedAt.Time())).To(Equal(10 * time.Minute))

		first := targetToken(ns, "c")()
		patchCredential(c, func(c *vantagev1alpha1.VantageCredential) {
			c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "now"}
		})
		Eventually(targetToken(ns, "c"), timeout, interval).ShouldNot(Equal(first))
		Consistently(requestsFor(id), quiet, interval).Should(Equal(2))
		Expect(sent()).To(HaveLen(2))
		Expect(sent()[1]).NotTo(Equal(sent()[0]), "a new ServiceAccount token for each exchange")

		// Kept nowhere: not in logs at the highest verbosity, events,
		// status, metrics, nor any Secret of the namespace.
		var evs eventsv1.EventList
		Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
		var secrets corev1.SecretList
		Expect(k8sClient.List(ctx, &secrets, client.InNamespace(ns))).To(Succeed())
		everything, err := json.Marshal([]any{getCredential(ns, "c"), evs, secrets})
		Expect(err).NotTo(HaveOccurred())
		families, err := mgrMetrics.Gather()
		Expect(err).NotTo(HaveOccurred())
		metrics, err := json.Marshal(families)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(everything)).To(ContainSubstring(ReasonIssued), "the events looked at are the operator's")
		for _, text := range []string{string(everything), logs.String(), string(metrics)} {
			for _, token := range sent() {
				Expect(text).NotTo(ContainSubstring(token))
				Expect(text).NotTo(ContainSubstring(token[strings.LastIndexByte(token, '.')+1:]), "not even its signature")
			}
		}
	})

	It("names the discovered issuer as the audience, or spec.serviceAccountRef.audience", func() {
		id := federatedClient(ns, tokenSourceName)
		sent := sentAssertions(id)
		tokenSource(ns, tokenSourceName, true)
		newCredential(ns, "issuer", "", withServiceAccount(tokenSourceName, id), func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.IssuerURL = ptr.To(tokenSrv.IssuerURL())
		})
		waitReady(ns, "issuer")
		Expect(saClaims(sent()[0]).Audience).To(Equal(jwt.Audience{tokenSrv.IssuerURL()}))

		newCredential(ns, "elsewhere", "", withServiceAccount(tokenSourceName, id), func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ServiceAccountRef.Audience = ptr.To("https://elsewhere.example")
		})
		Eventually(condition(ns, "elsewhere", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonInvalidClient))
		Expect(condition(ns, "elsewhere", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + ReasonInvalidClient))
		Expect(saClaims(sent()[1]).Audience).To(Equal(jwt.Audience{"https://elsewhere.example"}))
		// The refusal points at what this credential authenticates with.
		ready := meta.FindStatusCondition(getCredential(ns, "elsewhere").Status.Conditions, vantagev1alpha1.ConditionReady)
		Expect(ready.Message).To(ContainSubstring("trusts the client's assertions: for a ServiceAccount's tokens, the cluster's service-account issuer"))
		Expect(ready.Message).NotTo(ContainSubstring("client_secret"))
	})

	It("waits for a missing ServiceAccount, not stalled, and acts at once when it appears", func() {
		id := federatedClient(ns, tokenSourceName)
		newCredential(ns, "c", "", withServiceAccount(tokenSourceName, id))
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonServiceAccountNotFound))
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).NotTo(HavePrefix(string(metav1.ConditionTrue)))
		ready := meta.FindStatusCondition(getCredential(ns, "c").Status.Conditions, vantagev1alpha1.ConditionReady)
		Expect(ready.Message).To(ContainSubstring(`ServiceAccount "` + tokenSourceName + `" not found`))

		tokenSource(ns, tokenSourceName, true)
		waitReady(ns, "c")
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
	})

	It("lends no token from a ServiceAccount that has not opted in, and follows the label both ways", func() {
		id := federatedClient(ns, tokenSourceName)
		sa := tokenSource(ns, tokenSourceName, false)
		newCredential(ns, "c", "", withServiceAccount(tokenSourceName, id))
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonServiceAccountNotOptedIn))
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + ReasonServiceAccountNotOptedIn))
		ready := meta.FindStatusCondition(getCredential(ns, "c").Status.Conditions, vantagev1alpha1.ConditionReady)
		Expect(ready.Message).To(ContainSubstring("kubectl label serviceaccount " + tokenSourceName + " vantage.omnivector.solutions/token-source=true"))
		Expect(requestsFor(id)()).To(BeZero())

		setTokenSourceLabel(sa, true)
		waitReady(ns, "c")
		setTokenSourceLabel(sa, false)
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonServiceAccountNotOptedIn))
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
	})

	It("lends tokens only for the audiences of its token-audiences annotation, and acts at once when the annotation changes", func() {
		id := federatedClient(ns, tokenSourceName)
		sent := sentAssertions(id)
		// Created with the annotation, so no cache can have it without.
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tokenSourceName,
			Labels:      map[string]string{vantagev1alpha1.TokenSourceLabel: "true"},
			Annotations: map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: "https://elsewhere.example"}}}
		Expect(k8sClient.Create(ctx, sa)).To(Succeed())
		newCredential(ns, "c", "", withServiceAccount(tokenSourceName, id))
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonAudienceNotAllowed))
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + ReasonAudienceNotAllowed))
		ready := meta.FindStatusCondition(getCredential(ns, "c").Status.Conditions, vantagev1alpha1.ConditionReady)
		Expect(ready.Message).To(ContainSubstring(`lists (https://elsewhere.example), not for "` + tokenSrv.TokenURL() + `"`))
		Expect(sent()).To(BeEmpty(), "no ServiceAccount token reaches the token server")

		setTokenAudiences(sa, "https://elsewhere.example, "+tokenSrv.TokenURL())
		waitReady(ns, "c")
		Expect(saClaims(sent()[0]).Audience).To(Equal(jwt.Audience{tokenSrv.TokenURL()}))
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
	})

	It("serves a ClusterVantageCredential from a ServiceAccount in the operator's namespace", func() {
		tenant := newNamespace()
		relabel(tenant, map[string]string{selectorKey: tenant})
		name := "sa-" + tenant
		id := federatedClient(operatorNamespace, name)
		tokenSource(operatorNamespace, name, true)
		c := clusterCredential(tenant, "")
		c.Spec.ServiceAccountSecretRef = nil
		c.Spec.ServiceAccountRef = &vantagev1alpha1.ServiceAccountReference{Name: name}
		c.Spec.ClientID = ptr.To(id)
		Expect(k8sClient.Create(ctx, c)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, c))).To(Succeed()) })
		waitClusterReady(tenant)
		Expect(targetToken(tenant, "vantage-token")()).NotTo(BeEmpty())
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
	})
})

// A manager that runs as a ServiceAccount of its own with the default
// install's permissions less create on serviceaccounts/token.
var _ = Describe("serviceAccountRef without RBAC for serviceaccounts/token", Ordered, func() {
	const shard = "no-token-rbac"
	BeforeAll(func() {
		shardCtx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		startShardAs(shardCtx, managerWithoutTokenRBAC(), shardLabel+"="+shard, "")
	})

	It("is TokenRequestForbidden, stalled, and sends nothing to the token server", func() {
		ns := newNamespace()
		id := federatedClient(ns, tokenSourceName)
		tokenSource(ns, tokenSourceName, true)
		newCredential(ns, "c", "", withServiceAccount(tokenSourceName, id), func(c *vantagev1alpha1.VantageCredential) {
			c.Labels = map[string]string{shardLabel: shard}
		})
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonTokenRequestForbidden))
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + ReasonTokenRequestForbidden))
		ready := meta.FindStatusCondition(getCredential(ns, "c").Status.Conditions, vantagev1alpha1.ConditionReady)
		Expect(ready.Message).To(ContainSubstring("create on serviceaccounts/token"))
		Consistently(requestsFor(id), quiet, interval).Should(BeZero())
	})
})

// managerWithoutTokenRBAC is the client configuration of a ServiceAccount
// bound to config/rbac/role.yaml without its serviceaccounts/token rule.
func managerWithoutTokenRBAC() *rest.Config {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(b, role)).To(Succeed())
	rules := role.Rules[:0]
	for _, r := range role.Rules {
		if !slices.Contains(r.Resources, "serviceaccounts/token") {
			rules = append(rules, r)
		}
	}
	Expect(rules).To(HaveLen(len(role.Rules)-1), "role.yaml grants serviceaccounts/token in a rule of its own")
	role.ObjectMeta = metav1.ObjectMeta{Name: "manager-without-token-rbac"}
	role.Rules = rules
	Expect(k8sClient.Create(ctx, role)).To(Succeed())

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "manager-without-token-rbac"}}
	Expect(k8sClient.Create(ctx, sa)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "manager-without-token-rbac"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: sa.Namespace, Name: sa.Name}},
	})).To(Succeed())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	Expect(k8sClient.SubResource("token").Create(ctx, sa, tr)).To(Succeed())
	as := rest.AnonymousClientConfig(cfg)
	as.BearerToken = tr.Status.Token
	return as
}
