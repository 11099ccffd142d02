package controller

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
)

// sourceData remembers the data of the service-account Secrets the
// operator has read, each under the resourceVersion it was read at. The
// metadata cache tells the current version of every Secret, so a source is
// read live once per version instead of on every reconcile: the reconcile
// that the operator's own target write sets off, each scheduled refresh and
// every credential sharing the source cost no read. Only Secrets named as a
// source are kept, and an entry goes when its Secret is deleted.
type sourceData struct {
	mu      sync.Mutex
	entries map[types.NamespacedName]sourceEntry
}

type sourceEntry struct {
	version string
	// data is shared by every reader and never modified.
	data map[string][]byte
}

func newSourceData() *sourceData {
	return &sourceData{entries: map[types.NamespacedName]sourceEntry{}}
}

// get returns the data read at version.
func (s *sourceData) get(key types.NamespacedName, version string) (map[string][]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || e.version != version {
		return nil, false
	}
	return e.data, true
}

func (s *sourceData) put(key types.NamespacedName, version string, data map[string][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[key] = sourceEntry{version: version, data: data}
}

func (s *sourceData) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, key)
}

// forgetDeleted is the metadata informer's handler: a deleted Secret's
// data is dropped at once.
func (s *sourceData) forgetDeleted() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if m, ok := obj.(metav1.Object); ok {
			s.forget(types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()})
		}
	}}
}

// readSource returns the source Secret: from sourceData when the metadata
// cache shows the version read before, otherwise read live. A Secret the
// metadata cache has not seen yet is read live too, so a new one acts at
// once. Errors are failures to talk to the API server; a missing Secret is
// (nil, nil).
func (r *VantageCredentialReconciler) readSource(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	version, exists, err := r.secretVersion(ctx, key)
	if err != nil {
		return nil, err
	}
	if exists {
		if data, ok := r.sources.get(key, version); ok {
			s := &corev1.Secret{Data: data}
			s.Namespace, s.Name, s.ResourceVersion = key.Namespace, key.Name, version
			return s, nil
		}
	}

	s := &corev1.Secret{}
	err = r.APIReader.Get(ctx, key, s)
	switch {
	case apierrors.IsNotFound(err):
		r.sources.forget(key)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s: %w", key.Name, err)
	}
	r.sources.put(key, s.ResourceVersion, s.Data)
	return s, nil
}

// secretVersion is the resourceVersion of a Secret as the metadata cache
// knows it, and whether the cache knows the Secret at all.
func (r *VantageCredentialReconciler) secretVersion(ctx context.Context, key types.NamespacedName) (string, bool, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := r.metadata.Get(ctx, key, m)
	switch {
	case apierrors.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("reading the metadata of Secret %s: %w", key.Name, err)
	}
	return m.ResourceVersion, true, nil
}
