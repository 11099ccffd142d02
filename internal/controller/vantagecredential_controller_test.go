package controller

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

var _ = Describe("VantageCredential controller", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	Context("issuing", func() {
		It("writes a token into the target Secret in the CLI's layout and reports Ready", func() {
			id := newClient("s3cret")
			saSecret(ns, "vantage-sa", keyFile(id, "s3cret"))
			cred := newCredential(ns, "ci-runner", "vantage-sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Organization = ptr.To("my-org")
			})

			got := waitReady(ns, "ci-runner")
			target, err := getSecret(ns, "ci-runner")
			Expect(err).NotTo(HaveOccurred())

			issued := tokenSrv.IssuedTokens()
			token := string(target.Data["access_token"])
			Expect(issued).To(ContainElement(token))
			Expect(target.Data).To(HaveKeyWithValue("VANTAGE_API_KEY", []byte(token)))
			Expect(target.Data).To(HaveKeyWithValue("VANTAGE_API_URL", []byte(tokenSrv.URL())))
			Expect(target.Data).To(HaveKeyWithValue("VANTAGE_ORG", []byte("my-org")))
			Expect(target.Data).To(HaveKeyWithValue("token_type", []byte("Bearer")))
			Expect(target.Data).To(HaveKeyWithValue("scope", []byte("clusters:read jobs:read")))
			expires, err := time.Parse(time.RFC3339, string(target.Data["expires_at"]))
			Expect(err).NotTo(HaveOccurred())
			Expect(expires).To(BeTemporally("~", time.Now().Add(time.Hour), time.Minute))

			Expect(target.Type).To(Equal(corev1.SecretTypeOpaque))
			Expect(target.Labels).To(HaveKeyWithValue(vantagev1alpha1.ManagedByLabel, vantagev1alpha1.ManagedByValue))
			Expect(target.Labels).To(HaveKeyWithValue(vantagev1alpha1.CredentialLabel, "ci-runner"))
			Expect(target.Annotations).To(HaveKeyWithValue(vantagev1alpha1.ExpiresAtAnnotation, expires.UTC().Format(time.RFC3339)))
			Expect(target.Annotations).To(HaveKey(vantagev1alpha1.DataHashAnnotation))
			Expect(target.Annotations).To(HaveKeyWithValue(vantagev1alpha1.ExpirySourceAnnotation, "expires_in"))
			Expect(meta.FindStatusCondition(got.Status.Conditions, vantagev1alpha1.ConditionReady).Message).NotTo(ContainSubstring("assumed"),
				"an expiry the server gave is not flagged")
			Expect(target.OwnerReferences).To(ConsistOf(HaveField("UID", cred.UID)))
			Expect(*target.OwnerReferences[0].Controller).To(BeTrue())

			Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			Expect(got.Status.ExpiresAt.Time).To(BeTemporally("==", expires))
			Expect(got.Status.NextRefreshTime.Time).To(BeTemporally(">", time.Now().Add(30*time.Minute)))
			Expect(got.Status.NextRefreshTime.Time).To(BeTemporally("<", expires.Add(-15*time.Minute)))
			Expect(got.Status.GrantedScopes).To(Equal([]string{"clusters:read", "jobs:read"}))
			Expect(got.Status.TargetSecretName).To(Equal("ci-runner"))
			Expect(got.Status.TokenURL).To(Equal(tokenSrv.TokenURL()))
			Expect(condition(ns, "ci-runner", vantagev1alpha1.ConditionReconciling)()).To(HavePrefix("False/"))
			Expect(condition(ns, "ci-runner", vantagev1alpha1.ConditionStalled)()).To(HavePrefix("False/"))
			Expect(tokenSrv.RequestsFor(id)).To(Equal(1))
		})

		It("accepts plain client_id and client_secret keys and a named target", func() {
			id := newClient("plain")
			saSecret(ns, "plain-sa", map[string]string{"client_id": id, "client_secret": "plain\n"})
			newCredential(ns, "plain", "plain-sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Target = &vantagev1alpha1.TargetSpec{Name: ptr.To("plain-token")}
			})
			waitReady(ns, "plain")
			Expect(targetToken(ns, "plain-token")()).NotTo(BeEmpty())
		})

		It("renders a template instead of the default keys", func() {
			id := newClient("tpl")
			saSecret(ns, "sa", keyFile(id, "tpl"))
			newCredential(ns, "tpl", "sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Target = &vantagev1alpha1.TargetSpec{Template: &vantagev1alpha1.TargetTemplate{
					Labels: map[string]string{"team": "hpc"},
					Data:   map[string]string{"header": "Authorization: {{ .TokenType }} {{ .AccessToken }}"},
				}}
			})
			waitReady(ns, "tpl")
			target, err := getSecret(ns, "tpl")
			Expect(err).NotTo(HaveOccurred())
			Expect(target.Data).To(HaveLen(1))
			Expect(string(target.Data["header"])).To(HavePrefix("Authorization: Bearer ey"))
			Expect(target.Labels).To(HaveKeyWithValue("team", "hpc"))
		})

		It("makes exactly one token request however many events arrive at once", func() {
			id := newClient("burst")
			src := saSecret(ns, "sa", keyFile(id, "burst"))
			newCredential(ns, "burst", "sa")
			// Events on the source Secret while the first exchange happens.
			for i := range 5 {
				base := src.DeepCopy()
				src.Labels = map[string]string{"poke": string(rune('a' + i))}
				Expect(k8sClient.Patch(ctx, src, client.MergeFrom(base))).To(Succeed())
			}
			waitReady(ns, "burst")
			Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
		})
	})

	Context("refreshing", func() {
		It("replaces the token before it expires", func() {
			id := newClient("short", func(c *oauthtest.Client) { c.Lifetime = 6 * time.Second })
			saSecret(ns, "sa", keyFile(id, "short"))
			newCredential(ns, "short", "sa")
			first := waitReady(ns, "short")
			firstToken := targetToken(ns, "short")()
			firstExpiry := first.Status.ExpiresAt.Time

			Eventually(targetToken(ns, "short"), timeout, interval).ShouldNot(Equal(firstToken))
			Expect(time.Now()).To(BeTemporally("<", firstExpiry), "the new token must arrive before the old one expires")
			Expect(tokenSrv.RequestsFor(id)).To(Equal(2))
			// A routine refresh is not progress: Reconciling stays False.
			Expect(condition(ns, "short", vantagev1alpha1.ConditionReconciling)()).To(HavePrefix("False/"))
		})

		It("requests a new token when the source Secret is rotated", func() {
			id := newClient("old")
			src := saSecret(ns, "sa", keyFile(id, "old"))
			newCredential(ns, "rot", "sa")
			waitReady(ns, "rot")
			before := targetToken(ns, "rot")()

			newID := newClient("new")
			base := src.DeepCopy()
			src.StringData = keyFile(newID, "new")
			Expect(k8sClient.Patch(ctx, src, client.MergeFrom(base))).To(Succeed())

			Eventually(requestsFor(newID), timeout, interval).Should(Equal(1))
			Eventually(targetToken(ns, "rot"), timeout, interval).ShouldNot(Equal(before))
			Consistently(requestsFor(newID), quiet, interval).Should(Equal(1))
			Expect(tokenSrv.RequestsFor(id)).To(Equal(1))
		})

		It("forces exactly one exchange per new value of the refresh annotation", func() {
			id := newClient("req")
			saSecret(ns, "sa", keyFile(id, "req"))
			cred := newCredential(ns, "req", "sa")
			waitReady(ns, "req")
			before := targetToken(ns, "req")()

			patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) {
				c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "2026-11-22T10:00:00Z"}
			})
			Eventually(func() string { return getCredential(ns, "req").Status.LastHandledRefreshRequest }, timeout, interval).
				Should(Equal("2026-11-22T10:00:00Z"))
			Expect(targetToken(ns, "req")()).NotTo(Equal(before))
			Consistently(requestsFor(id), quiet, interval).Should(Equal(2))
		})
	})

	Context("repairing the target", func() {
		It("recreates a deleted target and heals an edited one", func() {
			id := newClient("heal")
			saSecret(ns, "sa", keyFile(id, "heal"))
			newCredential(ns, "heal", "sa")
			waitReady(ns, "heal")

			target, err := getSecret(ns, "heal")
			Expect(err).NotTo(HaveOccurred())
			Expect(k8sClient.Delete(ctx, target)).To(Succeed())
			Eventually(targetToken(ns, "heal"), timeout, interval).ShouldNot(BeEmpty())

			target, err = getSecret(ns, "heal")
			Expect(err).NotTo(HaveOccurred())
			base := target.DeepCopy()
			target.Data["access_token"] = []byte("tampered")
			Expect(k8sClient.Patch(ctx, target, client.MergeFrom(base))).To(Succeed())
			Eventually(targetToken(ns, "heal"), timeout, interval).Should(And(Not(Equal("tampered")), HavePrefix("ey")))
			healed, err := getSecret(ns, "heal")
			Expect(err).NotTo(HaveOccurred())
			Expect(healed.Data["VANTAGE_API_KEY"]).To(Equal(healed.Data["access_token"]))
			waitReady(ns, "heal")
		})
	})

	Context("creation policies", func() {
		It("refuses to overwrite a Secret it does not manage, and acts once it is gone", func() {
			id := newClient("conf")
			saSecret(ns, "sa", keyFile(id, "conf"))
			foreign := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"},
				StringData: map[string]string{"password": "keep-me"},
			}
			Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
			newCredential(ns, "taken", "sa")

			Eventually(condition(ns, "taken", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonTargetConflict))
			Expect(condition(ns, "taken", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + ReasonTargetConflict))
			s, err := getSecret(ns, "taken")
			Expect(err).NotTo(HaveOccurred())
			Expect(s.Data).To(Equal(map[string][]byte{"password": []byte("keep-me")}))
			Expect(tokenSrv.RequestsFor(id)).To(BeZero())

			Expect(k8sClient.Delete(ctx, foreign)).To(Succeed())
			waitReady(ns, "taken")
			Expect(tokenSrv.RequestsFor(id)).To(Equal(1))
		})

		It("refuses a target managed by another credential", func() {
			id := newClient("two")
			saSecret(ns, "sa", keyFile(id, "two"))
			newCredential(ns, "first", "sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Target = &vantagev1alpha1.TargetSpec{Name: ptr.To("shared")}
			})
			waitReady(ns, "first")
			newCredential(ns, "second", "sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Target = &vantagev1alpha1.TargetSpec{Name: ptr.To("shared"), CreationPolicy: ptr.To(vantagev1alpha1.CreationPolicyMerge)}
			})
			Eventually(condition(ns, "second", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonTargetConflict))
			Expect(getCredential(ns, "second").Status.Conditions).To(ContainElement(HaveField("Message", ContainSubstring(`managed by VantageCredential "first"`))))
		})

		It("Merge adds its keys to an existing Secret and keeps the others", func() {
			id := newClient("merge")
			saSecret(ns, "sa", keyFile(id, "merge"))
			existing := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-env", Labels: map[string]string{"app": "x"}},
				StringData: map[string]string{"DATABASE_URL": "postgres://db"},
			}
			Expect(k8sClient.Create(ctx, existing)).To(Succeed())
			newCredential(ns, "merge", "sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Target = &vantagev1alpha1.TargetSpec{Name: ptr.To("app-env"), CreationPolicy: ptr.To(vantagev1alpha1.CreationPolicyMerge)}
			})
			waitReady(ns, "merge")
			s, err := getSecret(ns, "app-env")
			Expect(err).NotTo(HaveOccurred())
			Expect(s.Data).To(HaveKeyWithValue("DATABASE_URL", []byte("postgres://db")))
			Expect(s.Data).To(HaveKey("VANTAGE_API_KEY"))
			Expect(s.Labels).To(HaveKeyWithValue("app", "x"))
			Expect(s.OwnerReferences).To(BeEmpty())
		})

		It("Owner sets the controller reference garbage collection deletes by; Orphan sets none and keeps the Secret", func() {
			id := newClient("own")
			saSecret(ns, "sa", keyFile(id, "own"))
			owner := newCredential(ns, "owned", "sa")
			orphan := newCredential(ns, "orphan", "sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Target = &vantagev1alpha1.TargetSpec{CreationPolicy: ptr.To(vantagev1alpha1.CreationPolicyOrphan)}
			})
			waitReady(ns, "owned")
			waitReady(ns, "orphan")

			s, err := getSecret(ns, "owned")
			Expect(err).NotTo(HaveOccurred())
			Expect(s.OwnerReferences).To(ConsistOf(And(
				HaveField("UID", owner.UID), HaveField("Kind", "VantageCredential"),
				HaveField("Controller", ptr.To(true)), HaveField("BlockOwnerDeletion", ptr.To(true)))))
			s, err = getSecret(ns, "orphan")
			Expect(err).NotTo(HaveOccurred())
			Expect(s.OwnerReferences).To(BeEmpty())

			Expect(k8sClient.Delete(ctx, orphan)).To(Succeed())
			Consistently(func() error { _, err := getSecret(ns, "orphan"); return err }, quiet, interval).Should(Succeed())

			By("switching Owner to Orphan without a new token")
			requests := tokenSrv.RequestsFor(id)
			patchCredential(owner, func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Target = &vantagev1alpha1.TargetSpec{CreationPolicy: ptr.To(vantagev1alpha1.CreationPolicyOrphan)}
			})
			Eventually(func() []metav1.OwnerReference { s, _ := getSecret(ns, "owned"); return s.OwnerReferences }, timeout, interval).Should(BeEmpty())
			Expect(tokenSrv.RequestsFor(id)).To(Equal(requests))
		})
	})

	Context("suspend", func() {
		It("makes no exchange while suspended and resumes after", func() {
			id := newClient("susp")
			saSecret(ns, "sa", keyFile(id, "susp"))
			cred := newCredential(ns, "susp", "sa", func(c *vantagev1alpha1.VantageCredential) { c.Spec.Suspend = ptr.To(true) })
			Eventually(condition(ns, "susp", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonSuspended))
			Consistently(requestsFor(id), quiet, interval).Should(BeZero())
			_, err := getSecret(ns, "susp")
			Expect(apierrors.IsNotFound(err)).To(BeTrue())

			patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) { c.Spec.Suspend = nil })
			waitReady(ns, "susp")

			By("a refresh request while suspended is not acted on")
			patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) {
				c.Spec.Suspend = ptr.To(true)
				c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "now"}
			})
			Eventually(condition(ns, "susp", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("True/" + ReasonSuspended))
			Consistently(requestsFor(id), quiet, interval).Should(Equal(1))
		})
	})

	Context("bad inputs", func() {
		It("waits for a missing Secret and acts as soon as it appears", func() {
			id := newClient("late")
			newCredential(ns, "late", "not-yet")
			Eventually(condition(ns, "late", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonSecretNotFound))
			Expect(condition(ns, "late", vantagev1alpha1.ConditionReconciling)()).To(HavePrefix("True/"))
			Expect(condition(ns, "late", vantagev1alpha1.ConditionStalled)()).To(HavePrefix("False/"))
			saSecret(ns, "not-yet", keyFile(id, "late"))
			waitReady(ns, "late")
		})

		DescribeTable("reports what is wrong with a distinct reason and makes at most a few requests",
			func(secret func(id string) map[string]string, mutate func(*vantagev1alpha1.VantageCredential), reason string, maxRequests int) {
				id := newClient("right", func(c *oauthtest.Client) { c.AllowedScopes = []string{"jobs:read", "clusters:read"} })
				saSecret(ns, "sa", secret(id))
				newCredential(ns, "bad", "sa", mutate)
				Eventually(condition(ns, "bad", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + reason))
				Expect(condition(ns, "bad", vantagev1alpha1.ConditionStalled)()).To(Equal("True/" + reason))
				Expect(condition(ns, "bad", vantagev1alpha1.ConditionReconciling)()).To(HavePrefix("False/"))
				Consistently(requestsFor(id), quiet, interval).Should(BeNumerically("<=", maxRequests))
				Expect(getCredential(ns, "bad").Status.ObservedGeneration).To(Equal(int64(1)))
			},
			Entry("malformed JSON key", func(id string) map[string]string {
				return map[string]string{"service-account.json": `{"client_id": "` + id + `", `}
			}, nil, ReasonInvalidKey, 0),
			Entry("missing named key", func(id string) map[string]string { return keyFile(id, "right") },
				func(c *vantagev1alpha1.VantageCredential) {
					c.Spec.ServiceAccountSecretRef.Key = ptr.To("other.json")
				}, ReasonSecretKeyNotFound, 0),
			Entry("empty client id", func(string) map[string]string { return map[string]string{"client_id": "", "client_secret": "right"} },
				nil, ReasonInvalidKey, 0),
			Entry("empty client secret", func(id string) map[string]string { return map[string]string{"client_id": id, "client_secret": ""} },
				nil, ReasonInvalidKey, 0),
			// Auto tries Basic, then the form body once: two requests at most.
			Entry("wrong client secret", func(id string) map[string]string { return keyFile(id, "wrong") }, nil, ReasonInvalidClient, 2),
			Entry("refused scope", func(id string) map[string]string { return keyFile(id, "right") },
				func(c *vantagev1alpha1.VantageCredential) { c.Spec.Scopes = []string{"teams:write"} }, ReasonInvalidScope, 1),
			Entry("token host outside the operator's allowlist", func(id string) map[string]string { return keyFile(id, "right") },
				func(c *vantagev1alpha1.VantageCredential) {
					c.Spec.TokenURL = ptr.To("https://collector.example/oauth/token")
				},
				ReasonTokenURLNotAllowed, 0),
			Entry("broken template", func(id string) map[string]string { return keyFile(id, "right") },
				func(c *vantagev1alpha1.VantageCredential) {
					c.Spec.Target = &vantagev1alpha1.TargetSpec{Template: &vantagev1alpha1.TargetTemplate{Data: map[string]string{"t": "{{ .Nope }}"}}}
				}, ReasonInvalidTemplate, 0),
		)

		It("recovers at once when the key is fixed", func() {
			id := newClient("fixed")
			src := saSecret(ns, "sa", keyFile(id, "wrong"))
			newCredential(ns, "fix", "sa")
			Eventually(condition(ns, "fix", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonInvalidClient))
			base := src.DeepCopy()
			src.StringData = keyFile(id, "fixed")
			Expect(k8sClient.Patch(ctx, src, client.MergeFrom(base))).To(Succeed())
			got := waitReady(ns, "fix")
			Expect(got.Status.ConsecutiveFailures).To(BeZero())
			Expect(condition(ns, "fix", vantagev1alpha1.ConditionStalled)()).To(HavePrefix("False/"))
		})
	})

	Context("namespaces", func() {
		It("never reads a key from, or writes a token into, another namespace", func() {
			id := newClient("right")
			other := newNamespace()
			// The key and a Secret named like the target live in another
			// namespace only; neither may be used or touched.
			saSecret(other, "sa", keyFile(id, "right"))
			bystander := saSecret(other, "stolen", map[string]string{"keep": "me"})
			newCredential(ns, "stolen", "sa")
			Eventually(condition(ns, "stolen", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonSecretNotFound))
			Consistently(requestsFor(id), quiet, interval).Should(BeZero())
			_, err := getSecret(ns, "stolen")
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no target without a token")
			after, err := getSecret(other, "stolen")
			Expect(err).NotTo(HaveOccurred())
			Expect(after.ResourceVersion).To(Equal(bystander.ResourceVersion))

			// The spec has no namespace fields to point elsewhere: the API
			// server refuses one under strict field validation.
			raw := rawCredential(ns, `{"serviceAccountSecretRef":{"name":"sa","namespace":"`+other+`"},"target":{"name":"t","namespace":"`+other+`"}}`)
			err = k8sClient.Create(ctx, raw, client.FieldValidation(metav1.FieldValidationStrict))
			Expect(err).To(MatchError(And(ContainSubstring(`unknown field "spec.serviceAccountSecretRef.namespace"`),
				ContainSubstring(`unknown field "spec.target.namespace"`))))
		})

		It("never reads the key of a ClusterVantageCredential from the operator's namespace", func() {
			id := newClient("right")
			saSecret(operatorNamespace, "shared-sa-"+ns, keyFile(id, "right"))
			newCredential(ns, "borrower", "shared-sa-"+ns)
			Eventually(condition(ns, "borrower", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonSecretNotFound))
			Consistently(requestsFor(id), quiet, interval).Should(BeZero())
		})
	})

	Context("shared exchanges", func() {
		It("gives credentials asking for the same token at the same moment one exchange", func() {
			id := newClient("right")
			saSecret(ns, "sa", keyFile(id, "right"))
			// Hold the first request at the server, so the other credentials'
			// identical requests arrive while it is in flight.
			release := make(chan struct{})
			var held atomic.Bool
			tokenSrv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
				user, _, _ := r.BasicAuth()
				if user == id && held.CompareAndSwap(false, true) {
					<-release
				}
				return false
			})
			DeferCleanup(func() { tokenSrv.Intercept(nil) })

			names := []string{"a", "b", "c", "d"}
			for _, name := range names {
				newCredential(ns, name, "sa")
			}
			Eventually(held.Load, timeout, interval).Should(BeTrue())
			Consistently(requestsFor(id), 2*time.Second, interval).Should(Equal(1), "the others wait for the request in flight")
			close(release)
			tokens := map[string]bool{}
			for _, name := range names {
				waitReady(ns, name)
				tokens[targetToken(ns, name)()] = true
			}
			Expect(tokens).To(HaveLen(1), "one token, written into each target")
			Expect(requestsFor(id)()).To(Equal(1))
		})
	})

	Context("client-side limits", func() {
		It("waits for its turn without reporting a failure, and sends each request once", func() {
			id := newClient("right", func(c *oauthtest.Client) { c.ID = "limited-" + c.ID })
			saSecret(ns, "sa", keyFile(id, "right"))
			// Three credentials of one client, each with scopes of its own
			// (identical requests at once would share one exchange): each
			// keeps a turn of its own under the 0.5/s limit, at 0, 2 and 4 s.
			names := []string{"first", "second", "third"}
			heldBack := metricValue("vantage_credential_token_requests_held_back_total", nil)
			created := time.Now()
			for _, name := range names {
				newCredential(ns, name, "sa", func(c *vantagev1alpha1.VantageCredential) { c.Spec.Scopes = []string{"jobs:" + name} })
			}
			for _, name := range names {
				waitReady(ns, name)
			}
			Expect(time.Since(created)).To(BeNumerically(">=", 3900*time.Millisecond))
			Expect(requestsFor(id)()).To(Equal(3))
			Expect(metricValue("vantage_credential_token_requests_held_back_total", nil)).To(BeNumerically(">=", heldBack+2),
				"the second and third waited over a second for their turn")
			for _, name := range names {
				c := getCredential(ns, name)
				Expect(c.Status.ConsecutiveFailures).To(BeZero())
				Expect(c.Status.LastFailureTime).To(BeNil())
			}
			events := &eventsv1.EventList{}
			Expect(k8sClient.List(ctx, events, client.InNamespace(ns))).To(Succeed())
			for _, ev := range events.Items {
				Expect(ev.Type).To(Equal(corev1.EventTypeNormal), "a held-back request is no failure: %s %s", ev.Reason, ev.Note)
			}
		})
	})

	Context("transient failures", func() {
		It("keeps Ready=True with RefreshFailing while the token is valid, backs off, then recovers", func() {
			id := newClient("flaky", func(c *oauthtest.Client) { c.Lifetime = 8 * time.Second })
			saSecret(ns, "sa", keyFile(id, "flaky"))
			newCredential(ns, "flaky", "sa")
			waitReady(ns, "flaky")
			good := targetToken(ns, "flaky")()
			// The gauge the alerts measure an overdue refresh from.
			due := getCredential(ns, "flaky").Status.NextRefreshTime.Unix()
			Eventually(func() float64 { return gaugeOf("vantage_credential_token_refresh_timestamp_seconds", ns, "flaky") },
				timeout, interval).Should(Equal(float64(due)))

			var down atomic.Bool
			down.Store(true)
			tokenSrv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				user, _, ok := r.BasicAuth()
				if !ok {
					user = r.PostFormValue("client_id")
				}
				if !down.Load() || user != id {
					return false
				}
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			})
			DeferCleanup(func() { tokenSrv.Intercept(nil) })

			Eventually(condition(ns, "flaky", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("True/" + ReasonRefreshFailing))
			Expect(targetToken(ns, "flaky")()).To(Equal(good), "the last good token stays while it is valid")
			st := getCredential(ns, "flaky").Status
			Expect(st.ConsecutiveFailures).To(BeNumerically(">=", 1))
			Expect(condition(ns, "flaky", vantagev1alpha1.ConditionReconciling)()).To(HavePrefix("False/"))
			Expect(st.NextRefreshTime.Unix()).NotTo(Equal(due), "status carries the retry")
			Expect(gaugeOf("vantage_credential_token_refresh_timestamp_seconds", ns, "flaky")).To(Equal(float64(due)),
				"failed attempts leave the due time where it was, so the refresh shows as overdue")

			down.Store(false)
			waitReady(ns, "flaky")
			Expect(targetToken(ns, "flaky")()).NotTo(Equal(good))
			Expect(getCredential(ns, "flaky").Status.ConsecutiveFailures).To(BeZero())
		})
	})

	Context("steady state and secrecy", func() {
		It("makes no writes and no token requests between refreshes", func() {
			id := newClient("calm")
			src := saSecret(ns, "sa", keyFile(id, "calm"))
			newCredential(ns, "calm", "sa")
			waitReady(ns, "calm")
			target, err := getSecret(ns, "calm")
			Expect(err).NotTo(HaveOccurred())
			credRV := getCredential(ns, "calm").ResourceVersion

			// Events that bring the credential back without changing anything.
			for i := range 3 {
				base := src.DeepCopy()
				src.Labels = map[string]string{"touch": string(rune('a' + i))}
				Expect(k8sClient.Patch(ctx, src, client.MergeFrom(base))).To(Succeed())
			}
			Consistently(func() []string {
				s, _ := getSecret(ns, "calm")
				return []string{s.ResourceVersion, getCredential(ns, "calm").ResourceVersion}
			}, quiet, interval).Should(Equal([]string{target.ResourceVersion, credRV}))
			Expect(tokenSrv.RequestsFor(id)).To(Equal(1))
		})

		It("never puts a token or client secret into logs, events or status", func() {
			const secret = "SENTINEL-client-secret-9d2b7e"
			id := newClient(secret)
			saSecret(ns, "sa", keyFile(id, secret))
			newCredential(ns, "leak", "sa")
			waitReady(ns, "leak")
			// A failure path too: a wrong secret that is also a sentinel.
			saSecret(ns, "sa-bad", keyFile(id, secret+"-wrong"))
			newCredential(ns, "leak-bad", "sa-bad")
			Eventually(condition(ns, "leak-bad", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + ReasonInvalidClient))

			var evs eventsv1.EventList
			Eventually(func() int {
				Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
				return len(evs.Items)
			}, timeout, interval).Should(BeNumerically(">=", 2))
			evJSON, err := json.Marshal(evs)
			Expect(err).NotTo(HaveOccurred())
			credJSON, err := json.Marshal([]any{getCredential(ns, "leak"), getCredential(ns, "leak-bad")})
			Expect(err).NotTo(HaveOccurred())

			haystacks := map[string]string{"logs": logs.String(), "events": string(evJSON), "status": string(credJSON)}
			needles := append([]string{secret}, tokenSrv.IssuedTokens()...)
			for where, text := range haystacks {
				for _, needle := range needles {
					Expect(strings.Contains(text, needle)).To(BeFalse(), "%s contain a secret value", where)
				}
			}
			Expect(string(evJSON)).To(ContainSubstring(ReasonIssued), "the events looked at are the operator's")
		})
	})
})
