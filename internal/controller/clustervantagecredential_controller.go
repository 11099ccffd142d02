package controller

import (
	"context"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=vantage.omnivector.solutions,resources=clustervantagecredentials,verbs=get;list;watch
// +kubebuilder:rbac:groups=vantage.omnivector.solutions,resources=clustervantagecredentials/status,verbs=patch
// +kubebuilder:rbac:groups=vantage.omnivector.solutions,resources=clustervantagecredentials/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=delete

// clusterCredentials is the ClusterVantageCredential's front door: the key
// is in the operator's namespace, and one token, requested once per
// refresh, goes into the target of every namespace spec.target selects.
// It puts no finalizer on anything, Namespaces least of all.
type clusterCredentials struct {
	r *VantageCredentialReconciler
}

// Reconcile runs the engine for one ClusterVantageCredential.
func (c clusterCredentials) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cred := &vantagev1alpha1.ClusterVantageCredential{}
	if err := c.r.Get(ctx, req.NamespacedName, cred); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		c.r.forget(req.NamespacedName)
		// Not in the cache is not gone: another shard's credential (its
		// targets' events reach every manager) is not in this one's. Only
		// the API server can say it is gone.
		if err := c.r.APIReader.Get(ctx, req.NamespacedName, cred); !apierrors.IsNotFound(err) {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		return ctrl.Result{}, c.deleteTargets(ctx, req.Name, "")
	}
	if !cred.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, c.deleteTargets(ctx, cred.Name, cred.UID)
	}
	return c.r.reconcile(ctx, c, cred)
}

// deleteTargets deletes the targets of a ClusterVantageCredential that is
// gone (uid "": any that a ClusterVantageCredential of that name controls)
// or being deleted. Their owner reference lets the garbage collector
// delete them too; doing it here makes it immediate, works where no
// collector runs (envtest), and catches the targets of a credential
// deleted while the operator was down: at start every target in the cache
// maps to its credential, whose reconcile then finds it gone.
func (c clusterCredentials) deleteTargets(ctx context.Context, name string, uid types.UID) error {
	var list corev1.SecretList
	if err := c.r.List(ctx, &list, client.MatchingLabels{vantagev1alpha1.ClusterCredentialLabel: name}); err != nil {
		return err
	}
	for i := range list.Items {
		s := &list.Items[i]
		ref := metav1.GetControllerOf(s)
		if ref == nil || ref.Kind != clusterKind || ref.Name != name || (uid != "" && ref.UID != uid) {
			continue
		}
		if err := c.r.deleteTarget(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (c clusterCredentials) sourceNamespace(cred credential) (string, *problem) {
	if ns := c.r.ClusterCredentialNamespace; ns != "" {
		return ns, nil
	}
	return "", &problem{ReasonNoCredentialNamespace, fmt.Sprintf(
		"the operator does not know where %s is: it runs outside a cluster without --cluster-credential-namespace; restart it with --cluster-credential-namespace set to the namespace holding it", sourceObject(cred)), true}
}

// targets lists the namespaces spec.target selects, skipping those being
// deleted, and the targets this credential controls in any other.
func (c clusterCredentials) targets(ctx context.Context, cred credential) ([]string, []*corev1.Secret, *problem, error) {
	all := &metav1.PartialObjectMetadataList{}
	all.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := c.r.metadata.List(ctx, all); err != nil {
		return nil, nil, nil, fmt.Errorf("listing namespaces: %w", err)
	}
	var namespaces []string
	for i := range all.Items {
		ns := &all.Items[i]
		picked, err := picks(cred.GetSpec().Target, ns)
		if err != nil {
			// The CRD refuses what it can; this catches the rest.
			return nil, nil, &problem{ReasonInvalidNamespaceSelector, fmt.Sprintf("spec.target.namespaceSelector: %s", err), true}, nil
		}
		// Namespaces being deleted are skipped: their targets go.
		if picked && ns.DeletionTimestamp == nil && c.r.Scope.allows(ns.Name) {
			namespaces = append(namespaces, ns.Name)
		}
	}
	sort.Strings(namespaces)

	var ours corev1.SecretList
	if err := c.r.List(ctx, &ours, client.MatchingLabels{vantagev1alpha1.ClusterCredentialLabel: cred.GetName()}); err != nil {
		return nil, nil, nil, fmt.Errorf("listing target Secrets: %w", err)
	}
	var stale []*corev1.Secret
	for i := range ours.Items {
		s := &ours.Items[i]
		if metav1.IsControlledBy(s, cred) && !slices.Contains(namespaces, s.Namespace) {
			stale = append(stale, s)
		}
	}
	if len(namespaces) == 0 {
		return nil, stale, &problem{ReasonNoTargetNamespaces,
			"no namespace matches spec.target.namespaceSelector or spec.target.namespaces (namespaces being deleted do not count): label a namespace or list one", false}, nil
	}
	return namespaces, stale, nil, nil
}

// picks says whether target names ns or its selector matches ns's labels;
// an error says the selector does not parse.
func picks(target *vantagev1alpha1.TargetSpec, ns metav1.Object) (bool, error) {
	if target == nil {
		return false, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(target.NamespaceSelector)
	if err != nil {
		return false, err
	}
	return slices.Contains(target.Namespaces, ns.GetName()) || selector.Matches(labels.Set(ns.GetLabels())), nil
}

// setTargetStatus counts the namespaces holding the token and lists those
// that could not take it; Ready's message counts them too.
func (clusterCredentials) setTargetStatus(cred credential, f *facts) {
	st := &cred.(*vantagev1alpha1.ClusterVantageCredential).Status
	st.TargetNamespaces = 0
	st.FailedNamespaces = nil
	var failed int32
	for _, t := range f.targets {
		switch {
		case t.gone:
		case t.problem != nil:
			failed++
			if len(st.FailedNamespaces) < vantagev1alpha1.MaxFailedNamespaces {
				st.FailedNamespaces = append(st.FailedNamespaces, vantagev1alpha1.NamespaceFailure{
					Namespace: t.namespace, Reason: t.problem.reason, Message: truncate(t.problem.message, 512)})
			}
		case f.token.validAt(f.now) && t.token.same(f.token):
			st.TargetNamespaces++
		}
	}
	st.FailedCount = failed
	if failed == 0 || f.problem != nil {
		return
	}
	if ready := meta.FindStatusCondition(st.Conditions, vantagev1alpha1.ConditionReady); ready != nil {
		ready.Message = truncate(fmt.Sprintf("%s; %d of %d namespaces could not take it: see status.failedNamespaces",
			ready.Message, failed, len(f.targets)), 1024)
	}
}
