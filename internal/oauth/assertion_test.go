package oauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// signingKeys are generated once: RSA generation is slow.
var signingKeys = sync.OnceValue(func() map[jose.SignatureAlgorithm]crypto.Signer {
	must := func(k crypto.Signer, err error) crypto.Signer {
		if err != nil {
			panic(err)
		}
		return k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return map[jose.SignatureAlgorithm]crypto.Signer{
		jose.RS256: must(rsa.GenerateKey(rand.Reader, 2048)),
		jose.ES256: must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)),
		jose.ES384: must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)),
		jose.ES512: must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)),
		jose.EdDSA: ed,
	}
})

// keyRequest is a private_key_jwt request of client "svc" with key.
func (f *fixture) keyRequest(key crypto.Signer, kid string) oauth.Request {
	return oauth.Request{TokenURL: f.srv.TokenURL(), ClientID: "svc", PrivateKey: key, KeyID: kid}
}

// sentForms keeps the forms of the token requests the server receives.
func sentForms(f *fixture) func() []url.Values {
	var mu sync.Mutex
	var forms []url.Values
	f.srv.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if _, _, basic := r.BasicAuth(); basic {
			forms = append(forms, url.Values{"basic": {"sent"}})
		}
		forms = append(forms, r.PostForm)
		return false
	})
	return func() []url.Values {
		mu.Lock()
		defer mu.Unlock()
		return forms
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	for alg, key := range signingKeys() {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", PublicKey: key.Public(), KeyID: "k1"})
			forms := sentForms(f)
			tok, err := f.client.Exchange(context.Background(), f.keyRequest(key, "k1"))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.AccessToken == "" || f.srv.Requests() != 1 {
				t.Fatalf("token %v after %d requests", tok, f.srv.Requests())
			}
			sent := forms()
			if len(sent) != 1 || sent[0].Has("client_secret") || sent[0].Get("client_id") != "svc" {
				t.Fatalf("forms sent: %v", sent)
			}
			parsed, err := jwt.ParseSigned(sent[0].Get("client_assertion"), []jose.SignatureAlgorithm{alg})
			if err != nil {
				t.Fatalf("the assertion is not a %s JWS: %v", alg, err)
			}
			if h := parsed.Headers[0]; h.KeyID != "k1" || h.ExtraHeaders["typ"] != "JWT" {
				t.Errorf("header kid %q typ %v", h.KeyID, h.ExtraHeaders["typ"])
			}
			var claims jwt.Claims
			if err := parsed.Claims(key.Public(), &claims); err != nil {
				t.Fatalf("the signature does not verify: %v", err)
			}
			err = claims.ValidateWithLeeway(jwt.Expected{Issuer: "svc", Subject: "svc", AnyAudience: jwt.Audience{f.srv.TokenURL()}, Time: epoch}, 0)
			if err != nil {
				t.Errorf("claims %+v: %v", claims, err)
			}
			if !claims.IssuedAt.Time().Equal(epoch) || !claims.Expiry.Time().Equal(epoch.Add(time.Minute)) || len(claims.ID) < 16 {
				t.Errorf("iat %s exp %s jti %q; want the fake clock's now, a minute on, and a random id", claims.IssuedAt.Time(), claims.Expiry.Time(), claims.ID)
			}
		})
	}
}

// The aud is one string, and the issuer when the caller knows it.
func TestAssertionAudience(t *testing.T) {
	key := signingKeys()[jose.ES256]
	for _, aud := range []string{"", "https://auth.example/realms/vantage"} {
		f := newFixture(t, oauth.Options{})
		forms := sentForms(f)
		req := f.keyRequest(key, "")
		req.AssertionAudience = aud
		_, _ = f.client.Exchange(context.Background(), req) // the server knows no client svc
		payload := strings.Split(forms()[0].Get("client_assertion"), ".")[1]
		want := aud
		if want == "" {
			want = f.srv.TokenURL()
		}
		if raw := decodeSegment(t, payload); !strings.Contains(raw, fmt.Sprintf(`"aud":%q`, want)) {
			t.Errorf("payload %s, want aud the string %q", raw, want)
		}
	}
}

// decodeSegment decodes one base64url segment of a JWS.
func decodeSegment(t *testing.T, seg string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	return string(raw)
}

func TestEveryAttemptHasAFreshJTI(t *testing.T) {
	key := signingKeys()[jose.ES256]
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", PublicKey: key.Public()})
	seen := map[string]bool{}
	var mu sync.Mutex
	f.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		parsed, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256})
		if err == nil {
			var claims jwt.Claims
			if parsed.Claims(key.Public(), &claims) == nil {
				mu.Lock()
				seen[claims.ID] = true
				mu.Unlock()
			}
		}
		return respond(http.StatusServiceUnavailable, nil, "")(w, r)
	})
	for i := range 5 {
		req := f.keyRequest(key, "")
		req.Caller = fmt.Sprint(i) // retries by the same caller after a failure
		if _, err := f.client.Exchange(context.Background(), req); !strings.Contains(fmt.Sprint(err), "503") {
			t.Fatalf("Exchange: %v", err)
		}
	}
	if len(seen) != 5 {
		t.Errorf("%d distinct jti in 5 attempts", len(seen))
	}
}

func TestPrivateKeyJWTRefusals(t *testing.T) {
	keys := signingKeys()
	tests := []struct {
		name     string
		client   oauthtest.Client
		key      crypto.Signer
		kid      string
		wantDesc string
	}{
		{"another key", oauthtest.Client{ID: "svc", PublicKey: keys[jose.ES384].Public()}, keys[jose.ES256], "", "signature does not verify"},
		{"another kid", oauthtest.Client{ID: "svc", PublicKey: keys[jose.ES256].Public(), KeyID: "k2"}, keys[jose.ES256], "k1", `kid "k1"`},
		{"a secret client", oauthtest.Client{ID: "svc", Secret: "s3cret-value"}, keys[jose.ES256], "", "no key registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{}, tt.client)
			_, err := f.client.Exchange(context.Background(), f.keyRequest(tt.key, tt.kid))
			e := oauthError(t, err)
			if e.Kind != oauth.Terminal || e.Code != "invalid_client" || e.StatusCode != 400 || !strings.Contains(e.Description, tt.wantDesc) {
				t.Errorf("error %v, want Terminal 400 invalid_client saying %q", e, tt.wantDesc)
			}
			if f.srv.Requests() != 1 {
				t.Errorf("%d requests; an assertion is not retried with a secret", f.srv.Requests())
			}
		})
	}
}

func TestFakeServerRefusesAReplayedAssertion(t *testing.T) {
	key := signingKeys()[jose.ES256]
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", PublicKey: key.Public()})
	forms := sentForms(f)
	if _, err := f.client.Exchange(context.Background(), f.keyRequest(key, "")); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	resp, err := http.PostForm(f.srv.TokenURL(), forms()[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a replayed assertion got %d, want 400", resp.StatusCode)
	}
}

func TestAssertionNeverLeaks(t *testing.T) {
	key := signingKeys()[jose.ES256]
	f := newFixture(t, oauth.Options{})
	var assertion string
	f.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		assertion = r.PostForm.Get("client_assertion")
		oauthtest.WriteError(w, http.StatusBadRequest, "invalid_client", "bad assertion "+assertion+" sig="+strings.Split(assertion, ".")[2])
		return true
	})
	_, err := f.client.Exchange(context.Background(), f.keyRequest(key, "k1"))
	e := oauthError(t, err)
	signature := strings.Split(assertion, ".")[2]
	if strings.Contains(err.Error(), signature) || !strings.Contains(e.Description, "bad assertion [redacted]") {
		t.Errorf("message %q shows the assertion", err.Error())
	}
}
