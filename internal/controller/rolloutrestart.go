package controller

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

// rolloutResult is what the restart pass found and did, for the status.
type rolloutResult struct {
	// disabled: the credential asks for restarts the operator was not
	// allowed to make (--enable-rollout-restart).
	disabled bool
	summary  rollout.Summary
	// restarted are the workloads patched this reconcile.
	restarted []rollout.Step
}

// rolloutRestart restarts the workloads of spec.rolloutRestart whose pods
// may hold an older token than their namespace's target Secret (see
// package rollout for the rules). It returns nil when there is nothing to
// say: no rolloutRestart, or no token to restart for (a problem, suspend),
// in which case the condition stays as it was. Only errors a retry may fix
// are returned; refusals end up in the summary.
func (r *VantageCredentialReconciler) rolloutRestart(ctx context.Context, f *facts, done result) (*rolloutResult, error) {
	spec := f.cred.GetSpec().RolloutRestart
	switch {
	case spec == nil:
		return nil, nil
	case !r.EnableRolloutRestart:
		return &rolloutResult{disabled: true}, nil
	case f.problem != nil || f.token == nil || ptr.Deref(f.cred.GetSpec().Suspend, false):
		return nil, nil
	}
	var minInterval time.Duration
	if spec.MinInterval != nil {
		minInterval = spec.MinInterval.Duration
	}
	on := string(ptr.Deref(spec.On, vantagev1alpha1.RolloutRestartOnTokenChange))
	key := rollout.CredentialKey(string(f.cred.GetUID()))
	res := &rolloutResult{}
	var steps []rollout.Step
	for _, t := range f.targets {
		if t.problem != nil || t.gone || !t.token.same(f.token) {
			// No current token here (yet): nothing to restart for.
			continue
		}
		trigger := rollout.Trigger{Hash: rollout.Hash(on, t.token.dataHash), Since: t.token.issuedAt}
		if on == string(vantagev1alpha1.RolloutRestartOnSourceChange) {
			trigger = rollout.Trigger{Hash: rollout.Hash(on, t.token.inputsHash), Since: sourceChangedAt(f, done)}
		}
		workloads, err := r.workloadsOf(ctx, spec, t.namespace, key)
		if err != nil {
			return nil, err
		}
		for _, w := range workloads {
			s := rollout.Decide(f.now, trigger, minInterval, w)
			if s.Action == rollout.Restart {
				if s, err = r.restart(ctx, f, trigger, minInterval, key, w); err != nil {
					return nil, err
				}
				if s.Action == rollout.Restart {
					res.restarted = append(res.restarted, s)
					s.Action = rollout.Current
				}
			}
			steps = append(steps, s)
		}
	}
	res.summary = rollout.Summarize(steps, minInterval)
	return res, nil
}

// sourceChangedAt is when the first token made from the current inputs
// was issued: a workload created since then started with tokens of those
// inputs, whichever refresh it got. Before status has recorded it (a
// credential older than the field), the current token's issue time is the
// safe guess.
func sourceChangedAt(f *facts, done result) time.Time {
	if t := f.cred.GetStatus().LastSourceChangeTime; t != nil && !done.sourceChanged {
		return t.Time
	}
	return f.token.issuedAt
}

// restart decides again on the live workload (the cache may lag behind a
// restart made a moment ago) and, if it still needs one, patches its pod
// template's annotations. The patch carries the resourceVersion read, so
// two credentials restarting one workload at once keep both entries.
func (r *VantageCredentialReconciler) restart(ctx context.Context, f *facts, trigger rollout.Trigger, minInterval time.Duration,
	key string, seen rollout.Workload) (rollout.Step, error) {
	obj := newWorkload(seen.Kind)
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: seen.Namespace, Name: seen.Name}, obj)
	switch {
	case apierrors.IsNotFound(err):
		seen.Missing = true
		return rollout.Step{Workload: seen, Action: rollout.Missing}, nil
	case refusal(err):
		return r.refused(f, seen, err), nil
	case err != nil:
		return rollout.Step{}, fmt.Errorf("reading %s %s/%s: %w", seen.Kind, seen.Namespace, seen.Name, err)
	}
	live := workloadOf(seen.Kind, obj, templateAnnotations(obj), key)
	s := rollout.Decide(f.now, trigger, minInterval, live)
	if s.Action != rollout.Restart {
		return s, nil
	}
	base := obj.DeepCopyObject().(client.Object)
	at := f.now.UTC().Format(time.RFC3339)
	record := rollout.Record(templateAnnotations(obj)[vantagev1alpha1.RestartedForAnnotation], key, trigger.Hash)
	setRestartAnnotations(obj, record, at)
	err = r.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsNotFound(err):
		live.Missing = true
		return rollout.Step{Workload: live, Action: rollout.Missing}, nil
	case refusal(err):
		return r.refused(f, live, err), nil
	case err != nil:
		return rollout.Step{}, fmt.Errorf("restarting %s %s/%s: %w", seen.Kind, seen.Namespace, seen.Name, err)
	}
	logf.FromContext(ctx).Info("restarted a workload for a new token", "kind", seen.Kind, "namespace", seen.Namespace, "name", seen.Name)
	return s, nil
}

// refusal: the API server will refuse the same read or patch again until
// someone changes RBAC or an admission policy, so retrying is no use.
// Policies refuse with 403 (Forbidden) or, by default, 422 (Invalid).
func refusal(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsInvalid(err)
}

// refused is the step for a workload the API server would not let the
// operator read or patch. Its words go to an event; the condition names
// the workload.
func (r *VantageCredentialReconciler) refused(f *facts, w rollout.Workload, err error) rollout.Step {
	r.Recorder.Eventf(f.cred, nil, "Warning", rollout.ReasonRefused, "RolloutRestart",
		"could not restart %s %s/%s: %s", w.Kind, w.Namespace, w.Name, err)
	return rollout.Step{Workload: w, Action: rollout.Refused}
}

// workloadsOf lists the workloads spec picks in namespace, from the
// metadata cache: the named ones (missing ones included, as Missing) and
// those whose labels match the selector, each once.
func (r *VantageCredentialReconciler) workloadsOf(ctx context.Context, spec *vantagev1alpha1.RolloutRestartSpec, namespace, key string) ([]rollout.Workload, error) {
	var out []rollout.Workload
	seen := map[string]bool{}
	add := func(kind string, m *metav1.PartialObjectMetadata) {
		if seen[kind+"/"+m.Name] {
			return
		}
		seen[kind+"/"+m.Name] = true
		out = append(out, workloadOf(kind, m, m.Annotations, key))
	}
	for _, t := range spec.Targets {
		m := workloadMetadata(string(t.Kind))
		err := r.metadata.Get(ctx, types.NamespacedName{Namespace: namespace, Name: t.Name}, m)
		switch {
		case apierrors.IsNotFound(err):
			seen[string(t.Kind)+"/"+t.Name] = true
			out = append(out, rollout.Workload{Kind: string(t.Kind), Namespace: namespace, Name: t.Name, Missing: true})
		case err != nil:
			return nil, fmt.Errorf("reading %s %s/%s: %w", t.Kind, namespace, t.Name, err)
		default:
			add(string(t.Kind), m)
		}
	}
	if spec.Selector == nil {
		return out, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil {
		// The CRD refuses malformed operators; a key or value that is no
		// label key or value matches nothing.
		return out, nil
	}
	for _, kind := range workloadKinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(kind + "List"))
		if err := r.metadata.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
			return nil, fmt.Errorf("listing %ss in namespace %s: %w", kind, namespace, err)
		}
		for i := range list.Items {
			add(kind, &list.Items[i])
		}
	}
	return out, nil
}

// workloadKinds are the kinds spec.rolloutRestart restarts.
var workloadKinds = []string{
	string(vantagev1alpha1.WorkloadDeployment),
	string(vantagev1alpha1.WorkloadStatefulSet),
	string(vantagev1alpha1.WorkloadDaemonSet),
}

func workloadMetadata(kind string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(kind))
	return m
}

func newWorkload(kind string) client.Object {
	switch vantagev1alpha1.WorkloadKind(kind) {
	case vantagev1alpha1.WorkloadStatefulSet:
		return &appsv1.StatefulSet{}
	case vantagev1alpha1.WorkloadDaemonSet:
		return &appsv1.DaemonSet{}
	}
	return &appsv1.Deployment{}
}

// workloadOf is what the decision needs of a workload: its annotations
// (the pod template's for a live object, the mirror on its metadata in
// the cache) and, for a Deployment, whether it is paused.
func workloadOf(kind string, o client.Object, annotations map[string]string, key string) rollout.Workload {
	w := rollout.Workload{
		Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName(),
		Created:      o.GetCreationTimestamp().Time,
		RestartedFor: rollout.RestartedFor(annotations[vantagev1alpha1.RestartedForAnnotation], key),
	}
	if at, err := time.Parse(time.RFC3339, annotations[vantagev1alpha1.RestartedAtAnnotation]); err == nil {
		w.RestartedAt = at
	}
	if d, ok := o.(*appsv1.Deployment); ok {
		w.Paused = d.Spec.Paused
	}
	return w
}

// templateAnnotations are the pod template's annotations of a live
// workload: what its pods were started with.
func templateAnnotations(o client.Object) map[string]string {
	switch w := o.(type) {
	case *appsv1.Deployment:
		return w.Spec.Template.Annotations
	case *appsv1.StatefulSet:
		return w.Spec.Template.Annotations
	case *appsv1.DaemonSet:
		return w.Spec.Template.Annotations
	}
	return nil
}

// setRestartAnnotations sets the restart annotations on the pod template,
// which rolls the pods, and mirrors them on the workload's metadata, which
// the metadata cache holds, so steady state needs no live read.
func setRestartAnnotations(o client.Object, record, at string) {
	set := func(m *metav1.ObjectMeta) {
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[vantagev1alpha1.RestartedForAnnotation] = record
		m.Annotations[vantagev1alpha1.RestartedAtAnnotation] = at
	}
	switch w := o.(type) {
	case *appsv1.Deployment:
		set(&w.ObjectMeta)
		set(&w.Spec.Template.ObjectMeta)
	case *appsv1.StatefulSet:
		set(&w.ObjectMeta)
		set(&w.Spec.Template.ObjectMeta)
	case *appsv1.DaemonSet:
		set(&w.ObjectMeta)
		set(&w.Spec.Template.ObjectMeta)
	}
}

// recordRestarts emits an event per restarted workload and one when the
// condition turns to a problem, and counts the restarts.
func (r *VantageCredentialReconciler) recordRestarts(cred credential, prev *vantagev1alpha1.VantageCredentialStatus, f *facts, res *rolloutResult) {
	if res == nil {
		return
	}
	on := ptr.Deref(cred.GetSpec().RolloutRestart.On, vantagev1alpha1.RolloutRestartOnTokenChange)
	for _, s := range res.restarted {
		w := s.Workload
		r.Recorder.Eventf(cred, nil, "Normal", reasonRolloutRestarted, "RolloutRestart",
			"restarted %s %s/%s so that its pods read the token in Secret %q (on %s)", w.Kind, w.Namespace, w.Name, f.targetName, on)
		r.Metrics.restarted(cred, w)
	}
	was := ""
	if c := meta.FindStatusCondition(prev.Conditions, vantagev1alpha1.ConditionRolloutRestart); c != nil {
		was = c.Reason
	}
	reason, msg, ok := rolloutCondition(res)
	if !ok && reason != was && reason != rollout.ReasonRefused {
		// A refusal has its own event, with the API server's words.
		r.Recorder.Eventf(cred, nil, "Warning", reason, "RolloutRestart", "%s", msg)
	}
}

// rolloutCondition is the RolloutRestart condition's reason, message and
// status for res.
func rolloutCondition(res *rolloutResult) (reason, msg string, ok bool) {
	if res.disabled {
		return rollout.ReasonDisabled, "spec.rolloutRestart asks for restarts, but the operator runs without --enable-rollout-restart: " +
			"apply the config/rollout-restart component (it sets the flag and lets the operator patch deployments, statefulsets and daemonsets); " +
			"until then, workloads reading the token from environment variables keep the one their pods started with", false
	}
	return res.summary.Reason, res.summary.Message, res.summary.OK
}

// setRolloutStatus sets the RolloutRestart condition and
// lastRolloutRestartTime: the condition goes with spec.rolloutRestart and
// stays as it was while there is no token to restart for.
func setRolloutStatus(st *vantagev1alpha1.VantageCredentialStatus, f *facts, res *rolloutResult) {
	if f.cred.GetSpec().RolloutRestart == nil {
		meta.RemoveStatusCondition(&st.Conditions, vantagev1alpha1.ConditionRolloutRestart)
		return
	}
	if res == nil {
		return
	}
	if len(res.restarted) > 0 {
		st.LastRolloutRestartTime = timePtr(f.now)
	}
	reason, msg, ok := rolloutCondition(res)
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	setCondition(st, f.cred, f.now, vantagev1alpha1.ConditionRolloutRestart, status, reason, msg)
}
