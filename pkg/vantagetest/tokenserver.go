package vantagetest

import (
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// TokenServer is a fake Vantage on 127.0.0.1: an OAuth2 token endpoint for
// the client-credentials grant, issuing JWTs, and the API's
// /v1/auth/test. It is the server the operator's own tests use.
type TokenServer struct {
	s *oauthtest.Server
}

// NewTokenServer starts a token server; Close stops it.
func NewTokenServer() *TokenServer {
	return &TokenServer{s: oauthtest.NewServer()}
}

// Close stops the server.
func (t *TokenServer) Close() { t.s.Close() }

// TokenURL is its token endpoint.
func (t *TokenServer) TokenURL() string { return t.s.TokenURL() }

// APIURL is the Vantage API it stands for, written as VANTAGE_API_URL.
func (t *TokenServer) APIURL() string { return t.s.URL() }

// AddClient registers a service account. Its tokens live for lifetime (an
// hour when zero); a short one lets a test see refreshes.
func (t *TokenServer) AddClient(id, secret string, lifetime time.Duration) {
	t.s.AddClient(oauthtest.Client{ID: id, Secret: secret, Lifetime: lifetime})
}

// Requests counts the token requests a client made.
func (t *TokenServer) Requests(clientID string) int { return t.s.RequestsFor(clientID) }

// IssuedTokens are every access token issued so far, oldest first.
func (t *TokenServer) IssuedTokens() []string { return t.s.IssuedTokens() }
