package rollout_test

import (
	"testing"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

// TestCredentialKey checks the annotation key is the UID without dashes,
// cut to 12 characters.
func TestCredentialKey(t *testing.T) {
	tests := []struct {
		name, uid, want string
	}{
		// Dashes are stripped before cutting, so 12 characters of the
		// UID itself, not 8 plus a dash plus 3.
		{name: "UUID is stripped and cut", uid: "0f8c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6", want: "0f8c2a4e1b2c"},
		{name: "exactly 12 is kept", uid: "0123456789ab", want: "0123456789ab"},
		{name: "shorter is kept", uid: "ab-cd", want: "abcd"},
		{name: "empty is empty", uid: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rollout.CredentialKey(tt.uid); got != tt.want {
				t.Errorf("CredentialKey(%q) = %q, want %q", tt.uid, got, tt.want)
			}
		})
	}
}

// TestRestartedFor checks each credential reads only its own entry.
func TestRestartedFor(t *testing.T) {
	tests := []struct {
		name, annotation, key, want string
	}{
		{name: "empty annotation", annotation: "", key: "aaa", want: ""},
		{name: "absent key", annotation: "bbb=2", key: "aaa", want: ""},
		{name: "only entry", annotation: "aaa=1", key: "aaa", want: "1"},
		{name: "first of two side by side", annotation: "aaa=1,bbb=2", key: "aaa", want: "1"},
		{name: "second of two side by side", annotation: "aaa=1,bbb=2", key: "bbb", want: "2"},
		// Keys match whole, not by prefix: one credential's key may start
		// another's.
		{name: "prefix of another key is absent", annotation: "aaab=1", key: "aaa", want: ""},
		// A hand-edited value with spaces still reads.
		{name: "spaces around entries", annotation: " aaa=1 , bbb=2 ", key: "bbb", want: "2"},
		{name: "malformed entries are skipped", annotation: "garbage,aaa=1", key: "aaa", want: "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rollout.RestartedFor(tt.annotation, tt.key); got != tt.want {
				t.Errorf("RestartedFor(%q, %q) = %q, want %q", tt.annotation, tt.key, got, tt.want)
			}
		})
	}
}

// TestRecord checks Record sets one credential's entry, keeps the others,
// and gives one value per set of entries, so re-recording writes no change.
func TestRecord(t *testing.T) {
	tests := []struct {
		name, annotation, key, hash, want string
	}{
		{name: "into empty", annotation: "", key: "aaa", hash: "1", want: "aaa=1"},
		{name: "beside another credential", annotation: "bbb=2", key: "aaa", hash: "1", want: "aaa=1,bbb=2"},
		{name: "replaces only its own entry", annotation: "aaa=old,bbb=2", key: "aaa", hash: "new", want: "aaa=new,bbb=2"},
		// Sorted whatever the input order, so the same entries are the
		// same string and the patch is a no-op.
		{name: "sorts the others", annotation: "ccc=3,bbb=2", key: "aaa", hash: "1", want: "aaa=1,bbb=2,ccc=3"},
		{name: "own entry sorts among the others", annotation: "aaa=1,ccc=3", key: "bbb", hash: "2", want: "aaa=1,bbb=2,ccc=3"},
		{name: "drops malformed entries", annotation: "garbage,=x,k=,bbb=2", key: "aaa", hash: "1", want: "aaa=1,bbb=2"},
		{name: "trims spaces", annotation: " bbb=2 , ccc=3", key: "aaa", hash: "1", want: "aaa=1,bbb=2,ccc=3"},
		// A duplicate of its own key (hand edit) collapses into one.
		{name: "duplicates of its own key collapse", annotation: "aaa=x,aaa=y", key: "aaa", hash: "1", want: "aaa=1"},
		{name: "same hash again is unchanged", annotation: "aaa=1,bbb=2", key: "aaa", hash: "1", want: "aaa=1,bbb=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rollout.Record(tt.annotation, tt.key, tt.hash)
			if got != tt.want {
				t.Fatalf("Record(%q, %q, %q) = %q, want %q", tt.annotation, tt.key, tt.hash, got, tt.want)
			}
			// Idempotent: the same input gives the same value, and
			// recording again into the result changes nothing.
			if again := rollout.Record(tt.annotation, tt.key, tt.hash); again != got {
				t.Errorf("Record not deterministic: %q then %q", got, again)
			}
			if again := rollout.Record(got, tt.key, tt.hash); again != got {
				t.Errorf("Record into its own result = %q, want %q unchanged", again, got)
			}
			if rf := rollout.RestartedFor(got, tt.key); rf != tt.hash {
				t.Errorf("RestartedFor(%q, %q) = %q, want %q", got, tt.key, rf, tt.hash)
			}
		})
	}
}

// TestRecordTwoCredentials checks two credentials on one workload keep
// their entries side by side through each other's restarts, whatever the
// order they record in.
func TestRecordTwoCredentials(t *testing.T) {
	a := rollout.CredentialKey("11111111-aaaa-4000-8000-000000000001")
	b := rollout.CredentialKey("22222222-bbbb-4000-8000-000000000002")
	if a == b {
		t.Fatalf("keys collide: %q", a)
	}
	ab := rollout.Record(rollout.Record("", a, "ha1"), b, "hb1")
	ba := rollout.Record(rollout.Record("", b, "hb1"), a, "ha1")
	if ab != ba {
		t.Errorf("order of recording shows in the value: %q vs %q", ab, ba)
	}
	next := rollout.Record(ab, a, "ha2")
	if got := rollout.RestartedFor(next, a); got != "ha2" {
		t.Errorf("a's entry = %q, want ha2", got)
	}
	if got := rollout.RestartedFor(next, b); got != "hb1" {
		t.Errorf("b's entry = %q after a's restart, want hb1 kept", got)
	}
}
