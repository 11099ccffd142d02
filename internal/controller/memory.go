package controller

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// The caches' transforms keep every field of the objects they hold (the
// reconciler writes target Secrets back whole) but store repeated strings
// and bytes once. Decoding gives each object its own copy of every label
// and annotation key, of the owner reference's kind and API version, of
// the data keys, and of the token in both access_token and VANTAGE_API_KEY;
// credentials sharing a client share their token too. Nothing modifies a
// cached object in place: reads from the cache are deep copies, and the
// event handlers only read, so sharing is safe.

// lastAppliedAnnotation is kubectl's copy of the whole applied object, which
// the reconciler never reads.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// internLimits bound what the interners keep beyond the cached objects
// themselves: a value is kept until the interner is full, then all are
// dropped at once and it starts over.
const (
	internMaxEntries = 4096
	internMaxBytes   = 1 << 20
	// internMaxLen is the longest value interned: longer ones are rarely
	// repeated, except for tokens, which dataInterner takes.
	internMaxLen = 256
	// internMaxMaps bounds the whole maps kept.
	internMaxMaps = 1024
)

// interner hands out one copy of each value it has seen, within its bounds.
type interner struct {
	mu         sync.Mutex
	strs       map[string]string
	bytes      map[string][]byte
	size       int
	maxEntries int
	maxBytes   int
}

func newInterner(maxEntries, maxBytes int) *interner {
	return &interner{strs: map[string]string{}, bytes: map[string][]byte{}, maxEntries: maxEntries, maxBytes: maxBytes}
}

// reserve makes room for a value of n bytes, dropping everything when it would not fit.
func (in *interner) reserve(n int) {
	if len(in.strs)+len(in.bytes) >= in.maxEntries || in.size+n > in.maxBytes {
		clear(in.strs)
		clear(in.bytes)
		in.size = 0
	}
	in.size += n
}

// str returns the interned copy of s.
func (in *interner) str(s string) string {
	if s == "" || len(s) > internMaxLen {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.strs[s]; ok {
		return v
	}
	in.reserve(len(s))
	in.strs[s] = s
	return s
}

// byteSlice returns the interned copy of b, which must not be modified
// afterwards.
func (in *interner) byteSlice(b []byte) []byte {
	if len(b) == 0 || len(b) > in.maxBytes/16 {
		return b
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.bytes[string(b)]; ok {
		return v
	}
	in.reserve(len(b))
	in.bytes[string(b)] = b
	return b
}

var (
	// strings: keys, namespaces, kinds, hashes, reasons, messages.
	strInterner = newInterner(internMaxEntries, internMaxBytes)
	// data: the values in target Secrets, tokens above all.
	dataInterner = newInterner(internMaxEntries, 4*internMaxBytes)
	// whole maps of target Secrets: their data and their annotations.
	// Fewer: a map kept past its Secret's update costs a few hundred bytes.
	dataMaps       = newMapInterner[[]byte](internMaxMaps)
	annotationMaps = newMapInterner[string](internMaxMaps)
)

// slimMeta strips managed fields and interns what objects share: the
// namespace and the keys and values of labels and annotations. Names, UIDs
// and resource versions are each object's own and stay as they are, except
// that a label or owner naming the object's own name shares its string.
func slimMeta(m *metav1.ObjectMeta) {
	m.ManagedFields = nil
	m.Namespace = strInterner.str(m.Namespace)
	own := func(s string) string {
		if s == m.Name {
			return m.Name
		}
		return strInterner.str(s)
	}
	m.Labels = internMap(m.Labels, own)
	m.Annotations = internMap(m.Annotations, own)
	for i := range m.OwnerReferences {
		ref := &m.OwnerReferences[i]
		ref.APIVersion, ref.Kind = strInterner.str(ref.APIVersion), strInterner.str(ref.Kind)
		if ref.Name == m.Name {
			ref.Name = m.Name
		}
	}
	for i, f := range m.Finalizers {
		m.Finalizers[i] = strInterner.str(f)
	}
}

// internMap rebuilds m with interned keys and values; a new map is no
// larger than the decoded one and lets the old one and its strings go.
func internMap(m map[string]string, value func(string) string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strInterner.str(k)] = value(v)
	}
	return out
}

// slimSecret is the transform of the cached (target) Secrets: all fields
// kept, shared strings and data stored once.
func slimSecret(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	slimMeta(&s.ObjectMeta)
	s.TypeMeta.APIVersion, s.TypeMeta.Kind = strInterner.str(s.APIVersion), strInterner.str(s.Kind)
	s.Type = corev1.SecretType(strInterner.str(string(s.Type)))
	if s.Data != nil {
		data := make(map[string][]byte, len(s.Data))
		for k, v := range s.Data {
			data[strInterner.str(k)] = dataInterner.byteSlice(v)
		}
		s.Data = dataMaps.intern(data)
	}
	// Secrets holding the same token carry the same token annotations.
	s.Annotations = annotationMaps.intern(s.Annotations)
	return s, nil
}

// mapInterner hands out one copy of each map it has seen, within its
// bounds: the data and the annotations of target Secrets that hold the same
// token are the same, down to the data hash. Maps are known by a SHA-256
// digest of their sorted entries and compared in full before one is shared.
type mapInterner[V string | []byte] struct {
	mu         sync.Mutex
	maps       map[[sha256.Size]byte]map[string]V
	maxEntries int
}

func newMapInterner[V string | []byte](maxEntries int) *mapInterner[V] {
	return &mapInterner[V]{maps: map[[sha256.Size]byte]map[string]V{}, maxEntries: maxEntries}
}

// intern returns the interned copy of m, which must not be modified
// afterwards.
func (mi *mapInterner[V]) intern(m map[string]V) map[string]V {
	if len(m) == 0 {
		return m
	}
	d := mapDigest(m)
	mi.mu.Lock()
	defer mi.mu.Unlock()
	if v, ok := mi.maps[d]; ok && maps.EqualFunc(v, m, func(a, b V) bool { return string(a) == string(b) }) {
		return v
	}
	if len(mi.maps) >= mi.maxEntries {
		clear(mi.maps)
	}
	mi.maps[d] = m
	return m
}

// mapDigest is the SHA-256 of m's entries in key order, each key and value
// preceded by its length.
func mapDigest[V string | []byte](m map[string]V) [sha256.Size]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(k)))])
		h.Write([]byte(k))
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(v)))])
		h.Write([]byte(v))
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

// slimCredential is the transform of the cached credentials: no managed
// fields, no kubectl last-applied copy, and the strings of the status that
// many credentials share (condition types, reasons and messages, scopes)
// stored once.
func slimCredential(obj any) (any, error) {
	c, ok := obj.(credential)
	if !ok {
		return obj, nil
	}
	if a := c.GetAnnotations(); a != nil {
		if _, ok := a[lastAppliedAnnotation]; ok {
			delete(a, lastAppliedAnnotation)
			if len(a) == 0 {
				c.SetAnnotations(nil)
			}
		}
	}
	switch o := obj.(type) {
	case *vantagev1alpha1.VantageCredential:
		slimMeta(&o.ObjectMeta)
		o.TypeMeta.APIVersion, o.TypeMeta.Kind = strInterner.str(o.APIVersion), strInterner.str(o.Kind)
	case *vantagev1alpha1.ClusterVantageCredential:
		slimMeta(&o.ObjectMeta)
		o.TypeMeta.APIVersion, o.TypeMeta.Kind = strInterner.str(o.APIVersion), strInterner.str(o.Kind)
		o.Status.FailedNamespaces = slices.Clone(o.Status.FailedNamespaces)
	}
	st := c.GetStatus()
	// Decoding grows the slices by doubling: three conditions take room
	// for four.
	st.Conditions = slices.Clone(st.Conditions)
	st.GrantedScopes = slices.Clone(st.GrantedScopes)
	for i := range st.Conditions {
		cond := &st.Conditions[i]
		cond.Type, cond.Reason, cond.Message = strInterner.str(cond.Type), strInterner.str(cond.Reason), strInterner.str(cond.Message)
		cond.Status = metav1.ConditionStatus(strInterner.str(string(cond.Status)))
	}
	for i, s := range st.GrantedScopes {
		st.GrantedScopes[i] = strInterner.str(s)
	}
	st.FailedSourceVersion, st.UserID = strInterner.str(st.FailedSourceVersion), strInterner.str(st.UserID)
	st.TokenURL, st.LastHandledRefreshRequest = strInterner.str(st.TokenURL), strInterner.str(st.LastHandledRefreshRequest)
	if st.TargetSecretName == c.GetName() {
		st.TargetSecretName = c.GetName()
	}
	return c, nil
}

// managedByLabels is the one labels map of every Secret's cached metadata
// that carries the managed-by label with the operator's value: read only.
var managedByLabels = map[string]string{vantagev1alpha1.ManagedByLabel: vantagev1alpha1.ManagedByValue}

// metadataLabels is the labels map for the slim metadata of a Secret or
// ConfigMap whose managed-by label is v.
func metadataLabels(v string) map[string]string {
	if v == vantagev1alpha1.ManagedByValue {
		return managedByLabels
	}
	return map[string]string{vantagev1alpha1.ManagedByLabel: strInterner.str(v)}
}

// targetIndexValues are a credential's values in the target-Secret index:
// its target's name, only when that is not its own name. Most credentials
// write a Secret of their own name, and an index entry of a value of its
// own costs each about 500 bytes (the value and a set, twice: in the
// namespace and across namespaces); credentialTargetingOwnName finds those
// by name instead.
func targetIndexValues(cred credential) []string {
	if name := targetName(cred); name != cred.GetName() {
		return []string{name}
	}
	return nil
}

// credentialTargetingOwnName is the credential at key, read into cred (of
// either kind), when it exists and writes a Secret of its own name: what
// the target index leaves out.
func (r *VantageCredentialReconciler) credentialTargetingOwnName(ctx context.Context, key types.NamespacedName, cred credential) []reconcile.Request {
	// As for the index: no waiting for the cache to see our own writes.
	if err := r.Get(ctx, key, cred, client.DisableReadYourWritesConsistency); err != nil {
		if !apierrors.IsNotFound(err) {
			ctrl.LoggerFrom(ctx).Error(err, "reading credential", "name", key.Name)
		}
		return nil
	}
	if targetName(cred) != key.Name {
		return nil
	}
	return []reconcile.Request{{NamespacedName: key}}
}

// unmanagedSecretsOnly keeps the operator's own Secrets out of the metadata
// cache: the manager's cache holds them whole already, and a second, slim
// copy of each cost 400 bytes (4 MB at 10,000 credentials). Where the
// metadata cache does not know a Secret, the reconciler asks the manager's
// cache (targets) or reads live (a source that happens to be one of the
// operator's Secrets), and credentialsOfManagedSecret brings the events.
func unmanagedSecretsOnly() map[client.Object]cache.ByObject {
	notOurs, err := labels.NewRequirement(vantagev1alpha1.ManagedByLabel, selection.NotEquals, []string{vantagev1alpha1.ManagedByValue})
	if err != nil {
		panic(err) // the label and value are constants that parse
	}
	secrets := &metav1.PartialObjectMetadata{}
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return map[client.Object]cache.ByObject{secrets: {Label: labels.NewSelector().Add(*notOurs)}}
}

// credentialsOfManagedSecret maps one of the operator's Secrets to its own
// credential and to any credential reading it as a source, which the
// metadata cache, holding no managed Secret, no longer reports.
func (r *VantageCredentialReconciler) credentialsOfManagedSecret(ctx context.Context, o client.Object) []reconcile.Request {
	return append(credentialOfTarget(namespacedKind, o),
		r.credentialsIndexed(ctx, &vantagev1alpha1.VantageCredentialList{}, o.GetNamespace(), o.GetName(), sourceSecretIndex)...)
}
