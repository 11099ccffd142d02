package oauthtest

import (
	"net/http"
	"slices"
	"strings"
)

// Keycloak-shaped paths: an issuer for realm vantage, its token endpoint
// (an alias of TokenPath, sharing its clients and counts) and the two
// places its discovery document is served. Every other realm is served
// the same way (RealmIssuerURL), so tests can each have an issuer of their
// own and no discovery cache between them.
const (
	IssuerPath          = realmsPath + "vantage"
	KeycloakTokenPath   = IssuerPath + keycloakTokenSuffix
	OIDCDiscoveryPath   = IssuerPath + oidcSuffix
	OAuthMetadataPath   = rfc8414Prefix + IssuerPath
	keycloakAuthMethods = "private_key_jwt client_secret_basic client_secret_post tls_client_auth client_secret_jwt"

	realmsPath          = "/realms/"
	keycloakTokenSuffix = "/protocol/openid-connect/token"
	oidcSuffix          = "/.well-known/openid-configuration"
	rfc8414Prefix       = "/.well-known/oauth-authorization-server"
)

// realmOf reads a realm's token path: the issuer path, and whether path is
// one.
func realmOf(path string) (issuerPath string, ok bool) {
	issuerPath, ok = strings.CutSuffix(path, keycloakTokenSuffix)
	return issuerPath, ok && isRealm(issuerPath)
}

// isRealm says whether p is /realms/<name>, one segment.
func isRealm(p string) bool {
	name, ok := strings.CutPrefix(p, realmsPath)
	return ok && name != "" && !strings.Contains(name, "/")
}

// discoveryIssuerPath is the issuer path a discovery request asks about,
// and whether it is one the server serves (OIDC unless turned off).
func discoveryIssuerPath(path string, oidcMissing bool) (string, bool) {
	if p, ok := strings.CutPrefix(path, rfc8414Prefix); ok && isRealm(p) {
		return p, true
	}
	if p, ok := strings.CutSuffix(path, oidcSuffix); ok && isRealm(p) && !oidcMissing {
		return p, true
	}
	return "", false
}

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

// RealmIssuerURL is the issuer of another realm, with its own discovery
// document and token endpoint on this server.
func (s *Server) RealmIssuerURL(realm string) string { return s.srv.URL + realmsPath + realm }

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
	issuerPath, ok := discoveryIssuerPath(r.URL.Path, d.oidcMissing)
	if !ok {
		WriteError(w, http.StatusNotFound, "invalid_request", "no such endpoint")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		WriteError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET")
		return
	}
	doc := map[string]any{
		"issuer":                s.srv.URL + issuerPath,
		"token_endpoint":        s.srv.URL + issuerPath + keycloakTokenSuffix,
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
