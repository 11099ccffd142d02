package oauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer stands in for an external JWT issuer, such as a Kubernetes API
// server's service-account issuer, where the real one is not at hand: it
// serves its public key as a JWK set over HTTPS and signs JWTs with the
// private half.
type Issuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

// NewIssuer starts an issuer on a free port of 127.0.0.1 with a fresh
// 2048-bit RSA key. Close it when done.
func NewIssuer() (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	i := &Issuer{key: key, kid: "test-issuer-key"}
	i.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &i.key.PublicKey, KeyID: i.kid, Algorithm: string(jose.RS256), Use: "sig"}}})
	}))
	return i, nil
}

// Close stops the issuer.
func (i *Issuer) Close() { i.srv.Close() }

// URL is the issuer's own URL, its iss.
func (i *Issuer) URL() string { return i.srv.URL }

// JWKSURL serves the issuer's public key.
func (i *Issuer) JWKSURL() string { return i.srv.URL + "/openid/v1/jwks" }

// CAPEM is the certificate a client must trust to reach JWKSURL.
func (i *Issuer) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.srv.Certificate().Raw})
}

// Sign signs claims (and extra private claims, when not nil) as the
// issuer, with its kid.
func (i *Issuer) Sign(claims jwt.Claims, extra map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: i.key, KeyID: i.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	b := jwt.Signed(signer).Claims(claims)
	if extra != nil {
		b = b.Claims(extra)
	}
	return b.Serialize()
}
