package controller

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// Bounds for Eventually and Consistently: long enough for a loaded 2-core
// CI machine, short enough to fail fast.
const (
	timeout  = 20 * time.Second
	interval = 100 * time.Millisecond
	quiet    = 3 * time.Second
)

var nsCounter atomic.Int32

// newNamespace creates a namespace of its own for one test, so tests never
// see each other's Secrets.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("t%d-%d", GinkgoParallelProcess(), nsCounter.Add(1))}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// newClient registers a client with the fake token server under a name no
// other test uses, so request counts per client are exact.
func newClient(secret string, mutate ...func(*oauthtest.Client)) string {
	id := fmt.Sprintf("client-%d-%d", GinkgoParallelProcess(), nsCounter.Add(1))
	c := oauthtest.Client{ID: id, Secret: secret}
	for _, m := range mutate {
		m(&c)
	}
	tokenSrv.AddClient(c)
	return c.ID
}

func saSecret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	Expect(k8sClient.Create(ctx, s)).To(Succeed())
	return s
}

func keyFile(id, secret string) map[string]string {
	b, err := json.Marshal(map[string]string{"client_id": id, "client_secret": secret})
	Expect(err).NotTo(HaveOccurred())
	return map[string]string{"service-account.json": string(b)}
}

// testKeys are EC private keys for private_key_jwt clients, made once.
var testKeys = func() []*ecdsa.PrivateKey {
	keys := make([]*ecdsa.PrivateKey, 2)
	for i := range keys {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
}()

// privateKeyFile is a key file for a private_key_jwt client: the PEM of key
// and its key id.
func privateKeyFile(id string, key *ecdsa.PrivateKey, kid string) map[string]string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	b, err := json.Marshal(map[string]string{"client_id": id, "key_id": kid,
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	Expect(err).NotTo(HaveOccurred())
	return map[string]string{"service-account.json": string(b)}
}

func newCredential(ns, name, secretName string, mutate ...func(*vantagev1alpha1.VantageCredential)) *vantagev1alpha1.VantageCredential {
	c := &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: secretName},
			Scopes:                  []string{"jobs:read", "clusters:read"},
		},
	}
	for _, m := range mutate {
		if m != nil {
			m(c)
		}
	}
	Expect(k8sClient.Create(ctx, c)).To(Succeed())
	return c
}

func getCredential(ns, name string) *vantagev1alpha1.VantageCredential {
	c := &vantagev1alpha1.VantageCredential{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, c)).To(Succeed())
	return c
}

func getSecret(ns, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	return s, k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, s)
}

// condition returns a condition's status and reason, for Eventually.
func condition(ns, name, typ string) func() string {
	return func() string {
		c := &vantagev1alpha1.VantageCredential{}
		if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, c); err != nil {
			return err.Error()
		}
		cond := meta.FindStatusCondition(c.Status.Conditions, typ)
		if cond == nil {
			return "absent"
		}
		return string(cond.Status) + "/" + cond.Reason
	}
}

// targetToken returns the access token the target Secret holds, "" if none.
func targetToken(ns, name string) func() string {
	return func() string {
		s, err := getSecret(ns, name)
		if err != nil {
			return ""
		}
		return string(s.Data["access_token"])
	}
}

func waitReady(ns, name string) *vantagev1alpha1.VantageCredential {
	Eventually(condition(ns, name, vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("True/" + ReasonTokenValid))
	return getCredential(ns, name)
}

// requestsFor reads the fake server's count of token requests by a client.
func requestsFor(id string) func() int {
	return func() int { return tokenSrv.RequestsFor(id) }
}

func patchCredential(c *vantagev1alpha1.VantageCredential, mutate func(*vantagev1alpha1.VantageCredential)) {
	latest := getCredential(c.Namespace, c.Name)
	base := latest.DeepCopy()
	mutate(latest)
	Expect(k8sClient.Patch(ctx, latest, client.MergeFrom(base))).To(Succeed())
}

func parseDuration(s string) *metav1.Duration {
	d, err := time.ParseDuration(s)
	Expect(err).NotTo(HaveOccurred())
	return &metav1.Duration{Duration: d}
}

// rawCredential builds a credential from a raw JSON spec, for values the Go
// types cannot hold.
func rawCredential(ns, spec string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	Expect(u.UnmarshalJSON([]byte(`{"apiVersion":"vantage.omnivector.solutions/v1alpha1","kind":"VantageCredential",` +
		`"metadata":{"name":"raw","namespace":"` + ns + `"},"spec":` + spec + `}`))).To(Succeed())
	return u
}

// metricValue reads the counter or gauge name of the suite's manager whose
// labels include want; 0 when there is none.
func metricValue(name string, want map[string]string) float64 {
	v, _ := metricSample(name, want)
	return v
}

// gaugeOf reads a per-credential gauge of the suite's manager; -1
// when the credential has no such series.
func gaugeOf(name, ns, cred string) float64 {
	v, ok := metricSample(name, map[string]string{"namespace": ns, "name": cred})
	if !ok {
		return -1
	}
	return v
}

// metricSample finds the series of name whose labels include want.
func metricSample(name string, want map[string]string) (float64, bool) {
	families, err := mgrMetrics.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			matches := true
			for k, v := range want {
				matches = matches && labels[k] == v
			}
			if !matches {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
