package oauthtest

import (
	"net/http"
	"slices"
	"strings"
)

// Keycloak-shaped paths: an issuer for realm vantage, its token endpoint
// (an alias of TokenPath, sharing its clients and counts) and the two
// places its discovery document is served.
const (
	IssuerPath          = "/realms/vantage"
	KeycloakTokenPath   = IssuerPath + "/protocol/openid-connect/token"
	OIDCDiscoveryPath   = IssuerPath + "/.well-known/openid-configuration"
	OAuthMetadataPath   = "/.well-known/oauth-authorization-server" + IssuerPath
	keycloakAuthMethods = "private_key_jwt client_secret_basic client_secret_post tls_client_auth client_secret_jwt"
)

// discovery is what the discovery document says; Server.mu guards it.
type discovery struct {
	advertised  string // "" means IssuerURL
	oidcMissing bool
	methods     []string
	methodsSet  bool
}

// IssuerURL is the Keycloak-shaped issuer, such as
// http://127.0.0.1:41234/realms/vantage.
func (s *Server) IssuerURL() string { return s.srv.URL + IssuerPath }

// SetAdvertisedIssuer makes the discovery document name issuer instead of
// IssuerURL, as Keycloak reached through an in-cluster address names its
// public one; "" restores IssuerURL.
func (s *Server) SetAdvertisedIssuer(issuer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discovery.advertised = issuer
}

// SetOIDCDiscoveryMissing makes OIDCDiscoveryPath answer 404, as a plain
// OAuth2 server does, so a client must fall back to OAuthMetadataPath.
func (s *Server) SetOIDCDiscoveryMissing(missing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discovery.oidcMissing = missing
}

// SetAuthMethods sets token_endpoint_auth_methods_supported; nil leaves
// the field out. Until it is called, the document lists Keycloak's methods.
func (s *Server) SetAuthMethods(methods []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discovery.methods, s.discovery.methodsSet = slices.Clone(methods), true
}

// serveDiscovery answers the discovery paths, and 404 to any other path.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d := s.discovery
	s.mu.Unlock()
	if r.URL.Path != OAuthMetadataPath && (r.URL.Path != OIDCDiscoveryPath || d.oidcMissing) {
		WriteError(w, http.StatusNotFound, "invalid_request", "no such endpoint")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		WriteError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET")
		return
	}
	doc := map[string]any{
		"issuer":                s.IssuerURL(),
		"token_endpoint":        s.srv.URL + KeycloakTokenPath,
		"grant_types_supported": []string{"client_credentials"},
	}
	if d.advertised != "" {
		doc["issuer"] = d.advertised
	}
	switch {
	case !d.methodsSet:
		doc["token_endpoint_auth_methods_supported"] = strings.Fields(keycloakAuthMethods)
	case d.methods != nil:
		doc["token_endpoint_auth_methods_supported"] = d.methods
	}
	writeJSON(w, http.StatusOK, doc)
}
