package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
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

// codeAssertionFailed: Request.Assertion gave no assertion and did not say
// why in an *AssertionError. Transient.
const codeAssertionFailed = "assertion_failed"

// AssertionError is how Request.Assertion reports a failure to make an
// assertion: whether retrying can help, a code for the caller's reasons
// and a description safe to show, which becomes the *Error of the exchange.
type AssertionError struct {
	Kind        Kind
	Code        string
	Description string
}

func (e *AssertionError) Error() string { return e.Description }

// assertionFor is the client assertion of one attempt: made by
// req.Assertion, else signed with req.PrivateKey. The audience is the
// issuer when known, else the token URL.
func (c *Client) assertionFor(ctx context.Context, req Request) (string, *Error) {
	if req.Assertion == nil {
		assertion, err := c.clientAssertion(req)
		if err != nil {
			return "", invalidInput("the client assertion could not be signed: " + err.Error())
		}
		return assertion, nil
	}
	assertion, err := req.Assertion(ctx, assertionAudience(req))
	var ae *AssertionError
	switch {
	case errors.As(err, &ae):
		return "", &Error{Kind: ae.Kind, Code: ae.Code, Description: ae.Description, cause: ae, assertion: true}
	case err != nil:
		// Its text is the caller's and could hold anything: not shown.
		return "", &Error{Kind: Transient, Code: codeAssertionFailed, Description: "no client assertion could be made", cause: err, assertion: true}
	case assertion == "":
		return "", &Error{Kind: Transient, Code: codeAssertionFailed, Description: "the client assertion is empty", assertion: true}
	}
	return assertion, nil
}

// assertionAudience is the aud a client assertion names: the issuer when
// known, else the token URL.
func assertionAudience(req Request) string {
	if req.AssertionAudience != "" {
		return req.AssertionAudience
	}
	return req.TokenURL
}

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
	aud := assertionAudience(req)
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
