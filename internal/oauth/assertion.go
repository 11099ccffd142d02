package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwtBearer is the client_assertion_type of RFC 7523 §2.2.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: long enough
// for clock skew and a slow server, short enough that a captured one is
// soon worthless (the server also refuses a jti it has seen).
const assertionLifetime = time.Minute

// clientAssertion signs a fresh private_key_jwt assertion (RFC 7523 §3,
// OIDC Core §9) for one attempt: iss = sub = the client id, aud = the
// issuer or else the token URL, a random jti never used before, iat now and
// exp a minute on.
func (c *Client) clientAssertion(req Request) (string, error) {
	alg, err := signatureAlgorithm(req.PrivateKey)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: req.PrivateKey, KeyID: req.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("no signer for the %s key", alg)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("no randomness for the jti: %w", err)
	}
	now := c.clock.Now()
	aud := req.AssertionAudience
	if aud == "" {
		aud = req.TokenURL
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:   req.ClientID,
		Subject:  req.ClientID,
		Audience: jwt.Audience{aud}, // one audience marshals as a plain string
		ID:       base64.RawURLEncoding.EncodeToString(jti),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
	}).Serialize()
}

// signatureAlgorithm is the JWS algorithm a key signs with: RS256 for RSA,
// ES256/384/512 by the ECDSA curve, EdDSA for Ed25519.
func signatureAlgorithm(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return jose.RS256, nil
	case *ecdsa.PrivateKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return jose.ES256, nil
		case 384:
			return jose.ES384, nil
		case 521:
			return jose.ES512, nil
		}
	case ed25519.PrivateKey:
		return jose.EdDSA, nil
	}
	return "", fmt.Errorf("a %T private key cannot sign a client assertion", key)
}
