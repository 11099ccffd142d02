package oauthtest_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

func TestDiscoveryDocument(t *testing.T) {
	keycloak := []any{"private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"}
	tests := []struct {
		name   string
		setup  func(*oauthtest.Server)
		path   string
		method string
		status int
		// issuer "" means the server's IssuerURL; methods nil means absent.
		issuer  string
		methods []any
		// issuerPath, when set, is the realm's issuer path, which also names
		// the token endpoint.
		issuerPath string
	}{
		{name: "OIDC path", path: oauthtest.OIDCDiscoveryPath, status: 200, methods: keycloak},
		{name: "RFC 8414 path", path: oauthtest.OAuthMetadataPath, status: 200, methods: keycloak},
		{name: "OIDC path switched off", setup: func(s *oauthtest.Server) { s.SetOIDCDiscoveryMissing(true) },
			path: oauthtest.OIDCDiscoveryPath, status: 404},
		{name: "RFC 8414 path still there with OIDC off", setup: func(s *oauthtest.Server) { s.SetOIDCDiscoveryMissing(true) },
			path: oauthtest.OAuthMetadataPath, status: 200, methods: keycloak},
		{name: "another advertised issuer", setup: func(s *oauthtest.Server) { s.SetAdvertisedIssuer("https://sso.example/realms/vantage") },
			path: oauthtest.OIDCDiscoveryPath, status: 200, issuer: "https://sso.example/realms/vantage", methods: keycloak},
		{name: "auth methods set", setup: func(s *oauthtest.Server) { s.SetAuthMethods([]string{"client_secret_post"}) },
			path: oauthtest.OIDCDiscoveryPath, status: 200, methods: []any{"client_secret_post"}},
		{name: "auth methods left out", setup: func(s *oauthtest.Server) { s.SetAuthMethods(nil) },
			path: oauthtest.OIDCDiscoveryPath, status: 200},
		{name: "POST refused", path: oauthtest.OIDCDiscoveryPath, method: http.MethodPost, status: 405},
		{name: "another realm has its own issuer", path: "/realms/other/.well-known/openid-configuration", status: 200, issuerPath: "/realms/other", methods: keycloak},
		{name: "a nested path is no realm", path: "/realms/a/b/.well-known/openid-configuration", status: 404},
		{name: "other paths are 404", path: "/oauth/.well-known/openid-configuration", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			req, err := http.NewRequest(tt.method, s.URL()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			status, body := do(t, req)
			if status != tt.status {
				t.Fatalf("status %d, want %d (%v)", status, tt.status, body)
			}
			if status != 200 {
				return
			}
			issuer, tokenURL := tt.issuer, s.URL()+oauthtest.KeycloakTokenPath
			switch {
			case tt.issuerPath != "":
				issuer, tokenURL = s.URL()+tt.issuerPath, s.URL()+tt.issuerPath+"/protocol/openid-connect/token"
			case issuer == "":
				issuer = s.IssuerURL()
			}
			if body["issuer"] != issuer || body["token_endpoint"] != tokenURL {
				t.Errorf("issuer %v, token_endpoint %v; want %s, %s", body["issuer"], body["token_endpoint"], issuer, tokenURL)
			}
			methods, listed := body["token_endpoint_auth_methods_supported"]
			if tt.methods == nil && listed || tt.methods != nil && !reflect.DeepEqual(methods, tt.methods) {
				t.Errorf("token_endpoint_auth_methods_supported %v (listed: %v), want %v", methods, listed, tt.methods)
			}
		})
	}
}

func TestKeycloakTokenPathIsTheTokenEndpoint(t *testing.T) {
	s, _ := newServer(t, oauthtest.Client{ID: "svc", Secret: "s3cret"})
	req, err := http.NewRequest(http.MethodPost, s.URL()+oauthtest.KeycloakTokenPath,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "client_id": {"svc"}, "client_secret": {"s3cret"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body := do(t, req)
	if status != 200 || body["access_token"] == nil {
		t.Fatalf("status %d, body %v: want a token", status, body)
	}
	if s.Requests() != 1 || s.RequestsFor("svc") != 1 {
		t.Errorf("counts %d, %d; want the alias counted as a token request", s.Requests(), s.RequestsFor("svc"))
	}
}
