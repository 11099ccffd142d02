package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

// unwrittenTokens holds, per credential, a token that was issued but could
// not be written because the Kubernetes API failed (it was away, or etcd
// behind it). The retry writes that token instead of requesting another:
// the token server did nothing wrong, and a second request would only cost
// it load and the operator its rate limit.
type unwrittenTokens struct {
	mu     sync.Mutex
	tokens map[types.NamespacedName]unwrittenToken
}

type unwrittenToken struct {
	// uid tells a credential from a later one of the same name.
	uid types.UID
	// inputsHash is the hash of the inputs the token was requested with; a
	// token for other inputs (a rotated secret, new scopes) is never used.
	inputsHash string
	token      *oauth.Token
	// identity is what verifyToken learnt of the token, nil without it.
	identity *oauth.Identity
}

func newUnwrittenTokens() *unwrittenTokens {
	return &unwrittenTokens{tokens: map[types.NamespacedName]unwrittenToken{}}
}

// keep remembers tok and its identity, requested with the inputs of hash,
// for the credential key with uid.
func (u *unwrittenTokens) keep(key types.NamespacedName, uid types.UID, hash string, tok *oauth.Token, id *oauth.Identity) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.tokens[key] = unwrittenToken{uid: uid, inputsHash: hash, token: tok, identity: id}
}

// take returns and forgets the token (and its identity) kept for key when
// it was kept for uid, requested with the inputs of hash, and is not due for
// refresh at now (dueAt says when a token is); otherwise nil.
func (u *unwrittenTokens) take(key types.NamespacedName, uid types.UID, hash string, now time.Time, dueAt func(*oauth.Token) time.Time) (*oauth.Token, *oauth.Identity) {
	u.mu.Lock()
	kept, ok := u.tokens[key]
	delete(u.tokens, key)
	u.mu.Unlock()
	if !ok || kept.uid != uid || kept.inputsHash != hash || !now.Before(dueAt(kept.token)) {
		return nil, nil
	}
	return kept.token, kept.identity
}

// forget drops what is kept for key (the credential is gone).
func (u *unwrittenTokens) forget(key types.NamespacedName) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.tokens, key)
}
