package plugin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the output")

// now is the fixed time every test runs at.
var now = time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)

// Secret values the sentinel test looks for in every output: none may
// ever be printed, raw or base64-encoded.
const (
	clientSecret = "client-secret-SENTINEL-7d1e"
	apiKeyValue  = "api-key-SENTINEL-42aa"
	// signature is the token's third segment: whoever has it has the token.
	signature = "U0lHTkFUVVJFLVNFTlRJTkVMLTk5Yjc"
)

// token is a JWT as Vantage's token server issues it.
var token = jwt(map[string]any{
	"sub": "service-account-ci-runner", "azp": "ci-runner", "scope": "jobs:read clusters:read",
	"organization": "omnivector", "iss": "https://auth.example/realms/vantage",
	"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(59 * time.Minute).Unix(),
})

func jwt(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "." + signature
}

func mt(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }

func cond(typ, status, reason, message string, since time.Time) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), Reason: reason, Message: message, LastTransitionTime: metav1.NewTime(since)}
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func event(ns, uid, typ, reason, message string, at time.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: reason + "." + uid + at.Format("150405")},
		InvolvedObject: corev1.ObjectReference{UID: types.UID(uid)},
		Type:           typ, Reason: reason, Message: message, EventTime: metav1.NewMicroTime(at),
	}
}

// world is the cluster every test sees: in namespace hpc a healthy
// credential, a failing one and an API-key one; in namespace apps one
// restarting workloads (spec.rolloutRestart); a ClusterVantageCredential
// serving two namespaces and failing in a third.
func world() []client.Object {
	apiURL := "https://api.example"
	healthy := &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: "hpc", Name: "ci-runner", UID: "uid-ci-runner", Labels: map[string]string{"team": "hpc"}},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "ci-runner-sa"}, Scopes: []string{"jobs:read", "clusters:read"},
			APIURL: &apiURL,
		},
		Status: vantagev1alpha1.VantageCredentialStatus{
			ObservedGeneration: 1,
			Conditions: []metav1.Condition{
				cond("Ready", "True", "TokenValid", "token valid until 2026-11-22T15:59:00Z", now.Add(-time.Minute)),
				cond("Reconciling", "False", "TokenValid", "", now.Add(-time.Minute)),
				cond("Stalled", "False", "TokenValid", "", now.Add(-time.Minute)),
			},
			ExpiresAt: mt(now.Add(59 * time.Minute)), LastRefreshTime: mt(now.Add(-time.Minute)), NextRefreshTime: mt(now.Add(38 * time.Minute)),
			GrantedScopes: []string{"clusters:read", "jobs:read"}, TargetSecretName: "ci-runner", TokenURL: "https://auth.example/oauth/token",
		},
	}
	broken := &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: "hpc", Name: "nightly", UID: "uid-nightly"},
		Spec:       vantagev1alpha1.VantageCredentialSpec{ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "nightly-sa"}},
		Status: vantagev1alpha1.VantageCredentialStatus{
			Conditions: []metav1.Condition{
				cond("Ready", "False", "InvalidClient", "the token server refused the client (invalid_client): check client_id and client_secret", now.Add(-10*time.Minute)),
				cond("Reconciling", "False", "InvalidClient", "", now.Add(-10*time.Minute)),
				cond("Stalled", "True", "InvalidClient", "the token server refused the client (invalid_client): check client_id and client_secret", now.Add(-10*time.Minute)),
			},
			ConsecutiveFailures: 3, LastFailureTime: mt(now.Add(-2 * time.Minute)),
		},
	}
	apiKey := &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: "hpc", Name: "api-user", UID: "uid-api-user"},
		Spec:       vantagev1alpha1.VantageCredentialSpec{APIKeySecretRef: &vantagev1alpha1.APIKeySecretReference{Name: "api-key"}},
		Status: vantagev1alpha1.VantageCredentialStatus{
			Conditions:         []metav1.Condition{cond("Ready", "True", "APIKeyValid", "the Vantage API accepts the API key of user u-17; it never expires", now.Add(-3*time.Hour))},
			LastValidationTime: mt(now.Add(-20 * time.Minute)), NextRefreshTime: mt(now.Add(40 * time.Minute)), UserID: "u-17", TargetSecretName: "api-user",
		},
	}
	other := &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "builder", UID: "uid-builder"},
		Spec:       vantagev1alpha1.VantageCredentialSpec{ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "builder-sa"}},
		Status: vantagev1alpha1.VantageCredentialStatus{
			Conditions: []metav1.Condition{cond("Ready", "True", "RefreshFailing", "refreshing failed (server_error); the token stays valid until 2026-11-22T15:10:00Z", now.Add(-5*time.Minute))},
			ExpiresAt:  mt(now.Add(10 * time.Minute)), NextRefreshTime: mt(now.Add(-5 * time.Second)), ConsecutiveFailures: 2, TargetSecretName: "builder",
		},
	}
	// restarting, in namespace apps, restarts two workloads by name and
	// those labelled for it, at most every ten minutes.
	restarting := &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", UID: "uid-web"},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "web-sa"},
			RolloutRestart: &vantagev1alpha1.RolloutRestartSpec{
				Targets:     []vantagev1alpha1.RolloutRestartTarget{{Kind: "Deployment", Name: "api"}, {Kind: "StatefulSet", Name: "db"}},
				Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"vantage-token": "web"}},
				MinInterval: &metav1.Duration{Duration: 10 * time.Minute},
			},
		},
		Status: vantagev1alpha1.VantageCredentialStatus{
			ObservedGeneration: 1,
			Conditions: []metav1.Condition{
				cond("Ready", "True", "TokenValid", "token valid until 2026-11-22T15:59:00Z", now.Add(-time.Minute)),
				cond("Reconciling", "False", "TokenValid", "", now.Add(-time.Minute)),
				cond("Stalled", "False", "TokenValid", "", now.Add(-time.Minute)),
				cond("RolloutRestart", "True", "WorkloadsCurrent", "2 of 2 workloads hold the current token", now.Add(-61*time.Minute)),
			},
			ExpiresAt: mt(now.Add(59 * time.Minute)), LastRefreshTime: mt(now.Add(-time.Minute)), NextRefreshTime: mt(now.Add(38 * time.Minute)),
			LastRolloutRestartTime: mt(now.Add(-59 * time.Second)), LastSourceChangeTime: mt(now.Add(-61 * time.Minute)),
			TargetSecretName: "web",
		},
	}
	// borrower authenticates with the tokens of a ServiceAccount that has
	// not opted in.
	borrower := &vantagev1alpha1.VantageCredential{
		ObjectMeta: metav1.ObjectMeta{Namespace: "secretless", Name: "borrower", UID: "uid-borrower"},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountRef: &vantagev1alpha1.ServiceAccountReference{Name: "vantage-client"}, ClientID: ptr.To("ci-runner"),
		},
		Status: vantagev1alpha1.VantageCredentialStatus{
			Conditions: []metav1.Condition{
				cond("Ready", "False", "ServiceAccountNotOptedIn", "ServiceAccount \"vantage-client\" has not opted in to lending its tokens: label it with kubectl label serviceaccount vantage-client vantage.omnivector.solutions/token-source=true", now.Add(-time.Minute)),
				cond("Stalled", "True", "ServiceAccountNotOptedIn", "", now.Add(-time.Minute)),
			},
		},
	}
	targetName := "vantage-token"
	cluster := &vantagev1alpha1.ClusterVantageCredential{
		ObjectMeta: metav1.ObjectMeta{Name: "hpc", UID: "uid-cluster-hpc"},
		Spec: vantagev1alpha1.VantageCredentialSpec{
			ServiceAccountSecretRef: &vantagev1alpha1.SecretKeyReference{Name: "hpc-sa"},
			Target:                  &vantagev1alpha1.TargetSpec{Name: &targetName, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"vantage": "enabled"}}},
		},
		Status: vantagev1alpha1.ClusterVantageCredentialStatus{
			VantageCredentialStatus: vantagev1alpha1.VantageCredentialStatus{
				Conditions: []metav1.Condition{cond("Ready", "True", "TokenValid", "token valid until 2026-11-22T15:59:00Z in 2 namespaces; 1 failed", now.Add(-time.Minute))},
				ExpiresAt:  mt(now.Add(59 * time.Minute)), LastRefreshTime: mt(now.Add(-time.Minute)), NextRefreshTime: mt(now.Add(38 * time.Minute)),
				TargetSecretName: targetName,
			},
			TargetNamespaces: 2, FailedCount: 1,
			FailedNamespaces: []vantagev1alpha1.NamespaceFailure{{Namespace: "tenant-x", Reason: "TargetConflict", Message: "Secret tenant-x/vantage-token exists and is not this credential's"}},
		},
	}
	copyOf := func(ns string) *corev1.Secret {
		s := secret(ns, targetName, map[string]string{"access_token": token, "VANTAGE_API_KEY": token, "VANTAGE_API_URL": apiURL, "expires_at": "2026-11-22T15:59:00Z", "scope": "jobs:read", "token_type": "Bearer"})
		s.Labels = map[string]string{vantagev1alpha1.ClusterCredentialLabel: "hpc"}
		return s
	}
	return []client.Object{
		healthy, broken, apiKey, other, cluster, restarting, borrower,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "secretless", Name: "vantage-client",
			Annotations: map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: "https://auth.example.com/realms/vantage"}}},
		secret("hpc", "ci-runner-sa", map[string]string{"service-account.json": `{"client_id":"ci-runner","client_secret":"` + clientSecret + `"}`}),
		secret("hpc", "ci-runner", map[string]string{"access_token": token, "VANTAGE_API_KEY": token, "VANTAGE_API_URL": apiURL,
			"expires_at": "2026-11-22T15:59:00Z", "scope": "clusters:read jobs:read", "token_type": "Bearer"}),
		secret("hpc", "nightly-sa", map[string]string{"client_id": "nightly", "client_secret": clientSecret}),
		secret("hpc", "api-key", map[string]string{"api-key": apiKeyValue}),
		secret("hpc", "api-user", map[string]string{"access_token": apiKeyValue, "VANTAGE_API_KEY": apiKeyValue, "VANTAGE_API_URL": apiURL}),
		secret(DefaultClusterCredentialNamespace, "hpc-sa", map[string]string{"service-account.json": `{"client_id":"hpc","client_secret":"` + clientSecret + `"}`}),
		copyOf("tenant-1"), copyOf("tenant-2"),
		secret("apps", "web-sa", map[string]string{"client_id": "web", "client_secret": clientSecret}),
		secret("apps", "web", map[string]string{"access_token": token, "VANTAGE_API_KEY": token, "VANTAGE_API_URL": apiURL,
			"expires_at": "2026-11-22T15:59:00Z", "scope": "clusters:read jobs:read", "token_type": "Bearer"}),
		event("hpc", "uid-ci-runner", "Normal", "Issued", "wrote a token valid until 2026-11-22T14:00:00Z to Secret \"ci-runner\" (first token; scopes: clusters:read jobs:read)", now.Add(-61*time.Minute)),
		event("hpc", "uid-ci-runner", "Normal", "Refreshed", "wrote a token valid until 2026-11-22T15:59:00Z to Secret \"ci-runner\"", now.Add(-time.Minute)),
		event("hpc", "uid-nightly", "Warning", "InvalidClient", "the token server refused the client (invalid_client): check client_id and client_secret", now.Add(-2*time.Minute)),
		event("apps", "uid-web", "Normal", "Refreshed", "wrote a token valid until 2026-11-22T15:59:00Z to Secret \"web\"", now.Add(-time.Minute)),
		event("apps", "uid-web", "Normal", "RolloutRestarted", "restarted Deployment apps/api so that its pods read the token in Secret \"web\" (on TokenChange)", now.Add(-time.Minute)),
		event("apps", "uid-web", "Normal", "RolloutRestarted", "restarted StatefulSet apps/db so that its pods read the token in Secret \"web\" (on TokenChange)", now.Add(-59*time.Second)),
		event("default", "uid-cluster-hpc", "Warning", "TargetConflict", "Secret tenant-x/vantage-token exists and is not this credential's", now.Add(-time.Minute)),
	}
}

// builder is a fake client holding world, with the events index the
// API server has built in.
func builder() *fake.ClientBuilder {
	return fake.NewClientBuilder().WithScheme(Scheme()).WithObjects(world()...).
		WithStatusSubresource(&vantagev1alpha1.VantageCredential{}, &vantagev1alpha1.ClusterVantageCredential{}).
		WithIndex(&corev1.Event{}, "involvedObject.uid", func(o client.Object) []string {
			return []string{string(o.(*corev1.Event).InvolvedObject.UID)}
		})
}

// fakeChecker answers whoami --verify as the Vantage API would for token.
type fakeChecker struct{ calls []oauth.CheckRequest }

func (f *fakeChecker) Check(_ context.Context, req oauth.CheckRequest) (*oauth.Identity, error) {
	f.calls = append(f.calls, req)
	if req.Credential != token {
		return nil, &oauth.Error{Kind: oauth.Terminal, Code: oauth.CodeInvalidToken, StatusCode: 401, Description: "the Vantage API refused the credential"}
	}
	exp := now.Add(59 * time.Minute)
	return &oauth.Identity{UserID: "service-account-ci-runner", Scopes: []string{"jobs:read", "clusters:read"}, ExpiresAt: &exp}, nil
}

// result is one run of the command.
type result struct {
	out, errOut string
	err         error
}

// run runs kubectl vantage with args against c, in namespace hpc by
// default, at now.
func run(t *testing.T, c client.Client, args ...string) result {
	t.Helper()
	return runWith(t, Deps{Client: c, Namespace: "hpc", Clock: clocktesting.NewFakePassiveClock(now), Checker: &fakeChecker{}}, args...)
}

func runWith(t *testing.T, deps Deps, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand("kubectl-vantage", genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}, deps)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return result{out: out.String(), errOut: errOut.String(), err: err}
}

// golden compares got with testdata/name.golden (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/plugin/ -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// interceptFuncs wraps a client built from world.
func withInterceptor(f interceptor.Funcs) client.Client {
	return builder().WithInterceptorFuncs(f).Build()
}
