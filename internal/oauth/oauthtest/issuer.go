package oauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer stands in for an external JWT issuer, such as a Kubernetes API
// server's service-account issuer, where the real one is not at hand: it
// serves its public key as a JWK set over HTTPS and signs JWTs with the
// private half.
type Issuer struct {
	srv *httptest.Server

	mu        sync.Mutex
	key       *rsa.PrivateKey
	kid       string
	rotations int
	fetches   int
}

// NewIssuer starts an issuer on a free port of 127.0.0.1 with a fresh
// 2048-bit RSA key. Close it when done.
func NewIssuer() (*Issuer, error) {
	i := &Issuer{}
	if err := i.Rotate(); err != nil {
		return nil, err
	}
	i.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i.mu.Lock()
		i.fetches++
		keys := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &i.key.PublicKey, KeyID: i.kid, Algorithm: string(jose.RS256), Use: "sig"}}}
		i.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(keys)
	}))
	return i, nil
}

// Rotate replaces the signing key with a fresh one under a new kid, as an
// issuer rotating its keys does: the JWK set then holds only the new one.
func (i *Issuer) Rotate() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.rotations++
	i.key, i.kid = key, fmt.Sprintf("test-issuer-key-%d", i.rotations)
	return nil
}

// Fetches is how many times the JWK set was read.
func (i *Issuer) Fetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.fetches
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
	i.mu.Lock()
	key, kid := i.key, i.kid
	i.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
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
