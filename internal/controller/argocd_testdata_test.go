package controller

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// argoDir holds the Argo CD resource customizations, one directory per
// kind; hack/argocd's tests run their health tests on the objects this
// file captures into each kind's testdata/.
const argoDir = "../../hack/argocd/resource_customizations/vantage.omnivector.solutions"

// updateArgoTestdata, when set, rewrites the testdata instead of comparing.
const updateArgoTestdata = "UPDATE_ARGO_TESTDATA"

// The names every captured object is given, so captures do not depend on
// the names this suite makes unique per test.
const (
	argoName      = "ci-runner"
	argoNamespace = "hpc"
	argoSource    = "vantage-sa"
	argoClient    = "ci-runner-client"
	// argoTokenHost stands for the fake token server's random port.
	argoTokenHost = "https://auth.vantage.omnivector.solutions"
)

// argoTimes are the placeholders of the times in status, by field: the
// real ones change with every run. Conditions' lastTransitionTime becomes
// the first. Times in messages become the placeholder of the field they
// equal, or the first.
var argoTimes = []struct{ field, value string }{
	{"expiresAt", "2025-01-01T01:00:00Z"},
	{"nextRefreshTime", "2025-01-01T00:40:00Z"},
	{"lastFailureTime", "2025-01-01T00:30:00Z"},
	{"lastRefreshTime", "2025-01-01T00:00:00Z"},
	{"lastSourceChangeTime", "2025-01-01T00:00:00Z"},
	{"lastValidationTime", "2025-01-01T00:00:00Z"},
	{"lastRolloutRestartTime", "2025-01-01T00:00:00Z"},
	{"expiryWarningTime", "2025-01-01T00:00:00Z"},
}

const argoEpoch = "2025-01-01T00:00:00Z"

var rfc3339Stamp = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// expiredAfterRetry is the Ready message of a retry that failed after the
// token expired.
var expiredAfterRetry = regexp.MustCompile(`^the token expired at \S+ and refreshing failed: `)

// expiredAndRetrying is the state the expired captures wait for. The first
// status after expiry may be the backoff's ("has failed N times since");
// every retry after it writes the expired form.
func expiredAndRetrying(u *unstructured.Unstructured) bool {
	const done = "False/" + reconcilingDone
	return having(vantagev1alpha1.ConditionReady, "False/"+ReasonTokenExpired, vantagev1alpha1.ConditionReconciling, done,
		vantagev1alpha1.ConditionStalled, done)(u) && expiredAfterRetry.MatchString(messageOf(u, vantagev1alpha1.ConditionReady))
}

// argoCapture is what a capture renames: the names the test made, by the
// fixed names they stand for.
type argoCapture struct {
	kind  string
	names map[string]string
}

// argoShape is obj as a testdata file: the fields that change from run to
// run (uid, resourceVersion, creationTimestamp, managedFields, times,
// counts of retries, the Secret's resourceVersion) fixed or dropped, the
// names made by the test replaced, and comment on top.
func (c argoCapture) argoShape(u *unstructured.Unstructured, comment string, edit func(map[string]any)) string {
	obj := u.DeepCopy().Object
	md := obj["metadata"].(map[string]any)
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields"} {
		delete(md, f)
	}
	if st, ok := obj["status"].(map[string]any); ok {
		placeholder := map[string]string{}
		for _, t := range argoTimes {
			if v, ok := st[t.field].(string); ok {
				if _, seen := placeholder[v]; !seen {
					placeholder[v] = t.value
				}
				st[t.field] = t.value
			}
		}
		if n, ok := st["consecutiveFailures"].(int64); ok && n > 0 {
			// How many retries fell within the capture depends on timing.
			st["consecutiveFailures"] = int64(1)
		}
		if _, ok := st["failedSourceVersion"]; ok {
			st["failedSourceVersion"] = "1"
		}
		conds, _ := st["conditions"].([]any)
		for _, ci := range conds {
			cond := ci.(map[string]any)
			cond["lastTransitionTime"] = argoEpoch
			cond["message"] = rfc3339Stamp.ReplaceAllStringFunc(cond["message"].(string), func(s string) string {
				if v, ok := placeholder[s]; ok {
					return v
				}
				return argoEpoch
			})
		}
	}
	if edit != nil {
		edit(obj)
	}
	b, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	text := string(b)
	text = strings.ReplaceAll(text, tokenSrv.URL(), argoTokenHost)
	for from, to := range c.names {
		text = regexp.MustCompile(`\b`+regexp.QuoteMeta(from)+`\b`).ReplaceAllString(text, to)
	}
	y, err := yaml.JSONToYAML([]byte(text))
	Expect(err).NotTo(HaveOccurred())
	return comment + string(y)
}

// match compares the testdata file with obj's shape, or writes it with
// UPDATE_ARGO_TESTDATA=1.
func (c argoCapture) match(file string, u *unstructured.Unstructured, comment string, edit func(map[string]any)) {
	got := c.argoShape(u, "# "+comment+"\n", edit)
	path := filepath.Join(argoDir, c.kind, "testdata", file)
	if os.Getenv(updateArgoTestdata) != "" {
		Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
		Expect(os.WriteFile(path, []byte(got), 0o644)).To(Succeed())
		return
	}
	want, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "run with %s=1 to capture it", updateArgoTestdata)
	Expect(got).To(Equal(string(want)), "the operator writes %s differently now: check hack/argocd's health tests, and run with %s=1 to capture it again", path, updateArgoTestdata)
}

// captured is the comment on a file this spec captured as it was read.
const captured = "Captured from envtest by internal/controller/argocd_testdata_test.go (UPDATE_ARGO_TESTDATA=1 rewrites it)."

// olderGeneration is the one state not captured live: the operator sees a
// new spec within milliseconds, so a read between the write and its
// status is a race. It is healthy.yaml with metadata.generation one past
// status.observedGeneration, which is what such a read returns.
func olderGeneration(obj map[string]any) {
	md := obj["metadata"].(map[string]any)
	md["generation"] = obj["status"].(map[string]any)["observedGeneration"].(int64) + 1
}

const derivedOldGeneration = "Derived from healthy.yaml by internal/controller/argocd_testdata_test.go: metadata.generation set to observedGeneration+1, a spec change the operator has not yet seen."

// conditionOf is a condition's status/reason in u, "absent" if none.
func conditionOf(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, ci := range conds {
		if c := ci.(map[string]any); c["type"] == typ {
			return fmt.Sprintf("%s/%s", c["status"], c["reason"])
		}
	}
	return "absent"
}

func messageOf(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, ci := range conds {
		if c := ci.(map[string]any); c["type"] == typ {
			m, _ := c["message"].(string)
			return m
		}
	}
	return ""
}

// observe reads the object until in holds and returns that read, so what
// is captured is the state waited for, not one a later reconcile wrote.
func observe(kind string, key types.NamespacedName, in func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	var last *unstructured.Unstructured
	Eventually(func() bool {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(vantagev1alpha1.GroupVersion.WithKind(kind))
		if err := k8sClient.Get(ctx, key, u); err != nil {
			return false
		}
		last = u
		return in(u)
	}, timeout, interval).Should(BeTrue(), func() string { return fmt.Sprintf("last read: %v", last) })
	return last
}

// having is a test of conditions: each pair is a type and its wanted
// status/reason.
func having(pairs ...string) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		for i := 0; i+1 < len(pairs); i += 2 {
			if conditionOf(u, pairs[i]) != pairs[i+1] {
				return false
			}
		}
		return true
	}
}

// createUnstructured creates obj and returns the API server's answer: the
// object as stored, before the operator wrote anything.
func createUnstructured(obj client.Object) *unstructured.Unstructured {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	delete(m, "status")
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(vantagev1alpha1.GroupVersion.WithKind(obj.GetObjectKind().GroupVersionKind().Kind))
	Expect(k8sClient.Create(ctx, u)).To(Succeed())
	return u
}

var _ = Describe("Argo CD health testdata", func() {
	const (
		ready       = vantagev1alpha1.ConditionReady
		reconciling = vantagev1alpha1.ConditionReconciling
		stalled     = vantagev1alpha1.ConditionStalled
	)

	Context("VantageCredential", func() {
		var ns string
		var c argoCapture
		key := func() types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: argoName} }
		// credential makes a client whose secret is secret, a key file
		// holding keySecret, and a credential using it; fault, when not
		// nil, answers the client's requests from the first.
		credential := func(secret, keySecret string, fault func(http.ResponseWriter, *http.Request),
			mutateClient func(*oauthtest.Client), mutate func(*vantagev1alpha1.VantageCredential)) string {
			id := newClient(secret, func(cl *oauthtest.Client) {
				if mutateClient != nil {
					mutateClient(cl)
				}
			})
			c.names[id] = argoClient
			if fault != nil {
				faultFor(id, fault)
			}
			saSecret(ns, argoSource, keyFile(id, keySecret))
			newCredential(ns, argoName, argoSource, func(cr *vantagev1alpha1.VantageCredential) {
				cr.Spec.Scopes = []string{"jobs:read"}
				if mutate != nil {
					mutate(cr)
				}
			})
			return id
		}
		BeforeEach(func() {
			ns = newNamespace()
			c = argoCapture{kind: "VantageCredential", names: map[string]string{ns: argoNamespace}}
		})

		It("no status: as the API server stores it, before the operator's first write", func() {
			u := createUnstructured(&vantagev1alpha1.VantageCredential{
				TypeMeta:   metav1.TypeMeta{Kind: "VantageCredential"},
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: argoName},
				Spec: vantagev1alpha1.VantageCredentialSpec{
					ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: argoSource},
					Scopes:                  []string{"jobs:read"},
				},
			})
			Expect(u.Object).NotTo(HaveKey("status"))
			c.match("no-status.yaml", u, captured, nil)
		})

		It("first token: Ready Unknown and Reconciling while the token server has not answered", func() {
			id := credential("s3cret", "s3cret", hang, nil, nil)
			u := observe(c.kind, key(), having(ready, "Unknown/"+ReasonProgressing, reconciling, "True/"+reconcilingFirstToken))
			Expect(tokenSrv.RequestsFor(id)).To(Equal(1), "the first request is the one hanging")
			c.match("first-token.yaml", u, captured, nil)
		})

		It("healthy, and an older generation derived from it", func() {
			credential("s3cret", "s3cret", nil, nil, nil)
			u := observe(c.kind, key(), having(ready, "True/"+ReasonTokenValid, reconciling, "False/"+reconcilingDone))
			c.match("healthy.yaml", u, captured, nil)
			c.match("old-generation.yaml", u, derivedOldGeneration, olderGeneration)
		})

		It("healthy while RolloutRestart is False: a restart problem never changes health", func() {
			credential("s3cret", "s3cret", nil, nil, func(cr *vantagev1alpha1.VantageCredential) {
				cr.Spec.RolloutRestart = &vantagev1alpha1.RolloutRestartSpec{
					Targets: []vantagev1alpha1.RolloutRestartTarget{{Kind: vantagev1alpha1.WorkloadDeployment, Name: "ghost"}},
				}
			})
			u := observe(c.kind, key(), having(ready, "True/"+ReasonTokenValid, vantagev1alpha1.ConditionRolloutRestart, "False/WorkloadNotFound"))
			c.match("rollout-restart-failing.yaml", u, captured, nil)
		})

		It("refresh failing: Ready True, RefreshFailing, while the token is valid", func() {
			// Refresh 1 to 2 s after issue, long before the 12 s expiry.
			id := credential("s3cret", "s3cret", nil, func(cl *oauthtest.Client) { cl.Lifetime = 12 * time.Second },
				func(cr *vantagev1alpha1.VantageCredential) {
					cr.Spec.RefreshBefore = &metav1.Duration{Duration: 10 * time.Second}
				})
			observe(c.kind, key(), having(ready, "True/"+ReasonTokenValid))
			faultFor(id, answer(http.StatusServiceUnavailable, ""))
			u := observe(c.kind, key(), having(ready, "True/"+ReasonRefreshFailing, reconciling, "False/"+reconcilingDone))
			c.match("refresh-failing.yaml", u, captured, nil)
		})

		It("expired: Ready False, TokenExpired, not stalled, while refreshing fails", func() {
			id := credential("s3cret", "s3cret", nil, func(cl *oauthtest.Client) { cl.Lifetime = 4 * time.Second }, nil)
			observe(c.kind, key(), having(ready, "True/"+ReasonTokenValid))
			faultFor(id, answer(http.StatusServiceUnavailable, ""))
			u := observe(c.kind, key(), expiredAndRetrying)
			c.match("expired.yaml", u, captured, nil)
		})

		It("stalled: the token server refuses the client", func() {
			credential("right-secret", "wrong-secret", nil, nil, nil)
			u := observe(c.kind, key(), having(ready, "False/"+ReasonInvalidClient, stalled, "True/"+ReasonInvalidClient))
			c.match("stalled.yaml", u, captured, nil)
		})
	})

	Context("ClusterVantageCredential", func() {
		var tenant, source string
		var c argoCapture
		key := func() types.NamespacedName { return types.NamespacedName{Name: tenant} }
		BeforeEach(func() {
			n := nsCounter.Add(1)
			tenant = fmt.Sprintf("argo-tenant-%d", n)
			source = fmt.Sprintf("argo-sa-%d", n)
			// One namespace, so targetNamespaces is the same every run.
			labelledNamespace(tenant)
			c = argoCapture{kind: "ClusterVantageCredential", names: map[string]string{tenant: argoName, source: argoSource}}
		})
		credential := func(secret, keySecret string) string {
			id := newClient(secret)
			c.names[id] = argoClient
			saSecret(operatorNamespace, source, keyFile(id, keySecret))
			newClusterCredential(tenant, source)
			return id
		}
		// shortLived is a credential whose client's tokens live lifetime,
		// refreshed refreshBefore ahead of expiry (none: the default).
		shortLived := func(lifetime time.Duration, refreshBefore time.Duration) string {
			id := newClient("s3cret", func(cl *oauthtest.Client) { cl.Lifetime = lifetime })
			c.names[id] = argoClient
			saSecret(operatorNamespace, source, keyFile(id, "s3cret"))
			cr := clusterCredential(tenant, source)
			if refreshBefore > 0 {
				cr.Spec.RefreshBefore = &metav1.Duration{Duration: refreshBefore}
			}
			Expect(k8sClient.Create(ctx, cr)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, cr))).To(Succeed()) })
			return id
		}

		It("no status: as the API server stores it, before the operator's first write", func() {
			u := createUnstructured(clusterCredential(tenant, source))
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, u))).To(Succeed()) })
			Expect(u.Object).NotTo(HaveKey("status"))
			c.match("no-status.yaml", u, captured, nil)
		})

		It("first token: Ready Unknown and Reconciling while the token server has not answered", func() {
			id := newClient("s3cret")
			c.names[id] = argoClient
			faultFor(id, hang)
			saSecret(operatorNamespace, source, keyFile(id, "s3cret"))
			newClusterCredential(tenant, source)
			u := observe(c.kind, key(), having(ready, "Unknown/"+ReasonProgressing, reconciling, "True/"+reconcilingFirstToken))
			c.match("first-token.yaml", u, captured, nil)
		})

		It("healthy, and an older generation derived from it", func() {
			credential("s3cret", "s3cret")
			u := observe(c.kind, key(), having(ready, "True/"+ReasonTokenValid, reconciling, "False/"+reconcilingDone))
			Expect(u.Object["status"]).To(HaveKeyWithValue("targetNamespaces", int64(1)))
			c.match("healthy.yaml", u, captured, nil)
			c.match("old-generation.yaml", u, derivedOldGeneration, olderGeneration)
		})

		It("refresh failing: Ready True, RefreshFailing, while the token is valid", func() {
			id := shortLived(12*time.Second, 10*time.Second)
			observe(c.kind, key(), having(ready, "True/"+ReasonTokenValid))
			faultFor(id, answer(http.StatusServiceUnavailable, ""))
			u := observe(c.kind, key(), having(ready, "True/"+ReasonRefreshFailing, reconciling, "False/"+reconcilingDone))
			c.match("refresh-failing.yaml", u, captured, nil)
		})

		It("expired: Ready False, TokenExpired, not stalled, while refreshing fails", func() {
			id := shortLived(4*time.Second, 0)
			observe(c.kind, key(), having(ready, "True/"+ReasonTokenValid))
			faultFor(id, answer(http.StatusServiceUnavailable, ""))
			u := observe(c.kind, key(), expiredAndRetrying)
			c.match("expired.yaml", u, captured, nil)
		})

		It("stalled: the token server refuses the client", func() {
			credential("right-secret", "wrong-secret")
			u := observe(c.kind, key(), having(ready, "False/"+ReasonInvalidClient, stalled, "True/"+ReasonInvalidClient))
			c.match("stalled.yaml", u, captured, nil)
		})
	})
})
