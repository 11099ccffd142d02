package serviceaccount

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// minRSABits is the smallest RSA key accepted for signing assertions, as
// RFC 7518 §3.3 requires for RS256.
const minRSABits = 2048

// parsePrivateKey reads private_key: PEM text (PKCS#8, PKCS#1 or SEC1) in a
// JSON string, or a JWK as a JSON object. It returns the key and the JWK's
// own kid, if any. Its errors say what is wrong with the key, never what it
// holds.
func parsePrivateKey(raw json.RawMessage) (crypto.Signer, string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '{':
		return parseJWK(raw)
	case len(raw) > 0 && raw[0] == '"':
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, "", errors.New("private_key is not a valid JSON string")
		}
		key, err := parsePEM([]byte(text))
		return key, "", err
	default:
		return nil, "", errors.New("private_key must be a PEM string or a JWK object")
	}
}

// parsePEM reads the first PEM block of text.
func parsePEM(text []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(text)
	if block == nil {
		return nil, errors.New("private_key holds no PEM block; expected -----BEGIN PRIVATE KEY-----")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, errors.New("private_key is an encrypted PEM key; store it unencrypted (the Secret is what protects it)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		return nil, fmt.Errorf("private_key holds a %s, not the private key", pemName(block.Type))
	default:
		return nil, fmt.Errorf("private_key is a PEM %q block; expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", truncate(block.Type, 40))
	}
	if err != nil {
		return nil, fmt.Errorf("private_key: the %s block does not parse", block.Type)
	}
	return usable(key)
}

func pemName(blockType string) string {
	if blockType == "CERTIFICATE" {
		return "certificate"
	}
	return "public key"
}

// parseJWK reads a private JWK.
func parseJWK(raw []byte) (crypto.Signer, string, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, "", errors.New("private_key is a JSON object but not a JWK that can be read (check kty, crv and the key members)")
	}
	if jwk.IsPublic() {
		return nil, "", errors.New("private_key is a public JWK; the private members (such as d) are missing")
	}
	key, err := usable(jwk.Key)
	return key, jwk.KeyID, err
}

// usable accepts the key types an assertion can be signed with: RSA of at
// least minRSABits, ECDSA on P-256, P-384 or P-521, and Ed25519.
func usable(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("private_key is a %d-bit RSA key; at least %d bits are needed", k.N.BitLen(), minRSABits)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, errors.New("private_key is an ECDSA key on a curve other than P-256, P-384 or P-521")
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("private_key is a %T key; expected RSA, ECDSA or Ed25519", key)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
