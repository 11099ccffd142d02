package rollout

import (
	"slices"
	"strings"
)

// The restarted-for annotation holds one entry per credential that
// restarted the workload, "key=hash" joined by commas, where key is
// CredentialKey. A restart re-reads every Secret, so it serves all
// credentials; each still keeps its own entry, so that one credential's
// restart never reads as another's and none of them restarts the workload
// in turn with another.

// CredentialKey is a credential's key in the annotation: the start of its
// UID, short enough that many credentials fit, long enough that two on one
// workload do not collide.
func CredentialKey(uid string) string {
	k := strings.ReplaceAll(uid, "-", "")
	if len(k) > 12 {
		k = k[:12]
	}
	return k
}

// RestartedFor is the hash the annotation value holds for key, "" for none.
func RestartedFor(annotation, key string) string {
	for _, e := range strings.Split(annotation, ",") {
		if k, h, ok := strings.Cut(strings.TrimSpace(e), "="); ok && k == key {
			return h
		}
	}
	return ""
}

// Record is the annotation value with key's entry set to hash, the other
// entries kept and all sorted, so the same set of entries is always the
// same value. Entries that do not parse are dropped.
func Record(annotation, key, hash string) string {
	entries := []string{key + "=" + hash}
	for _, e := range strings.Split(annotation, ",") {
		e = strings.TrimSpace(e)
		if k, h, ok := strings.Cut(e, "="); ok && k != "" && h != "" && k != key {
			entries = append(entries, e)
		}
	}
	slices.Sort(entries)
	return strings.Join(entries, ",")
}
