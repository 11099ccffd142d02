package controller

import (
	"context"
	"maps"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
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
	"github.com/omnivector-solutions/vantage-credential-operator/internal/cachesync"
)

// Field indexes on VantageCredential, so a Secret event finds the
// credentials that read or write that Secret without listing them all.
const (
	sourceSecretIndex = "vantage.omnivector.solutions/source-secret"
	targetSecretIndex = "vantage.omnivector.solutions/target-secret"
	caConfigMapIndex  = "vantage.omnivector.solutions/ca-configmap"
)

// SetupWithManager registers the indexes and watches:
//   - credentials, on spec changes and annotation changes (refresh
//     requests), never on their own status writes;
//   - the operator's target Secrets, from the manager's cache, which holds
//     only Secrets carrying the managed-by label;
//   - the metadata of all other Secrets, from a cache of its own (the manager's
//     cache filters Secrets by label, and would filter these too), so a
//     source or CA bundle Secret's change, or the removal of a Secret that
//     blocked a target name, acts at once without caching anyone's data;
//   - the metadata of all ConfigMaps, from that cache too, for CA bundles.
//
// Failed reconciles are retried at most maxRetryDelay apart unless opts
// names a rate limiter (retry.go). The manager must be created with
// ManagerOptions applied.
func (r *VantageCredentialReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options) error {
	metaOpts := cache.Options{
		HTTPClient:        mgr.GetHTTPClient(),
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		DefaultTransform:  secretMetadataTransform,
		DefaultNamespaces: r.Scope.cacheNamespaces(),
		ByObject:          unmanagedSecretsOnly(),
	}
	if r.CacheSync != nil {
		metaOpts.DefaultWatchErrorHandler = r.CacheSync.WatchErrorHandler
	}
	if r.EnableRolloutRestart {
		workloadCacheOptions(metaOpts.ByObject)
	}
	metaCache, err := cache.New(mgr.GetConfig(), metaOpts)
	if err != nil {
		return err
	}
	if err := mgr.Add(everyReplica{metaCache}); err != nil {
		return err
	}
	r.metadata = metaCache
	r.sources = newSourceData()
	r.unwritten = newUnwrittenTokens()

	indexer := mgr.GetFieldIndexer()
	kinds := []client.Object{&vantagev1alpha1.VantageCredential{}}
	if r.handlesClusterKind() {
		kinds = append(kinds, &vantagev1alpha1.ClusterVantageCredential{})
	}
	for _, kind := range kinds {
		if err := indexCredentials(ctx, indexer, kind); err != nil {
			return err
		}
		if !r.EnableRolloutRestart {
			continue
		}
		if err := indexRolloutRestart(ctx, indexer, kind); err != nil {
			return err
		}
	}

	secretMetadata := &metav1.PartialObjectMetadata{}
	secretMetadata.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	configMapMetadata := &metav1.PartialObjectMetadata{}
	configMapMetadata.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))

	if r.CacheSync != nil {
		trackInformers(r.CacheSync, mgr.GetCache(), metaCache, secretMetadata, configMapMetadata)
		if r.EnableRolloutRestart {
			for _, kind := range workloadKinds {
				r.CacheSync.Add(strings.ToLower(kind)+"s (metadata)", appsv1.Resource(strings.ToLower(kind)+"s"), metaCache, workloadMetadata(kind))
			}
		}
		if r.handlesClusterKind() {
			r.CacheSync.Add("clustervantagecredentials", vantagev1alpha1.GroupVersion.WithResource("clustervantagecredentials").GroupResource(),
				mgr.GetCache(), &vantagev1alpha1.ClusterVantageCredential{})
			r.CacheSync.Add("namespaces (metadata)", corev1.Resource("namespaces"), metaCache, namespaceMetadata())
		}
	}

	secretInformer, err := metaCache.GetInformer(ctx, secretMetadata)
	if err != nil {
		return err
	}
	if _, err := secretInformer.AddEventHandler(r.sources.forgetDeleted()); err != nil {
		return err
	}

	if opts.RateLimiter == nil {
		opts.RateLimiter = retryRateLimiter()
	}
	if r.handlesClusterKind() {
		if err := r.setupClusterKind(mgr, metaCache, opts, secretMetadata, configMapMetadata); err != nil {
			return err
		}
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&vantagev1alpha1.VantageCredential{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.credentialsOfManagedSecret),
			builder.WithPredicates(resourceVersionChanged[client.Object]())).
		WatchesRawSource(source.Kind(metaCache, secretMetadata,
			handler.TypedEnqueueRequestsFromMapFunc(r.credentialsUsingSecret),
			resourceVersionChanged[*metav1.PartialObjectMetadata]())).
		WatchesRawSource(source.Kind(metaCache, configMapMetadata,
			handler.TypedEnqueueRequestsFromMapFunc(r.credentialsUsingConfigMap),
			resourceVersionChanged[*metav1.PartialObjectMetadata]())).
		WatchesRawSource(source.Kind(metaCache, serviceAccountMetadata(),
			handler.TypedEnqueueRequestsFromMapFunc(r.credentialsUsingServiceAccount),
			resourceVersionChanged[*metav1.PartialObjectMetadata]())).
		WithOptions(opts).
		Named("vantagecredential")
	if r.EnableRolloutRestart {
		for _, src := range workloadSources(metaCache, r.credentialsRestarting) {
			b = b.WatchesRawSource(src)
		}
	}
	return b.Complete(r)
}

// indexCredentials registers the indexes on one kind of credential.
func indexCredentials(ctx context.Context, indexer client.FieldIndexer, kind client.Object) error {
	if err := indexer.IndexField(ctx, kind, sourceSecretIndex, func(o client.Object) []string {
		cred := o.(credential)
		var names []string
		if name, _ := sourceSecret(cred); name != "" {
			names = append(names, name)
		}
		if ref := caBundleRef(*cred.GetSpec()); ref != nil && ref.Kind == vantagev1alpha1.CABundleSecret {
			names = append(names, ref.Name)
		}
		return names
	}); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, kind, caConfigMapIndex, func(o client.Object) []string {
		if ref := caBundleRef(*o.(credential).GetSpec()); ref != nil && ref.Kind == vantagev1alpha1.CABundleConfigMap {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, kind, sourceServiceAccountIndex, func(o client.Object) []string {
		return serviceAccountIndexValues(o.(credential))
	}); err != nil {
		return err
	}
	return indexer.IndexField(ctx, kind, targetSecretIndex, func(o client.Object) []string {
		return targetIndexValues(o.(credential))
	})
}

// handlesClusterKind: a manager limited to some namespaces (a scoped
// install, with Roles only) handles no cluster-scoped kind.
func (r *VantageCredentialReconciler) handlesClusterKind() bool {
	return len(r.Scope.Namespaces) == 0
}

// everyReplica runs a cache on every replica, leader or not, as the
// manager's own cache runs: a follower must sync it to be ready to take
// over. cache.New returns a cache that says so only when it has neither
// ByObject nor DefaultNamespaces; the others would start with the
// controllers, on the leader alone.
type everyReplica struct{ cache.Cache }

func (everyReplica) NeedLeaderElection() bool { return false }

// trackInformers registers every informer the watches below use, so the
// manager is ready only once all have synced. A follower under leader
// election starts no controller, so it is this registration that makes it
// sync the same informers and be ready to take over.
func trackInformers(t *cachesync.Tracker, mgrCache, metaCache cache.Informers, secretMetadata, configMapMetadata client.Object) {
	t.Add("vantagecredentials", vantagev1alpha1.GroupVersion.WithResource("vantagecredentials").GroupResource(),
		mgrCache, &vantagev1alpha1.VantageCredential{})
	t.Add("secrets (managed)", corev1.Resource("secrets"), mgrCache, &corev1.Secret{})
	t.Add("secrets (metadata)", corev1.Resource("secrets"), metaCache, secretMetadata)
	t.Add("configmaps (metadata)", corev1.Resource("configmaps"), metaCache, configMapMetadata)
	t.Add("serviceaccounts (metadata)", corev1.Resource("serviceaccounts"), metaCache, serviceAccountMetadata())
}

// credentialOfTarget maps one of the operator's Secrets to the credential
// of kind its labels name, which works for every creation policy (Merge
// and Orphan set no owner reference).
func credentialOfTarget(kind string, o client.Object) []reconcile.Request {
	if o.GetLabels()[vantagev1alpha1.ManagedByLabel] != vantagev1alpha1.ManagedByValue {
		return nil
	}
	owner, name := managerOf(o.GetLabels())
	if owner != kind || name == "" {
		return nil
	}
	key := types.NamespacedName{Name: name}
	if kind == namespacedKind {
		key.Namespace = o.GetNamespace()
	}
	return []reconcile.Request{{NamespacedName: key}}
}

// credentialsUsingSecret maps any Secret to the credentials reading it as
// their source or wanting it as their target. The operator's own Secrets
// reach their credential through credentialOfTarget already.
func (r *VantageCredentialReconciler) credentialsUsingSecret(ctx context.Context, s *metav1.PartialObjectMetadata) []reconcile.Request {
	indexes := []string{sourceSecretIndex}
	if s.GetLabels()[vantagev1alpha1.ManagedByLabel] != vantagev1alpha1.ManagedByValue {
		indexes = append(indexes, targetSecretIndex)
	}
	reqs := r.credentialsIndexed(ctx, &vantagev1alpha1.VantageCredentialList{}, s.Namespace, s.Name, indexes...)
	if len(indexes) > 1 {
		reqs = append(reqs, r.credentialTargetingOwnName(ctx, client.ObjectKeyFromObject(s), &vantagev1alpha1.VantageCredential{})...)
	}
	return reqs
}

// credentialsUsingConfigMap maps a ConfigMap to the credentials taking
// their CA bundle from it.
func (r *VantageCredentialReconciler) credentialsUsingConfigMap(ctx context.Context, cm *metav1.PartialObjectMetadata) []reconcile.Request {
	return r.credentialsIndexed(ctx, &vantagev1alpha1.VantageCredentialList{}, cm.Namespace, cm.Name, caConfigMapIndex)
}

// credentialsIndexed lists the credentials of list's kind in namespace
// ("" for the cluster kind, or all) whose indexes hold name.
func (r *VantageCredentialReconciler) credentialsIndexed(ctx context.Context, list client.ObjectList, namespace, name string, indexes ...string) []reconcile.Request {
	var reqs []reconcile.Request
	for _, index := range indexes {
		// Event handlers must not block on the cache catching up with our
		// own writes; the index is all they need.
		if err := r.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{index: name},
			client.DisableReadYourWritesConsistency); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing credentials", "index", index, "name", name)
			continue
		}
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o.(client.Object))})
			return nil
		})
	}
	return reqs
}

// caBundleRef is spec.tls.caBundleRef, or nil.
func caBundleRef(spec vantagev1alpha1.VantageCredentialSpec) *vantagev1alpha1.CABundleReference {
	if spec.TLS == nil {
		return nil
	}
	return spec.TLS.CABundleRef
}

// resourceVersionChanged passes creations, deletions and real updates, and
// drops the periodic resyncs that repeat an unchanged object.
func resourceVersionChanged[T client.Object]() predicate.TypedFuncs[T] {
	return predicate.TypedFuncs[T]{
		UpdateFunc: func(e event.TypedUpdateEvent[T]) bool {
			return e.ObjectOld.GetResourceVersion() != e.ObjectNew.GetResourceVersion()
		},
	}
}

// secretMetadataTransform keeps, of each Secret's, ConfigMap's,
// ServiceAccount's or Namespace's metadata, only what the watches use, so
// the metadata cache of every one in the cluster stays small (no managed
// fields, no last-applied annotations).
func secretMetadataTransform(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	slim := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta}
	slim.Name, slim.Namespace, slim.UID, slim.ResourceVersion = m.Name, m.Namespace, m.UID, m.ResourceVersion
	if m.Namespace == "" {
		// A Namespace (the only cluster-scoped kind in this cache): what
		// selectors and the skipping of namespaces being deleted need.
		slim.Labels, slim.DeletionTimestamp = m.Labels, m.DeletionTimestamp
		return slim, nil
	}
	if v, ok := m.Labels[vantagev1alpha1.ManagedByLabel]; ok {
		slim.Labels = metadataLabels(v)
	}
	if v, ok := m.Labels[vantagev1alpha1.TokenSourceLabel]; ok {
		// A ServiceAccount's opt-in to spec.serviceAccountRef. The
		// managed-by maps are shared, so this one is a copy.
		l := map[string]string{vantagev1alpha1.TokenSourceLabel: v}
		maps.Copy(l, slim.Labels)
		slim.Labels = l
	}
	if v, ok := m.Annotations[vantagev1alpha1.TokenAudiencesAnnotation]; ok {
		// The audiences a ServiceAccount lends its tokens for.
		slim.Annotations = map[string]string{vantagev1alpha1.TokenAudiencesAnnotation: v}
	}
	return slim, nil
}

// ManagerOptions sets what the reconciler relies on: a cache that holds
// only the operator's own Secrets (unrelated Secrets, however many, cost no
// memory), managed fields stripped, and read-your-writes consistency, so a
// reconcile right after a write never sees the old target or status and
// requests a second token. The caches hold only the credentials and
// namespaces of scope; the reconciler must be given the same scope.
func ManagerOptions(o *ctrl.Options, scope Scope) {
	o.Cache.DefaultTransform = cache.TransformStripManagedFields()
	o.Cache.DefaultNamespaces = scope.cacheNamespaces()
	if o.Cache.ByObject == nil {
		o.Cache.ByObject = map[client.Object]cache.ByObject{}
	}
	o.Cache.ByObject[&corev1.Secret{}] = cache.ByObject{
		Label:     labels.SelectorFromSet(labels.Set{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue}),
		Transform: slimSecret,
	}
	credentials := cache.ByObject{Transform: slimCredential}
	if scope.Selector != nil && !scope.Selector.Empty() {
		credentials.Label = scope.Selector
	}
	o.Cache.ByObject[&vantagev1alpha1.VantageCredential{}] = credentials
	o.Cache.ByObject[&vantagev1alpha1.ClusterVantageCredential{}] = credentials
	if o.Client.Cache == nil {
		o.Client.Cache = &client.CacheOptions{}
	}
	o.Client.Cache.EnableReadYourWritesConsistency = ptr.To(true)
}
