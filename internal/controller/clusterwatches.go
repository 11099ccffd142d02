package controller

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// setupClusterKind registers the ClusterVantageCredential controller on
// the same engine, caches and indexes as the namespaced one. Beyond the
// watches that one has, it watches the metadata of Namespaces, so a
// namespace that starts or stops matching (created, relabelled, deleted)
// gets or loses its target at once.
func (r *VantageCredentialReconciler) setupClusterKind(mgr ctrl.Manager, metaCache cache.Cache, opts controller.Options,
	secretMetadata, configMapMetadata *metav1.PartialObjectMetadata) error {
	b := ctrl.NewControllerManagedBy(mgr).
		For(&vantagev1alpha1.ClusterVantageCredential{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.clusterCredentialsOfManagedSecret),
			builder.WithPredicates(resourceVersionChanged[client.Object]())).
		WatchesRawSource(source.Kind(metaCache, secretMetadata,
			handler.TypedEnqueueRequestsFromMapFunc(r.clusterCredentialsUsingSecret),
			resourceVersionChanged[*metav1.PartialObjectMetadata]())).
		WatchesRawSource(source.Kind(metaCache, configMapMetadata,
			handler.TypedEnqueueRequestsFromMapFunc(r.clusterCredentialsUsingConfigMap),
			resourceVersionChanged[*metav1.PartialObjectMetadata]())).
		WatchesRawSource(source.Kind(metaCache, serviceAccountMetadata(),
			handler.TypedEnqueueRequestsFromMapFunc(r.clusterCredentialsUsingServiceAccount),
			resourceVersionChanged[*metav1.PartialObjectMetadata]())).
		WatchesRawSource(source.Kind(metaCache, namespaceMetadata(),
			handler.TypedEnqueueRequestsFromMapFunc(r.clusterCredentialsSelecting),
			namespaceMatchChanged())).
		WithOptions(opts).
		Named("clustervantagecredential")
	if r.EnableRolloutRestart {
		for _, src := range workloadSources(metaCache, r.clusterCredentialsRestarting) {
			b = b.WatchesRawSource(src)
		}
	}
	return b.Complete(clusterCredentials{r})
}

func namespaceMetadata() *metav1.PartialObjectMetadata {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}

// clusterCredentialsOfManagedSecret maps one of the operator's Secrets to
// the cluster credential it is a target of and, in the operator's
// namespace, to those reading it as their key (the metadata cache holds no
// managed Secret).
func (r *VantageCredentialReconciler) clusterCredentialsOfManagedSecret(ctx context.Context, o client.Object) []reconcile.Request {
	reqs := credentialOfTarget(clusterKind, o)
	if o.GetNamespace() == r.ClusterCredentialNamespace {
		reqs = append(reqs, r.credentialsIndexed(ctx, &vantagev1alpha1.ClusterVantageCredentialList{}, "", o.GetName(), sourceSecretIndex)...)
	}
	return reqs
}

// clusterCredentialsUsingSecret maps a Secret the operator does not manage
// to the cluster credentials reading it (in the operator's namespace) and,
// in any namespace, to those wanting its name for their target: by the
// index, or by their own name, which the index leaves out.
func (r *VantageCredentialReconciler) clusterCredentialsUsingSecret(ctx context.Context, s *metav1.PartialObjectMetadata) []reconcile.Request {
	indexes := []string{targetSecretIndex}
	if s.Namespace == r.ClusterCredentialNamespace {
		indexes = append(indexes, sourceSecretIndex)
	}
	reqs := r.credentialsIndexed(ctx, &vantagev1alpha1.ClusterVantageCredentialList{}, "", s.Name, indexes...)
	return append(reqs, r.credentialTargetingOwnName(ctx, types.NamespacedName{Name: s.Name}, &vantagev1alpha1.ClusterVantageCredential{})...)
}

// clusterCredentialsUsingConfigMap maps a ConfigMap of the operator's
// namespace to the cluster credentials taking their CA bundle from it.
func (r *VantageCredentialReconciler) clusterCredentialsUsingConfigMap(ctx context.Context, cm *metav1.PartialObjectMetadata) []reconcile.Request {
	if cm.Namespace != r.ClusterCredentialNamespace {
		return nil
	}
	return r.credentialsIndexed(ctx, &vantagev1alpha1.ClusterVantageCredentialList{}, "", cm.Name, caConfigMapIndex)
}

// clusterCredentialsSelecting maps a namespace to the cluster credentials
// whose target selects it. On an update the handler maps the old and the
// new object both, so a namespace that stops matching reaches the
// credentials it matched before.
func (r *VantageCredentialReconciler) clusterCredentialsSelecting(ctx context.Context, ns *metav1.PartialObjectMetadata) []reconcile.Request {
	var list vantagev1alpha1.ClusterVantageCredentialList
	if err := r.List(ctx, &list, client.DisableReadYourWritesConsistency); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing cluster credentials", "namespace", ns.Name)
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		// A namespace being deleted still maps: its target goes.
		if picks, err := picks(list.Items[i].Spec.Target, ns); err == nil && picks {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}})
		}
	}
	return reqs
}

// namespaceMatchChanged passes creations and deletions of namespaces, and
// updates that change what a selector sees: labels, or the start of
// deletion. Other updates (annotations, status) cost nothing.
func namespaceMatchChanged() predicate.TypedFuncs[*metav1.PartialObjectMetadata] {
	return predicate.TypedFuncs[*metav1.PartialObjectMetadata]{
		UpdateFunc: func(e event.TypedUpdateEvent[*metav1.PartialObjectMetadata]) bool {
			return !maps.Equal(e.ObjectOld.Labels, e.ObjectNew.Labels) ||
				(e.ObjectOld.DeletionTimestamp == nil) != (e.ObjectNew.DeletionTimestamp == nil)
		},
	}
}
