package controller

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

func TestUnwrittenTokensAreReusedOnlyForTheSameCredentialInputsAndWhileFresh(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	key := types.NamespacedName{Namespace: "ns", Name: "cred"}
	tok := &oauth.Token{IssuedAt: now, Expiry: now.Add(time.Hour)}
	dueIn := func(d time.Duration) func(*oauth.Token) time.Time {
		return func(t *oauth.Token) time.Time { return t.IssuedAt.Add(d) }
	}
	tests := []struct {
		name string
		uid  types.UID
		hash string
		at   time.Time
		want bool
	}{
		{"same credential and inputs, not due", "uid-1", "h1", now.Add(time.Minute), true},
		{"a new credential of the same name", "uid-2", "h1", now.Add(time.Minute), false},
		{"other inputs (a rotated secret)", "uid-1", "h2", now.Add(time.Minute), false},
		{"due for refresh itself", "uid-1", "h1", now.Add(40 * time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnwrittenTokens()
			id := &oauth.Identity{UserID: "user_123"}
			u.keep(key, "uid-1", "h1", tok, id)
			got, gotID := u.take(key, tt.uid, tt.hash, tt.at, dueIn(40*time.Minute))
			if (got != nil) != tt.want || tt.want && (got != tok || gotID != id) {
				t.Fatalf("take = %v, %v; want reuse %v", got, gotID, tt.want)
			}
			if again, _ := u.take(key, "uid-1", "h1", now, dueIn(40*time.Minute)); again != nil {
				t.Fatal("a token is taken once at most")
			}
		})
	}

	u := newUnwrittenTokens()
	u.keep(key, "uid-1", "h1", tok, nil)
	u.forget(key)
	if got, _ := u.take(key, "uid-1", "h1", now, dueIn(40*time.Minute)); got != nil {
		t.Fatal("forgotten with its credential")
	}
}
