package oauthtest

import (
	"slices"
	"time"
)

// APIKey is a Vantage API key the fake API accepts at AuthTestPath.
type APIKey struct {
	Key, UserID string
	Scopes      []string
	// ExpiresAt nil: the key never expires (expires_at null).
	ExpiresAt *time.Time
}

// AddAPIKey registers an API key, replacing one with the same Key.
func (s *Server) AddAPIKey(k APIKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apiKeys == nil {
		s.apiKeys = make(map[string]APIKey)
	}
	k.Scopes = slices.Clone(k.Scopes)
	s.apiKeys[k.Key] = k
}

// RemoveAPIKey revokes an API key: it gets 401 from then on.
func (s *Server) RemoveAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.apiKeys, key)
}

// SetAuthTestMissing makes AuthTestPath answer 404, as an API without the
// endpoint does: API keys can then only be written unverified.
func (s *Server) SetAuthTestMissing(missing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authTestMissing = missing
}

// apiKeyAnswerLocked is the auth/test answer for an API key, if it is one
// that is registered and not expired; s.mu is held.
func (s *Server) apiKeyAnswerLocked(key string, now time.Time) (map[string]any, bool) {
	k, ok := s.apiKeys[key]
	if !ok || k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return nil, false
	}
	answer := map[string]any{"authenticated": true, "user_id": k.UserID, "scopes": k.Scopes, "expires_at": nil}
	if k.Scopes == nil {
		answer["scopes"] = []string{}
	}
	if k.ExpiresAt != nil {
		answer["expires_at"] = k.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return answer, true
}
