package controller

import (
	"encoding/json"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

var _ = Describe("an API key (apiKeySecretRef)", func() {
	var ns, key string
	BeforeEach(func() {
		ns = newNamespace()
		// A sentinel of its own per test: it must show only in the target.
		key = "SENTINEL-apikey-" + ns
	})

	// apiKeyCredential creates the key's Secret (key "api-key") and a
	// credential for it.
	apiKeyCredential := func(value string, mutate ...func(*vantagev1alpha1.VantageCredential)) *corev1.Secret {
		s := saSecret(ns, "key", map[string]string{"api-key": value})
		newCredential(ns, "c", "", append([]func(*vantagev1alpha1.VantageCredential){
			withAPIKey(&vantagev1alpha1.APIKeySecretReference{Name: "key"})}, mutate...)...)
		return s
	}
	waitFor := func(ready string) *vantagev1alpha1.VantageCredential {
		GinkgoHelper()
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal(ready))
		return getCredential(ns, "c")
	}
	checks := func() int { return tokenSrv.ChecksFor(key) }
	// requestRefresh asks for a check now, through the refresh annotation.
	requestRefresh := func(value string) {
		patchCredential(getCredential(ns, "c"), func(c *vantagev1alpha1.VantageCredential) {
			c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: value}
		})
	}
	warnings := func(reason string) func() int {
		return func() int {
			var evs eventsv1.EventList
			Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			n := 0
			for _, e := range evs.Items {
				if e.Type == corev1.EventTypeWarning && e.Reason == reason {
					n++
				}
			}
			return n
		}
	}

	It("writes a key the API accepts in the usual layout, records whom it authenticates, after one check, and shows the key nowhere else", func() {
		expires := time.Now().Add(60 * 24 * time.Hour).Truncate(time.Second).UTC()
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "user_123", Scopes: []string{"jobs:read"}, ExpiresAt: &expires})
		apiKeyCredential(key + "\n")
		cred := waitFor("True/" + ReasonAPIKeyValid)

		target, err := getSecret(ns, "c")
		Expect(err).NotTo(HaveOccurred())
		Expect(string(target.Data["VANTAGE_API_KEY"])).To(Equal(key), "the key, without the newline")
		Expect(string(target.Data["access_token"])).To(Equal(key))
		Expect(string(target.Data["VANTAGE_API_URL"])).To(Equal(tokenSrv.URL()))
		Expect(string(target.Data["expires_at"])).To(Equal(expires.Format(time.RFC3339)))
		Expect(string(target.Data["scope"])).To(Equal("jobs:read"))
		Expect(cred.Status.UserID).To(Equal("user_123"))
		Expect(cred.Status.GrantedScopes).To(Equal([]string{"jobs:read"}))
		Expect(cred.Status.ExpiresAt.Time).To(BeTemporally("==", expires))
		Expect(cred.Status.LastValidationTime).NotTo(BeNil())
		Expect(cred.Status.NextRefreshTime.Time).To(BeTemporally("~", cred.Status.LastValidationTime.Add(time.Hour), time.Second))
		Consistently(checks, quiet, interval).Should(Equal(1))
		Expect(warnings(ReasonAPIKeyExpiringSoon)()).To(BeZero(), "60 days is far")

		var evs eventsv1.EventList
		Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
		everything, err := json.Marshal([]any{getCredential(ns, "c"), evs})
		Expect(err).NotTo(HaveOccurred())
		for _, text := range []string{string(everything), logs.String()} {
			Expect(text).NotTo(ContainSubstring(key))
		}
	})

	It("writes a key that never expires without an expiry", func() {
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "user_9"})
		apiKeyCredential(key)
		cred := waitFor("True/" + ReasonAPIKeyValid)
		Expect(cred.Status.ExpiresAt).To(BeNil())
		target, err := getSecret(ns, "c")
		Expect(err).NotTo(HaveOccurred())
		Expect(target.Data).To(HaveKeyWithValue("expires_at", BeEmpty()))
		Expect(target.Annotations).NotTo(HaveKey(vantagev1alpha1.ExpiresAtAnnotation))
		Expect(meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady).Message).To(ContainSubstring("it never expires"))
	})

	It("checks a rotated key at once and writes it; a second look writes nothing", func() {
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "u"})
		next := key + "-2"
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: next, UserID: "u2"})
		s := apiKeyCredential(key)
		waitFor("True/" + ReasonAPIKeyValid)
		s.StringData = map[string]string{"api-key": next}
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
		Eventually(targetToken(ns, "c"), timeout, interval).Should(Equal(next))
		Expect(tokenSrv.ChecksFor(next)).To(Equal(1))
		Eventually(func() string { return getCredential(ns, "c").Status.UserID }, timeout, interval).Should(Equal("u2"))

		// A check that learns nothing new leaves the target alone.
		target, err := getSecret(ns, "c")
		Expect(err).NotTo(HaveOccurred())
		requestRefresh("now")
		Eventually(func() int { return tokenSrv.ChecksFor(next) }, timeout, interval).Should(Equal(2))
		Eventually(func() string { return getCredential(ns, "c").Status.LastHandledRefreshRequest }, timeout, interval).Should(Equal("now"))
		again, err := getSecret(ns, "c")
		Expect(err).NotTo(HaveOccurred())
		Expect(again.ResourceVersion).To(Equal(target.ResourceVersion))
	})

	It("never writes a key the API refuses, and does not ask again until its Secret changes", func() {
		s := apiKeyCredential(key)
		cred := waitFor("False/" + ReasonAPIKeyRejected)
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + ReasonAPIKeyRejected))
		Expect(cred.Status.NextRefreshTime).To(BeNil())
		_, err := getSecret(ns, "c")
		Expect(err).To(HaveOccurred(), "no target for a refused key")
		Consistently(checks, quiet, interval).Should(Equal(1))
		Eventually(warnings(ReasonAPIKeyRejected), timeout, interval).Should(Equal(1))

		// The fix: the key is registered and the Secret edited.
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "u"})
		s.Labels = map[string]string{"fixed": "yes"}
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
		waitFor("True/" + ReasonAPIKeyValid)
		Expect(targetToken(ns, "c")()).To(Equal(key))
	})

	It("writes the key unverified when the API has no auth/test endpoint, and says so", func() {
		tokenSrv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != oauthtest.AuthTestPath {
				return false
			}
			answer(http.StatusNotFound, `{"detail":"Not Found"}`, "Content-Type", "application/json")(w, r)
			return true
		})
		DeferCleanup(func() { tokenSrv.Intercept(nil) })
		apiKeyCredential(key)
		cred := waitFor("True/" + ReasonAPIKeyUnverified)
		Expect(meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady).Message).To(
			ContainSubstring("has no /v1/auth/test endpoint, so the key could not be checked"))
		Expect(targetToken(ns, "c")()).To(Equal(key))
		Expect(cred.Status.ExpiresAt).To(BeNil())
		Eventually(warnings(ReasonAPIKeyUnverified), timeout, interval).Should(Equal(1))
	})

	It("keeps Ready through a failed re-check, with ValidationFailed, and retries", func() {
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "u"})
		apiKeyCredential(key)
		waitFor("True/" + ReasonAPIKeyValid)
		failing := true
		tokenSrv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != oauthtest.AuthTestPath || !failing {
				return false
			}
			answer(http.StatusServiceUnavailable, "")(w, r)
			return true
		})
		DeferCleanup(func() { tokenSrv.Intercept(nil) })
		requestRefresh("1")
		cred := waitFor("True/" + ReasonValidationFailed)
		msg := meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady).Message
		Expect(msg).To(ContainSubstring("503"))
		Expect(msg).To(ContainSubstring(`the API key in Secret "c" never expires`))
		Expect(targetToken(ns, "c")()).To(Equal(key), "the key stays")
		tokenSrv.Intercept(nil)
		waitFor("True/" + ReasonAPIKeyValid)
	})

	It("turns Ready False when the key expires, with no other event and no check", func() {
		expires := time.Now().Add(4 * time.Second)
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "u", ExpiresAt: &expires})
		apiKeyCredential(key)
		waitFor("True/" + ReasonAPIKeyValid)
		Eventually(condition(ns, "c", vantagev1alpha1.ConditionReady), 10*time.Second, interval).Should(Equal("False/" + ReasonAPIKeyExpired))
		Expect(time.Now()).To(BeTemporally(">=", expires.Truncate(time.Second)))
		Expect(condition(ns, "c", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + ReasonAPIKeyExpired))
		Expect(checks()).To(Equal(1), "an expired key is not checked again")
	})

	It("warns once of a key that expires within expiryWarning, not at every check", func() {
		expires := time.Now().Add(10 * 24 * time.Hour)
		tokenSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "u", ExpiresAt: &expires})
		apiKeyCredential(key)
		cred := waitFor("True/" + ReasonAPIKeyValid)
		Eventually(warnings(ReasonAPIKeyExpiringSoon), timeout, interval).Should(Equal(1))
		Expect(cred.Status.ExpiryWarningTime).NotTo(BeNil())
		requestRefresh("again")
		Eventually(func() int { return checks() }, timeout, interval).Should(Equal(2))
		Consistently(warnings(ReasonAPIKeyExpiringSoon), quiet, interval).Should(Equal(1))
	})

	It("checks the key with an API behind a private CA through spec.tls, and says when verification is off", func() {
		tlsSrv.AddAPIKey(oauthtest.APIKey{Key: key, UserID: "u"})
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api-ca"}, Data: map[string]string{"ca.crt": string(tlsSrv.CAPEM())}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		apiKeyCredential(key, func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.APIURL = ptr.To(tlsSrv.URL())
			c.Spec.TLS = &vantagev1alpha1.TLSConfig{CABundleRef: &vantagev1alpha1.CABundleReference{Kind: vantagev1alpha1.CABundleConfigMap, Name: "api-ca"}}
		})
		waitFor("True/" + ReasonAPIKeyValid)
		Expect(tlsSrv.ChecksFor(key)).To(Equal(1))
		Expect(warnings(ReasonInsecureSkipVerify)()).To(BeZero())

		newCredential(ns, "unverified-tls", "", withAPIKey(&vantagev1alpha1.APIKeySecretReference{Name: "key"}), func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.APIURL = ptr.To(tlsSrv.URL())
			c.Spec.TLS = &vantagev1alpha1.TLSConfig{InsecureSkipVerify: ptr.To(true)}
		})
		Eventually(condition(ns, "unverified-tls", vantagev1alpha1.ConditionTLSVerified), timeout, interval).Should(Equal("False/" + ReasonInsecureSkipVerify))
		Expect(condition(ns, "unverified-tls", vantagev1alpha1.ConditionReady)()).To(Equal("True/" + ReasonAPIKeyValid))
		Eventually(warnings(ReasonInsecureSkipVerify), timeout, interval).Should(Equal(1), "one check, one warning")
		Expect(tlsSrv.ChecksFor(key)).To(Equal(2))
	})

	DescribeTable("a Secret that holds no usable key says what to fix, before any check",
		func(data map[string]string, ref *vantagev1alpha1.APIKeySecretReference, reason, words string) {
			if data != nil {
				saSecret(ns, "key", data)
			}
			newCredential(ns, "c", "", withAPIKey(ref))
			cred := waitFor("False/" + reason)
			Expect(meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady).Message).To(ContainSubstring(words))
			Expect(checks()).To(BeZero())
		},
		Entry("no Secret", nil, &vantagev1alpha1.APIKeySecretReference{Name: "key"},
			ReasonSecretNotFound, `create it with the Vantage API key under key "api-key"`),
		Entry("no such key", map[string]string{"token": "x"}, &vantagev1alpha1.APIKeySecretReference{Name: "key"},
			ReasonSecretKeyNotFound, `has no key "api-key"`),
		Entry("another key named", map[string]string{"api-key": "x"}, &vantagev1alpha1.APIKeySecretReference{Name: "key", Key: ptr.To("token")},
			ReasonSecretKeyNotFound, `has no key "token"`),
		Entry("an empty key", map[string]string{"api-key": "  \n"}, &vantagev1alpha1.APIKeySecretReference{Name: "key"},
			ReasonInvalidAPIKey, "is empty"),
	)
})

// withAPIKey makes newCredential's credential one for the API key ref
// names, without the service-account fields it starts with.
func withAPIKey(ref *vantagev1alpha1.APIKeySecretReference) func(*vantagev1alpha1.VantageCredential) {
	return func(c *vantagev1alpha1.VantageCredential) {
		c.Spec.ServiceAccountSecretRef, c.Spec.Scopes = nil, nil
		c.Spec.APIKeySecretRef = ref
	}
}
