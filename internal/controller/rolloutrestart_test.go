package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

// No Deployment controller runs on envtest's control plane: these specs
// check the pod-template patch that makes one roll the pods.
var _ = Describe("spec.rolloutRestart", func() {
	var ns, id string
	BeforeEach(func() {
		ns = newNamespace()
		id = newClient("s3cret")
		saSecret(ns, "sa", keyFile(id, "s3cret"))
	})

	It("restarts a Deployment that ran before the first token, again for each new token, and nothing on another reconcile", func() {
		api := createWorkload(ns, "api", &appsv1.Deployment{}, nil)
		afterCreationSecond(api)
		cred := newCredential(ns, "restarts", "sa", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.RolloutRestart = &vantagev1alpha1.RolloutRestartSpec{
				Targets: []vantagev1alpha1.RolloutRestartTarget{{Kind: vantagev1alpha1.WorkloadDeployment, Name: "api"}},
			}
		})
		waitReady(ns, "restarts")

		first := restartedFor(api)
		Eventually(first, timeout, interval).ShouldNot(BeEmpty(), "the Deployment already ran when the first token came")
		hash1 := first()
		Eventually(condition(ns, "restarts", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
			Should(Equal("True/" + rollout.ReasonCurrent))
		got := getWorkload(api).(*appsv1.Deployment)
		Expect(got.Annotations).To(HaveKeyWithValue(vantagev1alpha1.RestartedForAnnotation, got.Spec.Template.Annotations[vantagev1alpha1.RestartedForAnnotation]),
			"the workload's metadata mirrors its pod template, for the metadata cache")
		Expect(got.Spec.Template.Annotations).To(HaveKey(vantagev1alpha1.RestartedAtAnnotation))
		Expect(getCredential(ns, "restarts").Status.LastRolloutRestartTime).NotTo(BeNil())
		Expect(restartEvents(ns, "restarts")).To(ContainElement(ContainSubstring("restarted Deployment " + ns + "/api")))
		Expect(restartCount(ns, "restarts", "api")).To(Equal(1.0))

		By("a new token restarts it again, for another hash")
		token := targetToken(ns, "restarts")()
		patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) {
			c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "again"}
		})
		Eventually(targetToken(ns, "restarts"), timeout, interval).ShouldNot(Equal(token))
		Eventually(restartedFor(api), timeout, interval).ShouldNot(Equal(hash1))
		Eventually(func() float64 { return restartCount(ns, "restarts", "api") }, timeout, interval).Should(Equal(2.0))
		generation := getWorkload(api).GetGeneration()

		By("another reconcile, for a workload created after the token, restarts nothing")
		db := createWorkload(ns, "db", &appsv1.StatefulSet{}, map[string]string{"vantage-token": "restarts"})
		patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.RolloutRestart.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"vantage-token": "restarts"}}
		})
		Eventually(conditionMessage(ns, "restarts", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
			Should(Equal("2 of 2 workloads hold the current token"))
		Expect(getWorkload(api).GetGeneration()).To(Equal(generation), "no second restart for the same token")
		Expect(restartedFor(db)()).To(BeEmpty(), "its pods started with the current token")
		Expect(restartCount(ns, "restarts", "api")).To(Equal(2.0))
		Expect(strings.Join(restartEvents(ns, "restarts"), "\n")).NotTo(ContainSubstring(targetToken(ns, "restarts")()))
	})

	It("leaves a paused Deployment alone until it is resumed, and reports a missing one without retrying in a loop", func() {
		batch := createWorkload(ns, "batch", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Paused: true}}, map[string]string{"vantage-token": "paused"})
		afterCreationSecond(batch)
		newCredential(ns, "paused", "sa", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.RolloutRestart = &vantagev1alpha1.RolloutRestartSpec{
				Targets:  []vantagev1alpha1.RolloutRestartTarget{{Kind: vantagev1alpha1.WorkloadDeployment, Name: "ghost"}},
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"vantage-token": "paused"}},
			}
		})
		waitReady(ns, "paused")
		Eventually(condition(ns, "paused", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
			Should(Equal("False/" + rollout.ReasonNotFound))
		Expect(conditionMessage(ns, "paused", vantagev1alpha1.ConditionRolloutRestart)()).To(Equal(
			"Deployment " + ns + "/ghost is not found: create it or remove it from spec.rolloutRestart.targets; 0 of 2 workloads hold the current token"))
		Expect(condition(ns, "paused", vantagev1alpha1.ConditionReady)()).To(Equal("True/"+ReasonTokenValid), "a restart problem never turns Ready False")
		Expect(restartedFor(batch)()).To(BeEmpty())
		Expect(logs.String()).NotTo(MatchRegexp(`Reconciler error.*"name":"paused","namespace":"`+ns), "a missing workload is no error to retry")

		By("the missing one, created now, starts with the token: only the paused one is left")
		createWorkload(ns, "ghost", &appsv1.Deployment{}, nil)
		Eventually(condition(ns, "paused", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
			Should(Equal("False/" + rollout.ReasonPaused))
		Expect(warningReasons(ns, "paused")).To(ContainElements(rollout.ReasonNotFound, rollout.ReasonPaused))

		By("resuming it restarts it")
		d := getWorkload(batch).(*appsv1.Deployment)
		base := d.DeepCopy()
		d.Spec.Paused = false
		Expect(k8sClient.Patch(ctx, d, client.MergeFrom(base))).To(Succeed())
		Eventually(restartedFor(batch), timeout, interval).ShouldNot(BeEmpty())
		Eventually(condition(ns, "paused", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
			Should(Equal("True/" + rollout.ReasonCurrent))
	})

	It("reports a restart an admission policy refuses, with the policy's words, and does not retry it in a loop", func() {
		frozen := createWorkload(ns, "frozen", &appsv1.Deployment{}, nil)
		afterCreationSecond(frozen)
		// Without a reason, a policy refuses with 422 Invalid.
		policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "freeze-" + ns},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: ptr.To(admissionregistrationv1.Fail),
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
					},
				}}},
				Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: "deployments here are frozen"}},
			},
		}
		Expect(k8sClient.Create(ctx, policy)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, policy)
		binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "freeze-" + ns},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        policy.Name,
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
				MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}},
			},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, binding)
		// The policy takes effect a moment after it is created.
		Eventually(func() error {
			d := getWorkload(frozen)
			return k8sClient.Patch(ctx, d, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"probe":"1"}}}`)))
		}, timeout, interval).Should(MatchError(ContainSubstring("deployments here are frozen")))

		newCredential(ns, "refused", "sa", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.RolloutRestart = &vantagev1alpha1.RolloutRestartSpec{
				Targets: []vantagev1alpha1.RolloutRestartTarget{{Kind: vantagev1alpha1.WorkloadDeployment, Name: "frozen"}},
			}
		})
		waitReady(ns, "refused")
		Eventually(condition(ns, "refused", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
			Should(Equal("False/" + rollout.ReasonRefused))
		Expect(conditionMessage(ns, "refused", vantagev1alpha1.ConditionRolloutRestart)()).To(HavePrefix(
			"the API server refused to let the operator read or patch Deployment " + ns + "/frozen"))
		Eventually(func() []string {
			var notes []string
			for _, e := range credentialEvents(ns, "refused") {
				if e.Reason == rollout.ReasonRefused {
					notes = append(notes, e.Note)
				}
			}
			return notes
		}, timeout, interval).Should(ContainElement(ContainSubstring("deployments here are frozen")))
		Expect(restartedFor(frozen)()).To(BeEmpty())
		Expect(logs.String()).NotTo(MatchRegexp(`Reconciler error.*"name":"refused","namespace":"`+ns), "a refusal is no error to retry")
	})

	It("restarts once per minInterval and says when the next restart is due", func() {
		api := createWorkload(ns, "api", &appsv1.DaemonSet{}, nil)
		afterCreationSecond(api)
		cred := newCredential(ns, "debounced", "sa", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.RolloutRestart = &vantagev1alpha1.RolloutRestartSpec{
				Targets:     []vantagev1alpha1.RolloutRestartTarget{{Kind: vantagev1alpha1.WorkloadDaemonSet, Name: "api"}},
				MinInterval: parseDuration("1h"),
			}
		})
		waitReady(ns, "debounced")
		Eventually(restartedFor(api), timeout, interval).ShouldNot(BeEmpty())
		hash := restartedFor(api)()

		token := targetToken(ns, "debounced")()
		patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) {
			c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: "within-the-hour"}
		})
		Eventually(targetToken(ns, "debounced"), timeout, interval).ShouldNot(Equal(token))
		Eventually(condition(ns, "debounced", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
			Should(Equal("True/" + rollout.ReasonPending))
		restartedAt := getWorkload(api).(*appsv1.DaemonSet).Spec.Template.Annotations[vantagev1alpha1.RestartedAtAnnotation]
		at, err := time.Parse(time.RFC3339, restartedAt)
		Expect(err).NotTo(HaveOccurred())
		Expect(conditionMessage(ns, "debounced", vantagev1alpha1.ConditionRolloutRestart)()).To(ContainSubstring(
			"is due at " + at.Add(time.Hour).UTC().Format(time.RFC3339)))
		Expect(restartedFor(api)()).To(Equal(hash), "not restarted again within minInterval")
	})

	It("on SourceChange, restarts for a new key or spec, not for a refresh, nor a workload created since the key changed", func() {
		api := createWorkload(ns, "api", &appsv1.Deployment{}, map[string]string{"vantage-token": "source"})
		afterCreationSecond(api)
		cred := newCredential(ns, "source", "sa", func(c *vantagev1alpha1.VantageCredential) {
			c.Spec.RolloutRestart = &vantagev1alpha1.RolloutRestartSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"vantage-token": "source"}},
				On:       ptr.To(vantagev1alpha1.RolloutRestartOnSourceChange),
			}
		})
		waitReady(ns, "source")
		Eventually(restartedFor(api), timeout, interval).ShouldNot(BeEmpty())
		hash := restartedFor(api)()
		changed := getCredential(ns, "source").Status.LastSourceChangeTime
		Expect(changed).NotTo(BeNil())

		By("a workload created after the first token, and two refreshes later")
		late := createWorkload(ns, "late", &appsv1.StatefulSet{}, map[string]string{"vantage-token": "source"})
		afterCreationSecond(late)
		for _, value := range []string{"one", "two"} {
			token := targetToken(ns, "source")()
			patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) {
				c.Annotations = map[string]string{vantagev1alpha1.RefreshRequestedAnnotation: value}
			})
			Eventually(targetToken(ns, "source"), timeout, interval).ShouldNot(Equal(token))
		}
		Eventually(conditionMessage(ns, "source", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
			Should(Equal("2 of 2 workloads hold the current token"))
		Expect(restartedFor(api)()).To(Equal(hash), "a refresh is no change of source")
		Expect(restartedFor(late)()).To(BeEmpty(), "created after the key last changed: its pods hold tokens of that key")
		Expect(getCredential(ns, "source").Status.LastSourceChangeTime.Time).To(Equal(changed.Time))

		By("a change of the spec's scopes restarts both")
		patchCredential(cred, func(c *vantagev1alpha1.VantageCredential) { c.Spec.Scopes = []string{"jobs:read"} })
		Eventually(restartedFor(api), timeout, interval).ShouldNot(Equal(hash))
		Eventually(restartedFor(late), timeout, interval).ShouldNot(BeEmpty())
		Expect(restartedFor(late)()).To(Equal(restartedFor(api)()))
		Expect(getCredential(ns, "source").Status.LastSourceChangeTime.After(changed.Time)).To(BeTrue())
	})

	It("restarts the workloads of a ClusterVantageCredential in each namespace it writes into", func() {
		tenant := fmt.Sprintf("restart-tenant-%d", nsCounter.Add(1))
		source := "restart-sa-" + tenant
		saSecret(operatorNamespace, source, keyFile(id, "s3cret"))
		a, b := labelledNamespace(tenant), labelledNamespace(tenant)
		wa := createWorkload(a, "api", &appsv1.Deployment{}, nil)
		wb := createWorkload(b, "api", &appsv1.Deployment{}, nil)
		afterCreationSecond(wb)
		cred := newClusterCredential(tenant, source)
		base := cred.DeepCopy()
		cred.Spec.RolloutRestart = &vantagev1alpha1.RolloutRestartSpec{
			Targets: []vantagev1alpha1.RolloutRestartTarget{{Kind: vantagev1alpha1.WorkloadDeployment, Name: "api"}},
		}
		Expect(k8sClient.Patch(ctx, cred, client.MergeFrom(base))).To(Succeed())
		waitClusterReady(tenant)
		Eventually(restartedFor(wa), timeout, interval).ShouldNot(BeEmpty())
		Eventually(restartedFor(wb), timeout, interval).ShouldNot(BeEmpty())
		Expect(restartedFor(wa)()).To(Equal(restartedFor(wb)()), "one token, one hash, in every namespace")
		Eventually(func() string {
			c := &vantagev1alpha1.ClusterVantageCredential{}
			Expect(k8sClient.Get(ctx, types.NamespacedName{Name: tenant}, c)).To(Succeed())
			if cond := meta.FindStatusCondition(c.Status.Conditions, vantagev1alpha1.ConditionRolloutRestart); cond != nil {
				return cond.Message
			}
			return ""
		}, timeout, interval).Should(Equal("2 of 2 workloads hold the current token"))
	})

	It("refuses a rolloutRestart that names no workload, an empty selector and a kind it cannot restart", func() {
		for spec, msg := range map[string]string{
			`{}`:               "rolloutRestart needs targets or a selector",
			`{"selector": {}}`: "rolloutRestart.selector must not be empty",
			`{"targets": [{"kind": "Job", "name": "x"}]}`:                        `Unsupported value: "Job"`,
			`{"targets": [{"kind": "Deployment", "name": "x"}], "on": "Always"}`: `Unsupported value: "Always"`,
		} {
			err := k8sClient.Create(ctx, rawCredential(ns, `{"serviceAccountSecretRef": {"name": "sa"}, "rolloutRestart": `+spec+`}`))
			Expect(err).To(HaveOccurred(), spec)
			Expect(err.Error()).To(ContainSubstring(msg), spec)
		}
	})

	Context("on a manager without --enable-rollout-restart", func() {
		const shard = "no-restarts"
		BeforeEach(func() {
			shardCtx, stop := context.WithCancel(ctx)
			DeferCleanup(stop)
			startShard(shardCtx, shardLabel+"="+shard, "", func(r *VantageCredentialReconciler) { r.EnableRolloutRestart = false })
		})

		It("says so in the RolloutRestart condition, keeps Ready True and restarts nothing", func() {
			api := createWorkload(ns, "api", &appsv1.Deployment{}, nil)
			afterCreationSecond(api)
			newCredential(ns, "disabled", "sa", func(c *vantagev1alpha1.VantageCredential) {
				c.Labels = map[string]string{shardLabel: shard}
				c.Spec.RolloutRestart = &vantagev1alpha1.RolloutRestartSpec{
					Targets: []vantagev1alpha1.RolloutRestartTarget{{Kind: vantagev1alpha1.WorkloadDeployment, Name: "api"}},
				}
			})
			waitReady(ns, "disabled")
			Eventually(condition(ns, "disabled", vantagev1alpha1.ConditionRolloutRestart), timeout, interval).
				Should(Equal("False/" + rollout.ReasonDisabled))
			Expect(conditionMessage(ns, "disabled", vantagev1alpha1.ConditionRolloutRestart)()).To(ContainSubstring("--enable-rollout-restart"))
			Expect(restartedFor(api)()).To(BeEmpty())
		})
	})
})

// createWorkload creates a Deployment, StatefulSet or DaemonSet (obj, with
// its spec partly set) of one container reading the token through envFrom.
func createWorkload(ns, name string, obj client.Object, labels map[string]string) client.Object {
	GinkgoHelper()
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app",
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "vantage-token"}}}}}}},
	}
	switch w := obj.(type) {
	case *appsv1.Deployment:
		w.Spec.Selector, w.Spec.Template = selector, template
	case *appsv1.StatefulSet:
		w.Spec.Selector, w.Spec.Template = selector, template
	case *appsv1.DaemonSet:
		w.Spec.Selector, w.Spec.Template = selector, template
	}
	obj.SetNamespace(ns)
	obj.SetName(name)
	obj.SetLabels(labels)
	Expect(k8sClient.Create(ctx, obj)).To(Succeed())
	return obj
}

// afterCreationSecond waits until the clock has left the second o was
// created in, so a token issued now is strictly newer than o: the case of
// a workload already running when the token comes.
func afterCreationSecond(o client.Object) {
	GinkgoHelper()
	Eventually(func() bool { return time.Now().After(o.GetCreationTimestamp().Add(time.Second)) }, 2*time.Second, 50*time.Millisecond).
		Should(BeTrue())
}

func getWorkload(o client.Object) client.Object {
	GinkgoHelper()
	got := o.DeepCopyObject().(client.Object)
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed())
	return got
}

// restartedFor reads the restarted-for annotation of o's pod template.
func restartedFor(o client.Object) func() string {
	return func() string {
		return templateAnnotations(getWorkload(o))[vantagev1alpha1.RestartedForAnnotation]
	}
}

func conditionMessage(ns, name, typ string) func() string {
	return func() string {
		if c := meta.FindStatusCondition(getCredential(ns, name).Status.Conditions, typ); c != nil {
			return c.Message
		}
		return ""
	}
}

// restartEvents lists the notes of the RolloutRestarted events of a
// VantageCredential.
func restartEvents(ns, name string) []string {
	var notes []string
	for _, e := range credentialEvents(ns, name) {
		if e.Reason == reasonRolloutRestarted {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

// warningReasons lists the reasons of a VantageCredential's Warning events.
func warningReasons(ns, name string) []string {
	var reasons []string
	for _, e := range credentialEvents(ns, name) {
		if e.Type == "Warning" {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

func credentialEvents(ns, name string) []eventsv1.Event {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "VantageCredential" && e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// restartCount reads vantage_credential_rollout_restarts_total for a
// Deployment restarted by a VantageCredential.
func restartCount(ns, name, target string) float64 {
	return metricValue("vantage_credential_rollout_restarts_total", map[string]string{"namespace": ns, "name": name, "target": target})
}
