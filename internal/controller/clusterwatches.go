package controller

import (
	"context"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	return ctrl.NewControllerManagedBy(mgr).
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
		WatchesRawSource(source.Kind(metaCache, namespaceMetadata(),
			handler.TypedEnqueueRequestsFromMapFunc(r.clusterCredentialsSelecting),
			namespaceMatchChanged())).
		WithOptions(opts).
		Named("clustervantagecredential").
		Complete(clusterCredentials{r})
}

func namespaceMetadata() *metav1.PartialObjectMetadata {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}

// clusterCredentialOfTarget maps a target Secret to its
// ClusterVantageCredential by label.
func clusterCredentialOfTarget(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[vantagev1alpha1.ClusterCredentialLabel]
	if name == "" || o.GetLabels()[vantagev1alpha1.ManagedByLabel] != vantagev1alpha1.ManagedByValue {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
}

// clusterCredentialsOfManagedSecret maps one of the operator's Secrets to
// the cluster credential it is a target of and, in the operator's
// namespace, to those reading it as their key (the metadata cache holds no
// managed Secret).
func (r *VantageCredentialReconciler) clusterCredentialsOfManagedSecret(ctx context.Context, o client.Object) []reconcile.Request {
	reqs := clusterCredentialOfTarget(ctx, o)
	if o.GetNamespace() == r.ClusterCredentialNamespace {
		reqs = append(reqs, r.clusterCredentialsIndexed(ctx, o.GetName(), sourceSecretIndex)...)
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
	reqs := r.clusterCredentialsIndexed(ctx, s.Name, indexes...)
	var own vantagev1alpha1.ClusterVantageCredential
	if err := r.Get(ctx, types.NamespacedName{Name: s.Name}, &own, client.DisableReadYourWritesConsistency); err == nil && targetName(&own) == own.Name {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: own.Name}})
	}
	return reqs
}

// clusterCredentialsUsingConfigMap maps a ConfigMap of the operator's
// namespace to the cluster credentials taking their CA bundle from it.
func (r *VantageCredentialReconciler) clusterCredentialsUsingConfigMap(ctx context.Context, cm *metav1.PartialObjectMetadata) []reconcile.Request {
	if cm.Namespace != r.ClusterCredentialNamespace {
		return nil
	}
	return r.clusterCredentialsIndexed(ctx, cm.Name, caConfigMapIndex)
}

func (r *VantageCredentialReconciler) clusterCredentialsIndexed(ctx context.Context, name string, indexes ...string) []reconcile.Request {
	var reqs []reconcile.Request
	for _, index := range indexes {
		var list vantagev1alpha1.ClusterVantageCredentialList
		if err := r.List(ctx, &list, client.MatchingFields{index: name}, client.DisableReadYourWritesConsistency); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing cluster credentials", "index", index, "name", name)
			continue
		}
		for _, c := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
		}
	}
	return reqs
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
		target := list.Items[i].Spec.Target
		if target == nil {
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(target.NamespaceSelector)
		if err != nil {
			continue
		}
		// A namespace being deleted still maps: its target goes.
		if selector.Matches(labels.Set(ns.Labels)) || slices.Contains(target.Namespaces, ns.Name) {
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
