package oauth_test

import (
	"crypto/ecdsa"
	"fmt"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

func TestRequestFormat(t *testing.T) {
	req := oauth.Request{
		TokenURL:     "https://auth.example.com/oauth/token",
		ClientID:     "svc-client",
		ClientSecret: "not-to-be-printed",
		Scopes:       []string{"jobs:read"},
		Audience:     "https://apis.example.com",
	}
	tests := []struct {
		verb string
		want []string
	}{
		{"%v", []string{"svc-client", "https://auth.example.com/oauth/token", "jobs:read", "Auto", `ClientSecret: "[redacted]"`}},
		{"%+v", []string{"svc-client", "[redacted]"}},
		{"%s", []string{"svc-client", "[redacted]"}},
		{"%#v", []string{`oauth.Request{TokenURL:"https://auth.example.com/oauth/token", IssuerURL:"", ClientID:"svc-client", ClientSecret:"[redacted]"`, `Scopes:[]string{"jobs:read"}`, `AuthMethod:""`}},
		{"%q", []string{`"oauth.Request{`}},
		{"%d", []string{"%!d(oauth.Request)"}},
		{"%x", []string{"%!x(oauth.Request)"}},
	}
	for _, tt := range tests {
		for _, v := range []any{req, &req} {
			got := fmt.Sprintf(tt.verb, v)
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("Sprintf(%s) = %s, want it to hold %s", tt.verb, got, want)
				}
			}
			if strings.Contains(got, "not-to-be-printed") {
				t.Errorf("Sprintf(%s) = %s shows the secret", tt.verb, got)
			}
		}
	}
	if got := fmt.Sprint(oauth.Request{}); !strings.Contains(got, `ClientSecret: ""`) {
		t.Errorf("an empty secret shows as %s, want it visibly empty", got)
	}
}

func TestRequestFormatHidesThePrivateKey(t *testing.T) {
	key := signingKeys()[jose.ES256].(*ecdsa.PrivateKey)
	req := oauth.Request{TokenURL: "https://auth.example.com/oauth/token", ClientID: "svc-client", PrivateKey: key, KeyID: "k1"}
	secret := key.D.Text(16)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
		for _, v := range []any{req, &req} {
			got := fmt.Sprintf(verb, v)
			if strings.Contains(got, secret) || strings.Contains(got, key.D.String()) {
				t.Errorf("Sprintf(%s) = %s shows the private key", verb, got)
			}
		}
	}
	if got := fmt.Sprint(req); !strings.Contains(got, `PrivateKey: "[redacted]", KeyID: "k1"`) {
		t.Errorf("%s does not say a key is set", got)
	}
}

func TestTokenFormat(t *testing.T) {
	issued := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := &oauth.Token{
		AccessToken:    "not-to-be-printed",
		TokenType:      "Bearer",
		IssuedAt:       issued,
		Expiry:         issued.Add(time.Hour),
		LifetimeSource: oauth.LifetimeExpiresIn,
		Scopes:         []string{"a", "b"},
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
		for _, v := range []any{tok, *tok} {
			got := fmt.Sprintf(verb, v)
			if strings.Contains(got, "not-to-be-printed") {
				t.Errorf("Sprintf(%s) = %s shows the token", verb, got)
			}
		}
	}
	if got, want := tok.String(), `oauth.Token{TokenType: "Bearer", IssuedAt: 2030-01-02T03:04:05Z, Expiry: 2030-01-02T04:04:05Z, LifetimeSource: "expires_in", Scopes: ["a" "b"], AccessToken: "[redacted]"}`; got != want {
		t.Errorf("String() = %s\nwant       %s", got, want)
	}
	if got := fmt.Sprintf("%v", (*oauth.Token)(nil)); got != "<nil>" {
		t.Errorf("a nil token prints as %s", got)
	}
}
