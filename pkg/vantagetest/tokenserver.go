package vantagetest

import (
	"context"
	"time"

	"k8s.io/client-go/rest"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/clusterissuer"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// IssuerDiscoveryBinding is the ClusterRoleBinding AddServiceAccountClient
// creates: it lets anyone read the cluster's service-account issuer and its
// public keys, as a token server must.
const IssuerDiscoveryBinding = clusterissuer.AnonymousBinding

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

// AddServiceAccountClient registers a service account that authenticates
// without a secret, with the tokens of the Kubernetes ServiceAccount
// namespace/name (a credential's spec.serviceAccountRef, with
// spec.clientID id), as a Keycloak federated client does. The server trusts
// the service-account issuer of the cluster cfg reaches and checks each
// token's signature, iss, sub, aud and expiry against it. Its tokens live
// for lifetime (an hour when zero).
//
// A token server reads the issuer's public keys without credentials, so
// this binds system:unauthenticated to the built-in
// system:service-account-issuer-discovery role (ClusterRoleBinding
// IssuerDiscoveryBinding), as a cluster publishing its issuer does. The
// ServiceAccount must also lend its tokens: see TokenSourceServiceAccount.
func (t *TokenServer) AddServiceAccountClient(ctx context.Context, cfg *rest.Config, id, namespace, name string, lifetime time.Duration) error {
	iss, err := clusterissuer.Publish(ctx, cfg)
	if err != nil {
		return err
	}
	t.s.AddClient(oauthtest.Client{ID: id, Lifetime: lifetime, Federation: &oauthtest.Federation{
		Issuer: iss.URL, JWKSURL: iss.JWKSURL, CAPEM: iss.CAPEM,
		Subject: "system:serviceaccount:" + namespace + ":" + name,
	}})
	return nil
}

// Requests counts the token requests a client made.
func (t *TokenServer) Requests(clientID string) int { return t.s.RequestsFor(clientID) }

// IssuedTokens are every access token issued so far, oldest first.
func (t *TokenServer) IssuedTokens() []string { return t.s.IssuedTokens() }
