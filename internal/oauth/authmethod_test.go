package oauth_test

import (
	"strings"
	"testing"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

func TestChooseAuthMethod(t *testing.T) {
	keycloak := []string{"private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"}
	tests := []struct {
		name       string
		supported  []string
		privateKey bool
		requested  oauth.AuthMethod
		want       oauth.AuthMethod
		// wantCode is "" for success; wantWords must then be in the message.
		wantCode  string
		wantWords []string
	}{
		{name: "auto, secret, nothing listed: keep trying basic then post", requested: oauth.AuthAuto, want: oauth.AuthAuto},
		{name: "empty method means auto", want: oauth.AuthAuto},
		{name: "auto, secret, empty list is as absent", supported: []string{}, requested: oauth.AuthAuto, want: oauth.AuthAuto},
		{name: "auto, secret, Keycloak's list: basic", supported: keycloak, requested: oauth.AuthAuto, want: oauth.AuthBasic},
		{name: "auto, secret, basic only", supported: []string{"client_secret_basic"}, requested: oauth.AuthAuto, want: oauth.AuthBasic},
		{name: "auto, secret, post only", supported: []string{"client_secret_post"}, requested: oauth.AuthAuto, want: oauth.AuthPost},
		{name: "auto, secret, post among non-secret methods", supported: []string{"private_key_jwt", "client_secret_post"}, requested: oauth.AuthAuto, want: oauth.AuthPost},
		{name: "auto, secret, no secret method listed", supported: []string{"private_key_jwt", "tls_client_auth"}, requested: oauth.AuthAuto,
			wantCode: "auth_method_unsupported", wantWords: []string{"private_key_jwt, tls_client_auth", "client_secret_basic or client_secret_post"}},
		{name: "auto, private key, nothing listed", privateKey: true, requested: oauth.AuthAuto, want: oauth.AuthPrivateKeyJWT},
		{name: "auto, private key, listed", supported: keycloak, privateKey: true, want: oauth.AuthPrivateKeyJWT},
		{name: "auto, private key, not listed", supported: []string{"client_secret_basic"}, privateKey: true, requested: oauth.AuthAuto,
			wantCode: "auth_method_unsupported", wantWords: []string{"supports only client_secret_basic", "private_key_jwt (PrivateKeyJWT)"}},
		{name: "basic, listed", supported: keycloak, requested: oauth.AuthBasic, want: oauth.AuthBasic},
		{name: "basic, nothing listed", requested: oauth.AuthBasic, want: oauth.AuthBasic},
		{name: "basic, not listed", supported: []string{"client_secret_post"}, requested: oauth.AuthBasic,
			wantCode: "auth_method_unsupported", wantWords: []string{"supports only client_secret_post", "client_secret_basic (ClientSecretBasic)"}},
		{name: "post, listed", supported: []string{"client_secret_post"}, requested: oauth.AuthPost, want: oauth.AuthPost},
		{name: "post, not listed", supported: []string{"client_secret_basic"}, requested: oauth.AuthPost,
			wantCode: "auth_method_unsupported", wantWords: []string{"client_secret_post (ClientSecretPost)"}},
		{name: "private key JWT, listed", supported: keycloak, privateKey: true, requested: oauth.AuthPrivateKeyJWT, want: oauth.AuthPrivateKeyJWT},
		{name: "private key JWT, not listed", supported: []string{"client_secret_post"}, privateKey: true, requested: oauth.AuthPrivateKeyJWT,
			wantCode: "auth_method_unsupported", wantWords: []string{"private_key_jwt"}},
		{name: "private key JWT without a key", requested: oauth.AuthPrivateKeyJWT,
			wantCode: "invalid_request", wantWords: []string{"needs a private key"}},
		{name: "a secret method with a key", privateKey: true, requested: oauth.AuthPost,
			wantCode: "invalid_request", wantWords: []string{"has a private key"}},
		{name: "unknown method", requested: "ClientSecretJWT",
			wantCode: "invalid_request", wantWords: []string{`"ClientSecretJWT"`}},
		{name: "the server's list is cleaned before it is quoted", supported: []string{"tls_client_auth\n\x1b[31mforged log line"}, requested: oauth.AuthAuto,
			wantCode: "auth_method_unsupported", wantWords: []string{"tls_client_auth [31mforged log line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oauth.ChooseAuthMethod(tt.supported, tt.privateKey, tt.requested)
			if tt.wantCode == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			e := oauthError(t, err)
			if e.Code != tt.wantCode || e.Kind != oauth.Terminal || got != "" {
				t.Fatalf("got %q, %s %s error %q; want a Terminal %s", got, e.Kind, e.Code, e.Description, tt.wantCode)
			}
			for _, w := range tt.wantWords {
				if !strings.Contains(e.Description, w) {
					t.Errorf("description %q lacks %q", e.Description, w)
				}
			}
		})
	}
}
