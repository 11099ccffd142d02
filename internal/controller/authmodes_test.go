package controller

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"

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
