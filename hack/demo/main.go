// Command demo shows the operator doing its job on a local control plane,
// with no cluster and no Vantage account: it starts kube-apiserver and etcd
// (built by hack/envtest-binaries.sh), the fake Vantage server with 60 s
// tokens, and the manager; applies the CRD and the sample; and narrates the
// credential becoming Ready, an API-key credential next to it (its expiry
// and the warning that it is close), and the token being refreshed. Then it keeps
// running for exploration with kubectl until Ctrl-C, or exits with
// --exit-after-refresh. Run it with `make demo`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/test/utils"
)

// The sample's key (config/samples) is for client ci-runner with secret
// replace-me; the fake server accepts exactly that. The API-key sample's
// key is accepted for user_demo for ten days: close enough to expiry for
// the warning.
const (
	sampleClient = "ci-runner:replace-me"
	sampleAPIKey = "replace-me-api-key:user_demo:240h"
	namespace    = "default"
	credName     = "ci-runner"
	apiKeyCred   = "api-user"
	// operatorNamespace holds the cluster credential sample's key, as the
	// operator's own namespace does in a cluster.
	operatorNamespace = "vantage-credential-operator-system"
	lifetime          = 60 * time.Second
)

var start = time.Now()

// say prints a line with the time since the demo started.
func say(format string, args ...any) {
	fmt.Printf("[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	assets := flag.String("assets", "", "directory with kube-apiserver and etcd")
	manager := flag.String("manager", "bin/manager", "manager binary")
	fake := flag.String("fake-vantage", "bin/fake-vantage", "fake Vantage server binary")
	workDir := flag.String("dir", "bin/demo", "directory for the kubeconfig and the logs")
	exitAfterRefresh := flag.Bool("exit-after-refresh", false, "exit once the first refresh has been shown")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *assets, *manager, *fake, *workDir, *exitAfterRefresh); err != nil {
		fmt.Fprintf(os.Stderr, "demo failed: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, assets, manager, fake, dir string, exitAfterRefresh bool) (err error) {
	root, err := utils.ProjectDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	// Logs of an earlier run would mix with this one's.
	for _, f := range []string{"manager.log", "fake-vantage.log"} {
		_ = os.Remove(filepath.Join(dir, f))
	}

	say("starting kube-apiserver and etcd from %s", assets)
	cp, err := utils.StartControlPlane(assets, dir)
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the control plane")
		err = errors.Join(err, cp.Stop())
	}()
	say("control plane up at %s", cp.Config.Host)

	fv, fakeURL, err := utils.StartFakeVantage(ctx, fake, dir, "--client", sampleClient, "--api-key", sampleAPIKey, "--lifetime", lifetime.String())
	if err != nil {
		return err
	}
	defer func() { _ = fv.Stop(5 * time.Second) }()
	say("fake Vantage server at %s, issuing %s tokens", fakeURL, lifetime)

	out, err := cp.Kubectl(nil, "apply", "-k", filepath.Join(root, "config", "crd"))
	if err != nil {
		return err
	}
	say("installed the CRD: %s", strings.TrimSpace(out))
	if _, err := cp.Kubectl(nil, "wait", "--for=condition=Established", "crd/vantagecredentials.vantage.omnivector.solutions",
		"crd/clustervantagecredentials.vantage.omnivector.solutions", "--timeout=30s"); err != nil {
		return err
	}

	mgr, err := utils.StartProcess(filepath.Join(dir, "manager.log"), manager,
		"--kubeconfig", cp.Kubeconfig, "--cluster-credential-namespace", operatorNamespace,
		"--default-token-url", fakeURL+"/oauth/token", "--default-api-url", fakeURL,
		"--health-probe-bind-address", "0", "--metrics-bind-address", "0", "--enable-rollout-restart")
	if err != nil {
		return err
	}
	defer func() { _ = mgr.Stop(10 * time.Second) }()
	say("manager running, logs in %s", mgr.Log)

	out, err = cp.Kubectl([]byte(workload), "apply", "-n", namespace, "-f", "-")
	if err != nil {
		return err
	}
	say("a workload that reads the token from its environment (no kubelet runs here, so no pods):\n%s", indent(out))
	out, err = cp.Kubectl(nil, "apply", "-n", namespace, "-f", filepath.Join(root, "config", "samples", "vantage_v1alpha1_vantagecredential.yaml"))
	if err != nil {
		return err
	}
	say("applied config/samples:\n%s", indent(out))
	restart := `{"spec":{"rolloutRestart":{"targets":[{"kind":"Deployment","name":"` + workloadName + `"}]}}}`
	if _, err := cp.Kubectl(nil, "patch", "vcred", credName, "-n", namespace, "--type", "merge", "-p", restart); err != nil {
		return err
	}
	say("kubectl patch vcred %s --type merge -p '%s'", credName, restart)

	c, err := newClient(cp)
	if err != nil {
		return err
	}
	cred, err := watchUntilReady(ctx, c, mgr, credName)
	if err != nil {
		return err
	}
	target := cred.Status.TargetSecretName
	first, err := showSecret(ctx, c, target)
	if err != nil {
		return err
	}
	if err := showAPIKey(ctx, cp, c, mgr, root); err != nil {
		return err
	}
	if err := showClusterCredential(ctx, cp, mgr, root); err != nil {
		return err
	}
	out, err = cp.Kubectl(nil, "get", "vantagecredentials", "-n", namespace, "-o", "wide")
	if err != nil {
		return err
	}
	say("kubectl get vantagecredentials -o wide\n%s", indent(out))

	say("waiting for the refresh, due at %s (the token expires at %s)",
		cred.Status.NextRefreshTime.Local().Format(time.TimeOnly), cred.Status.ExpiresAt.Local().Format(time.TimeOnly))
	if err := waitForRefresh(ctx, c, mgr, target, first, cred.Status.ExpiresAt.Time); err != nil {
		return err
	}
	if err := showRestart(ctx, c, mgr); err != nil {
		return err
	}
	if exitAfterRefresh {
		say("demo complete")
		return nil
	}
	fmt.Printf(`
The operator keeps refreshing the token every ~40 s. Explore in another terminal:

  export KUBECONFIG=%s
  kubectl get vcred -w
  kubectl get secret %s -o yaml
  kubectl annotate vcred %s %s="$(date -Is)" --overwrite

Manager logs: %s
Press Ctrl-C to stop; everything started here stops with it.
`, cp.Kubeconfig, target, credName, vantagev1alpha1.RefreshRequestedAnnotation, mgr.Log)
	<-ctx.Done()
	fmt.Println()
	return nil
}

func newClient(cp *utils.ControlPlane) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := vantagev1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cp.Config, client.Options{Scheme: scheme})
}

// poll calls f every 200ms until it returns true or an error, the context
// ends, the manager dies, or limit passes.
func poll(ctx context.Context, mgr *utils.Process, limit time.Duration, what string, f func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		done, err := f()
		if done || err != nil {
			return err
		}
		if mgr.Exited() {
			return fmt.Errorf("the manager exited while waiting for %s; see %s", what, mgr.Log)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not happen within %s; see %s", what, limit, mgr.Log)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted while waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// showAPIKey applies the API-key sample and shows the credential Ready,
// the key's expiry, and the warning that it is close.
func showAPIKey(ctx context.Context, cp *utils.ControlPlane, c client.Client, mgr *utils.Process, root string) error {
	out, err := cp.Kubectl(nil, "apply", "-n", namespace, "-f", filepath.Join(root, "config", "samples", "vantage_v1alpha1_vantagecredential_apikey.yaml"))
	if err != nil {
		return err
	}
	say("applied the API-key sample:\n%s", indent(out))
	cred, err := watchUntilReady(ctx, c, mgr, apiKeyCred)
	if err != nil {
		return err
	}
	if _, err := showSecret(ctx, c, cred.Status.TargetSecretName); err != nil {
		return err
	}
	say("the Vantage API says the key is user %s's and expires at %s, in %s",
		cred.Status.UserID, cred.Status.ExpiresAt.Local().Format(time.DateTime), time.Until(cred.Status.ExpiresAt.Time).Round(time.Hour))
	var events string
	err = poll(ctx, mgr, 30*time.Second, "the expiry warning", func() (bool, error) {
		events, err = cp.Kubectl(nil, "get", "events", "-n", namespace, "--field-selector", "reason=APIKeyExpiringSoon",
			"-o", "custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message")
		return strings.Contains(events, apiKeyCred), err
	})
	if err != nil {
		return err
	}
	say("that is within spec.expiryWarning (two weeks by default), so a Warning event says so, once a day:\n%s", indent(events))
	return nil
}

// showClusterCredential applies the ClusterVantageCredential sample over
// three namespaces and shows one token in all of them.
func showClusterCredential(ctx context.Context, cp *utils.ControlPlane, mgr *utils.Process, root string) error {
	for _, args := range [][]string{
		{"create", "namespace", operatorNamespace}, {"create", "namespace", "team-a"}, {"create", "namespace", "team-b"},
		{"create", "namespace", "ci"}, {"label", "namespace", "team-a", "team-b", "vantage=enabled"},
	} {
		if out, err := cp.Kubectl(nil, args...); err != nil {
			return fmt.Errorf("kubectl %s: %s", strings.Join(args, " "), out)
		}
	}
	out, err := cp.Kubectl(nil, "apply", "-f", filepath.Join(root, "config", "samples", "vantage_v1alpha1_clustervantagecredential.yaml"))
	if err != nil {
		return err
	}
	say("labelled team-a and team-b vantage=enabled, and applied the ClusterVantageCredential sample (those two and ci):\n%s", indent(out))
	err = poll(ctx, mgr, time.Minute, "the cluster credential to serve three namespaces", func() (bool, error) {
		out, err = cp.Kubectl(nil, "get", "clustervantagecredential", "hpc", "-o", "jsonpath={.status.targetNamespaces}")
		return out == "3", err
	})
	if err != nil {
		return err
	}
	out, err = cp.Kubectl(nil, "get", "cvcred")
	if err != nil {
		return err
	}
	say("kubectl get cvcred\n%s", indent(out))
	out, err = cp.Kubectl(nil, "get", "secrets", "-A", "-l", vantagev1alpha1.ClusterCredentialLabel+"=hpc",
		"-o", "custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,ISSUED:.metadata.annotations.vantage\\.omnivector\\.solutions/issued-at")
	if err != nil {
		return err
	}
	say("one token request, the same token in each namespace:\n%s", indent(out))
	return nil
}

// watchUntilReady prints each change of the credential's conditions until
// it is Ready.
func watchUntilReady(ctx context.Context, c client.Client, mgr *utils.Process, name string) (*vantagev1alpha1.VantageCredential, error) {
	cred := &vantagev1alpha1.VantageCredential{}
	last := ""
	err := poll(ctx, mgr, 2*time.Minute, "credential "+name+" to become Ready", func() (bool, error) {
		if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, cred); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		var parts []string
		for _, typ := range []string{vantagev1alpha1.ConditionReady, vantagev1alpha1.ConditionReconciling, vantagev1alpha1.ConditionStalled} {
			if cond := meta.FindStatusCondition(cred.Status.Conditions, typ); cond != nil {
				parts = append(parts, fmt.Sprintf("%s=%s (%s)", typ, cond.Status, cond.Reason))
			}
		}
		if now := strings.Join(parts, ", "); now != "" && now != last {
			say("credential %s: %s", name, now)
			last = now
		}
		return meta.IsStatusConditionTrue(cred.Status.Conditions, vantagev1alpha1.ConditionReady), nil
	})
	if err == nil {
		say("Ready: %s", meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady).Message)
	}
	return cred, err
}

// showSecret prints the target's keys, the token shortened, and returns the
// token.
func showSecret(ctx context.Context, c client.Client, name string) (string, error) {
	s := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s); err != nil {
		return "", err
	}
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := string(s.Data[k])
		if k == "access_token" || k == "VANTAGE_API_KEY" {
			v = shorten(v)
		}
		fmt.Fprintf(&b, "%-16s %s\n", k, v)
	}
	say("Secret %s/%s holds:\n%s", namespace, name, indent(b.String()))
	return string(s.Data["access_token"]), nil
}

func waitForRefresh(ctx context.Context, c client.Client, mgr *utils.Process, name, old string, oldExpiry time.Time) error {
	s := &corev1.Secret{}
	err := poll(ctx, mgr, 2*lifetime, "the refresh", func() (bool, error) {
		if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return string(s.Data["access_token"]) != old, nil
	})
	if err != nil {
		return err
	}
	say("refreshed: %s replaced %s, %.0f s before the old token expired; new expiry %s",
		shorten(string(s.Data["access_token"])), shorten(old), time.Until(oldExpiry).Seconds(), s.Data["expires_at"])
	return nil
}

// workloadName reads the token through envFrom, as the vantage CLI would.
const workloadName = "vantage-cli"

const workload = `apiVersion: apps/v1
kind: Deployment
metadata: {name: vantage-cli}
spec:
  selector: {matchLabels: {app: vantage-cli}}
  template:
    metadata: {labels: {app: vantage-cli}}
    spec:
      containers:
      - name: cli
        image: example.invalid/vantage-cli
        envFrom: [{secretRef: {name: ci-runner-token}}]
`

// showRestart waits for spec.rolloutRestart to have restarted the workload
// for the refreshed token: its pod template names a new restart, which a
// Deployment controller would roll out.
func showRestart(ctx context.Context, c client.Client, mgr *utils.Process) error {
	cred := &vantagev1alpha1.VantageCredential{}
	err := poll(ctx, mgr, 30*time.Second, "the restart", func() (bool, error) {
		if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: credName}, cred); err != nil {
			return false, err
		}
		at, refreshed := cred.Status.LastRolloutRestartTime, cred.Status.LastRefreshTime
		return at != nil && refreshed != nil && !at.Before(refreshed), nil
	})
	if err != nil {
		return err
	}
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: workloadName}, d); err != nil {
		return err
	}
	cond := meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionRolloutRestart)
	if cond == nil {
		return fmt.Errorf("credential %s has no %s condition", credName, vantagev1alpha1.ConditionRolloutRestart)
	}
	say("restarted deployment/%s for the new token: its pod template now has %s=%s (RolloutRestart: %s, %s)",
		workloadName, vantagev1alpha1.RestartedAtAnnotation, d.Spec.Template.Annotations[vantagev1alpha1.RestartedAtAnnotation],
		cond.Reason, cond.Message)
	return nil
}

// shorten keeps a token recognisable without printing it whole.
func shorten(token string) string {
	if len(token) <= 16 {
		return "(hidden)"
	}
	return fmt.Sprintf("%s…%s (%d chars)", token[:8], token[len(token)-6:], len(token))
}

func indent(s string) string {
	return "          " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n          ")
}
