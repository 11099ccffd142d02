package controller

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// rolloutRestartIndex holds, for a credential with spec.rolloutRestart,
// "Kind/name" of each workload it names, and selectorValue when it has a
// selector, so a workload event lists only the credentials that name it
// or might select it, not every one in the namespace.
const (
	rolloutRestartIndex = "vantage.omnivector.solutions/rollout-restart"
	selectorValue       = "selector"
)

// workloadCacheOptions adds the workloads' metadata to the metadata cache
// when rollout restarts are on: a workload that appears, is resumed or is
// relabelled reaches its credentials at once, and deciding that a workload
// holds the current token needs no live read.
func workloadCacheOptions(byObject map[client.Object]cache.ByObject) {
	for _, kind := range workloadKinds {
		byObject[workloadMetadata(kind)] = cache.ByObject{Transform: workloadMetadataTransform}
	}
}

// workloadMetadataTransform keeps what the restart decision and the
// mapping to credentials use; a Deployment's last-applied annotation and
// managed fields would cost more than all of it.
func workloadMetadataTransform(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	slim := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta}
	slim.Name, slim.Namespace, slim.UID, slim.ResourceVersion = m.Name, m.Namespace, m.UID, m.ResourceVersion
	slim.Generation, slim.CreationTimestamp, slim.Labels = m.Generation, m.CreationTimestamp, m.Labels
	for _, k := range []string{vantagev1alpha1.RestartedForAnnotation, vantagev1alpha1.RestartedAtAnnotation} {
		if v, ok := m.Annotations[k]; ok {
			if slim.Annotations == nil {
				slim.Annotations = map[string]string{}
			}
			slim.Annotations[k] = v
		}
	}
	return slim, nil
}

// indexRolloutRestart registers rolloutRestartIndex on one kind.
func indexRolloutRestart(ctx context.Context, indexer client.FieldIndexer, kind client.Object) error {
	return indexer.IndexField(ctx, kind, rolloutRestartIndex, func(o client.Object) []string {
		spec := o.(credential).GetSpec().RolloutRestart
		if spec == nil {
			return nil
		}
		var values []string
		for _, t := range spec.Targets {
			values = append(values, string(t.Kind)+"/"+t.Name)
		}
		if spec.Selector != nil {
			values = append(values, selectorValue)
		}
		return values
	})
}

// workloadSources are the watches of the three workload kinds, each
// mapping a workload to the credentials of one kind that restart it.
func workloadSources(metaCache cache.Cache, toCredentials func(ctx context.Context, kind string, w *metav1.PartialObjectMetadata) []reconcile.Request) []source.Source {
	var sources []source.Source
	for _, kind := range workloadKinds {
		sources = append(sources, source.Kind(metaCache, workloadMetadata(kind),
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, w *metav1.PartialObjectMetadata) []reconcile.Request {
				return toCredentials(ctx, kind, w)
			}),
			workloadChanged()))
	}
	return sources
}

// workloadChanged passes what can change a restart decision: a workload
// created or deleted, its spec changed (resumed, say: the generation), or
// its labels changed (a selector match). Status updates, many during a
// rollout, change none of it; nor does the operator's own restart, which
// sets restarted-at with the new generation and which the credential that
// made it has already accounted for.
func workloadChanged() predicate.TypedFuncs[*metav1.PartialObjectMetadata] {
	return predicate.TypedFuncs[*metav1.PartialObjectMetadata]{
		UpdateFunc: func(e event.TypedUpdateEvent[*metav1.PartialObjectMetadata]) bool {
			if !maps.Equal(e.ObjectOld.Labels, e.ObjectNew.Labels) {
				return true
			}
			restartedAt := vantagev1alpha1.RestartedAtAnnotation
			return e.ObjectOld.Generation != e.ObjectNew.Generation &&
				e.ObjectOld.Annotations[restartedAt] == e.ObjectNew.Annotations[restartedAt]
		},
		GenericFunc: func(event.TypedGenericEvent[*metav1.PartialObjectMetadata]) bool { return false },
	}
}

// credentialsRestarting maps a workload to the VantageCredentials of its
// namespace whose spec.rolloutRestart picks it.
func (r *VantageCredentialReconciler) credentialsRestarting(ctx context.Context, kind string, w *metav1.PartialObjectMetadata) []reconcile.Request {
	var reqs []reconcile.Request
	for _, value := range []string{kind + "/" + w.Name, selectorValue} {
		var list vantagev1alpha1.VantageCredentialList
		// Read-only, so no copy of each credential: a rollout across many
		// workloads maps each one.
		if err := r.List(ctx, &list, client.InNamespace(w.Namespace), client.MatchingFields{rolloutRestartIndex: value},
			client.UnsafeDisableDeepCopy, client.DisableReadYourWritesConsistency); err != nil {
			continue
		}
		for i := range list.Items {
			if restarts(list.Items[i].Spec.RolloutRestart, kind, w) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
	}
	return reqs
}

// clusterCredentialsRestarting maps a workload to the
// ClusterVantageCredentials whose spec.rolloutRestart picks it and that
// wrote a target into its namespace.
func (r *VantageCredentialReconciler) clusterCredentialsRestarting(ctx context.Context, kind string, w *metav1.PartialObjectMetadata) []reconcile.Request {
	var reqs []reconcile.Request
	for _, value := range []string{kind + "/" + w.Name, selectorValue} {
		var list vantagev1alpha1.ClusterVantageCredentialList
		if err := r.List(ctx, &list, client.MatchingFields{rolloutRestartIndex: value},
			client.UnsafeDisableDeepCopy, client.DisableReadYourWritesConsistency); err != nil {
			continue
		}
		for i := range list.Items {
			cred := &list.Items[i]
			if !restarts(cred.Spec.RolloutRestart, kind, w) {
				continue
			}
			// The manager's cache holds the operator's Secrets, targets included.
			target := &corev1.Secret{}
			if err := r.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: targetName(cred)}, target); err != nil {
				continue
			}
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(cred)})
		}
	}
	return reqs
}

// restarts says whether spec picks the workload w of kind: by name, or by
// its labels.
func restarts(spec *vantagev1alpha1.RolloutRestartSpec, kind string, w *metav1.PartialObjectMetadata) bool {
	if spec == nil {
		return false
	}
	for _, t := range spec.Targets {
		if string(t.Kind) == kind && t.Name == w.Name {
			return true
		}
	}
	if spec.Selector == nil {
		return false
	}
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	return err == nil && selector.Matches(labels.Set(w.Labels))
}
