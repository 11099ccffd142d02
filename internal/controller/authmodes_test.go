package controller

import (
	"cmp"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

var _ = Describe("a private-key service account (private_key_jwt)", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// keyClient registers a private_key_jwt client that accepts testKeys[i].
	keyClient := func(i int, kid string) string {
		return newClient("", func(c *oauthtest.Client) { c.PublicKey, c.KeyID = testKeys[i].Public(), kid })
	}

	It("gets a token with a signed assertion, one request, and the key shows nowhere", func() {
		id := keyClient(0, "k1")
		saSecret(ns, "sa", privateKeyFile(id, testKeys[0], "k1"))
		newCredential(ns, "c", "sa")
		cred := waitReady(ns, "c")
		Expect(tokenSrv.IssuedTokens()).To(ContainElement(targetToken(ns, "c")()))
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))

		var evs eventsv1.EventList
		Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
		everything, err := json.Marshal([]any{cred, evs})
		Expect(err).NotTo(HaveOccurred())
		der, err := x509.MarshalPKCS8PrivateKey(testKeys[0])
		Expect(err).NotTo(HaveOccurred())
		// Any 40 characters of the PEM body would give the key away.
		body := base64.StdEncoding.EncodeToString(der)
		for _, text := range []string{string(everything), logs.String()} {
			Expect(text).NotTo(ContainSubstring(body[len(body)-40:]))
			Expect(text).NotTo(ContainSubstring(testKeys[0].D.Text(16)))
		}
	})

	It("requests a new token at once when the key is rotated", func() {
		id := keyClient(0, "")
		sa := saSecret(ns, "sa", privateKeyFile(id, testKeys[0], ""))
		newCredential(ns, "c", "sa")
		waitReady(ns, "c")
		first := targetToken(ns, "c")()
		tokenSrv.AddClient(oauthtest.Client{ID: id, PublicKey: testKeys[1].Public()})
		sa.StringData = privateKeyFile(id, testKeys[1], "")
		Expect(k8sClient.Update(ctx, sa)).To(Succeed())
		Eventually(targetToken(ns, "c"), timeout, interval).ShouldNot(Equal(first))
		Expect(requestsFor(id)()).To(Equal(2))
	})

	It("is refused by the server for another key: InvalidClient, stalled, no retry storm", func() {
		id := keyClient(1, "")
		saSecret(ns, "sa", privateKeyFile(id, testKeys[0], ""))
		newCredential(ns, "c", "sa")
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonInvalidClient))
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + ReasonInvalidClient))
		Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
	})

	DescribeTable("refuses a key that cannot work, before any request, saying what to fix",
		func(data func(id string) map[string]string, method *vantagev1alpha1.ClientAuthMethod, reason, words string) {
			id := keyClient(0, "")
			saSecret(ns, "sa", data(id))
			newCredential(ns, "c", "sa", func(c *vantagev1alpha1.VantageCredential) { c.Spec.ClientAuthMethod = method })
			Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + reason))
			ready := meta.FindStatusCondition(getCredential(ns, "c").Status.Conditions, vantagev1alpha1.ConditionReady)
			Expect(ready.Message).To(ContainSubstring(words))
			Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(HavePrefix(string(metav1.ConditionTrue)))
			Expect(requestsFor(id)()).To(BeZero())
		},
		Entry("both a secret and a key", func(id string) map[string]string {
			d := privateKeyFile(id, testKeys[0], "")
			var m map[string]string
			Expect(json.Unmarshal([]byte(d["service-account.json"]), &m)).To(Succeed())
			m["client_secret"] = "s"
			b, _ := json.Marshal(m)
			return map[string]string{"service-account.json": string(b)}
		}, nil, ReasonInvalidKey, "remove client_secret to authenticate with the private key"),
		Entry("a public key", func(id string) map[string]string {
			der, _ := x509.MarshalPKIXPublicKey(testKeys[0].Public())
			b, _ := json.Marshal(map[string]string{"client_id": id, "private_key": "-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(der) + "\n-----END PUBLIC KEY-----\n"})
			return map[string]string{"service-account.json": string(b)}
		}, nil, ReasonInvalidKey, "holds a public key, not the private key"),
		Entry("ClientSecretBasic for a key", func(id string) map[string]string { return privateKeyFile(id, testKeys[0], "") },
			ptr.To(vantagev1alpha1.ClientAuthBasic), ReasonTokenRequestRejected, "use PrivateKeyJWT or Auto"),
		Entry("PrivateKeyJWT for a secret", func(id string) map[string]string { return keyFile(id, "s") },
			ptr.To(vantagev1alpha1.ClientAuthPrivateKeyJWT), ReasonTokenRequestRejected, "PrivateKeyJWT needs a private key"),
	)
})

var _ = Describe("scopeDelimiter Comma", func() {
	It("sends the scopes comma-joined, as Vantage documents, and reads the grant back", func() {
		ns := newNamespace()
		id := newClient("s3cret", func(c *oauthtest.Client) { c.AllowedScopes = []string{"jobs:read", "clusters:read"} })
		var sent string
		tokenSrv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
			if r.PostForm.Get("client_id") == id || basicUser(r) == id {
				sent = r.PostForm.Get("scope")
			}
			return false
		})
		DeferCleanup(func() { tokenSrv.Intercept(nil) })
		saSecret(ns, "sa", keyFile(id, "s3cret"))
		newCredential(ns, "c", "sa", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.ScopeDelimiter = ptr.To(vantagev1alpha1.ScopeDelimiterComma)
		})
		cred := waitReady(ns, "c")
		Expect(sent).To(Equal("clusters:read,jobs:read"))
		Expect(cred.Status.GrantedScopes).To(ConsistOf("jobs:read", "clusters:read"))
	})
})

func basicUser(r *http.Request) string {
	user, _, _ := r.BasicAuth()
	return user
}

var _ = Describe("an issuer (OIDC discovery)", func() {
	var ns, realm string
	BeforeEach(func() {
		ns = newNamespace()
		realm = "realm-" + ns // an issuer of its own: no discovery cached from another test
	})

	// count counts the requests to a path of this test's realm.
	count := func() func(suffix string) int {
		var mu sync.Mutex
		seen := map[string]int{}
		tokenSrv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			defer mu.Unlock()
			seen[r.URL.Path]++
			return false
		})
		DeferCleanup(func() { tokenSrv.Intercept(nil) })
		return func(suffix string) int {
			mu.Lock()
			defer mu.Unlock()
			return seen["/realms/"+realm+suffix]
		}
	}

	It("gets its token from the discovered endpoint, with one discovery however many refreshes", func() {
		id := newClient("s3cret", func(c *oauthtest.Client) { c.Lifetime = 4 * time.Second })
		requests := count()
		saSecret(ns, "sa", keyFile(id, "s3cret"))
		newCredential(ns, "c", "sa", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.IssuerURL = ptr.To(tokenSrv.RealmIssuerURL(realm))
		})
		cred := waitReady(ns, "c")
		Expect(cred.Status.TokenURL).To(Equal(tokenSrv.RealmIssuerURL(realm) + "/protocol/openid-connect/token"))
		Eventually(func() int { return requests("/protocol/openid-connect/token") }, timeout, interval).Should(BeNumerically(">=", 3),
			"refreshed twice more")
		Expect(requests("/.well-known/openid-configuration")).To(Equal(1))
	})

	DescribeTable("a discovery that cannot serve says why, as its fault deserves, and sends no secret",
		func(fault func(w http.ResponseWriter, r *http.Request) bool, spec func(*vantagev1alpha1.VantageCredentialSpec), reason string, stalled bool, words string) {
			id := newClient(faultSecret)
			var mu sync.Mutex
			tokenRequests := 0
			tokenSrv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasPrefix(r.URL.Path, "/realms/"+realm) && !strings.HasSuffix(r.URL.Path, "/realms/"+realm) {
					return false
				}
				if strings.HasSuffix(r.URL.Path, "/token") {
					mu.Lock()
					tokenRequests++
					mu.Unlock()
				}
				return fault(w, r)
			})
			DeferCleanup(func() { tokenSrv.Intercept(nil) })
			saSecret(ns, "sa", keyFile(id, faultSecret))
			newCredential(ns, "c", "sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.IssuerURL = ptr.To(tokenSrv.RealmIssuerURL(realm))
				if spec != nil {
					spec(&c.Spec)
				}
			})
			Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + reason))
			cred := getCredential(ns, "c")
			ready := meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady)
			Expect(ready.Message).To(ContainSubstring(words))
			Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)() == "True/"+reason).To(Equal(stalled))
			mu.Lock()
			defer mu.Unlock()
			Expect(tokenRequests).To(BeZero())
			Expect(ready.Message + logs.String()).NotTo(ContainSubstring(faultSecret))
		},
		Entry("the document names another issuer", func(w http.ResponseWriter, r *http.Request) bool {
			return writeDiscovery(w, r, "https://sso.example/realms/vantage", "")
		}, nil, ReasonIssuerMismatch, true, "https://sso.example/realms/vantage"),
		Entry("the document's token endpoint is off the allowlist", func(w http.ResponseWriter, r *http.Request) bool {
			return writeDiscovery(w, r, "", "https://evil.example/token")
		}, nil, ReasonTokenURLNotAllowed, true, `not to "evil.example"`),
		Entry("the document lists no method the client has", func(w http.ResponseWriter, r *http.Request) bool {
			return writeDiscovery(w, r, "", "", "tls_client_auth")
		}, nil, ReasonAuthMethodUnsupported, true, "supports only tls_client_auth"),
	)

	It("accepts another advertised issuer that expectedIssuer names", func() {
		id := newClient("s3cret")
		tokenSrv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/realms/"+realm+"/.well-known/openid-configuration") {
				return writeDiscovery(w, r, "https://sso.example/realms/vantage", "")
			}
			return false
		})
		DeferCleanup(func() { tokenSrv.Intercept(nil) })
		saSecret(ns, "sa", keyFile(id, "s3cret"))
		newCredential(ns, "c", "sa", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.IssuerURL = ptr.To(tokenSrv.RealmIssuerURL(realm))
			c.Spec.ExpectedIssuer = ptr.To("https://sso.example/realms/vantage")
		})
		waitReady(ns, "c")
	})
})

// writeDiscovery answers a discovery request of the realm in r's path with
// a document naming issuer (default the realm's), tokenURL (default its
// token endpoint) and methods (default none listed).
func writeDiscovery(w http.ResponseWriter, r *http.Request, issuer, tokenURL string, methods ...string) bool {
	realmPath, ok := strings.CutSuffix(r.URL.Path, "/.well-known/openid-configuration")
	if !ok {
		return false
	}
	base := tokenSrv.URL() + realmPath
	doc := map[string]any{"issuer": cmp.Or(issuer, base), "token_endpoint": cmp.Or(tokenURL, base+"/protocol/openid-connect/token")}
	if methods != nil {
		doc["token_endpoint_auth_methods_supported"] = methods
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
	return true
}

var _ = Describe("verifyToken", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("writes a token the Vantage API accepts, and records whom it authenticates", func() {
		id := newClient("s3cret")
		saSecret(ns, "sa", keyFile(id, "s3cret"))
		newCredential(ns, "c", "sa", func(c *vantagev1alpha1.VantageCredential) { c.Spec.VerifyToken = ptr.To(true) })
		cred := waitReady(ns, "c")
		Expect(cred.Status.UserID).To(Equal(id))
	})
})
