package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func mustKey[T any](k T, err error) T {
	if err != nil {
		panic(err)
	}
	return k
}

// keys are generated once: RSA generation is slow.
var (
	rsaKey     = mustKey(rsa.GenerateKey(rand.Reader, 2048))
	weakRSAKey = mustKey(rsa.GenerateKey(rand.Reader, 1024))
	p256Key    = mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	p384Key    = mustKey(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	p521Key    = mustKey(ecdsa.GenerateKey(elliptic.P521(), rand.Reader))
	p224Key    = mustKey(ecdsa.GenerateKey(elliptic.P224(), rand.Reader))
	_, edKey   = mustPair(ed25519.GenerateKey(rand.Reader))
)

func mustPair(pub ed25519.PublicKey, priv ed25519.PrivateKey, err error) (ed25519.PublicKey, ed25519.PrivateKey) {
	if err != nil {
		panic(err)
	}
	return pub, priv
}

func pemOf(blockType string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}))
}

func pkcs8(k any) string { return pemOf("PRIVATE KEY", mustKey(x509.MarshalPKCS8PrivateKey(k))) }

func jwkJSON(k any, kid string) json.RawMessage {
	return mustKey(json.Marshal(jose.JSONWebKey{Key: k, KeyID: kid}))
}

// keyFileWith is a key file holding privateKey (a JSON value) and key_id.
func keyFileWith(privateKey json.RawMessage, extra string) []byte {
	return []byte(`{"client_id":"ci","key_id":"k1","private_key":` + string(privateKey) + extra + `}`)
}

func jsonString(s string) json.RawMessage { return mustKey(json.Marshal(s)) }

func TestParsePrivateKey(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		want    crypto.PublicKey // the public half of the key expected
		wantKID string
		msg     string // for a refusal: words the message must hold
	}{
		{name: "PKCS#8 RSA", file: keyFileWith(jsonString(pkcs8(rsaKey)), ""), want: &rsaKey.PublicKey, wantKID: "k1"},
		{name: "PKCS#1 RSA", file: keyFileWith(jsonString(pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))), ""), want: &rsaKey.PublicKey, wantKID: "k1"},
		{name: "PKCS#8 P-256", file: keyFileWith(jsonString(pkcs8(p256Key)), ""), want: &p256Key.PublicKey, wantKID: "k1"},
		{name: "SEC1 P-384", file: keyFileWith(jsonString(pemOf("EC PRIVATE KEY", mustKey(x509.MarshalECPrivateKey(p384Key)))), ""), want: &p384Key.PublicKey, wantKID: "k1"},
		{name: "SEC1 P-521", file: keyFileWith(jsonString(pemOf("EC PRIVATE KEY", mustKey(x509.MarshalECPrivateKey(p521Key)))), ""), want: &p521Key.PublicKey, wantKID: "k1"},
		{name: "PKCS#8 Ed25519", file: keyFileWith(jsonString(pkcs8(edKey)), ""), want: edKey.Public(), wantKID: "k1"},
		{name: "JWK with its own kid, which wins", file: keyFileWith(jwkJSON(p256Key, "jwk-kid"), ""), want: &p256Key.PublicKey, wantKID: "jwk-kid"},
		{name: "JWK without kid takes key_id", file: keyFileWith(jwkJSON(rsaKey, ""), ""), want: &rsaKey.PublicKey, wantKID: "k1"},
		{name: "JWK Ed25519", file: keyFileWith(jwkJSON(edKey, ""), ""), want: edKey.Public(), wantKID: "k1"},
		{name: "PEM with text around it", file: keyFileWith(jsonString("issued 2026\n"+pkcs8(p256Key)+"\n"), ""), want: &p256Key.PublicKey, wantKID: "k1"},

		{name: "encrypted PKCS#8", file: keyFileWith(jsonString(pemOf("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3})), ""), msg: "encrypted PEM key"},
		{name: "encrypted legacy PEM", file: keyFileWith(jsonString("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), ""), msg: "encrypted PEM key"},
		{name: "a public key PEM", file: keyFileWith(jsonString(pemOf("PUBLIC KEY", mustKey(x509.MarshalPKIXPublicKey(&p256Key.PublicKey)))), ""), msg: "holds a public key, not the private key"},
		{name: "a public JWK", file: keyFileWith(jwkJSON(&p256Key.PublicKey, "k"), ""), msg: "public JWK"},
		{name: "a JWK that does not parse", file: keyFileWith(json.RawMessage(`{"kty":"EC","crv":"P-256","d":"!"}`), ""), msg: "not a JWK that can be read"},
		{name: "no PEM block", file: keyFileWith(jsonString("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), ""), msg: "no PEM block"},
		{name: "a broken PEM body", file: keyFileWith(jsonString(pemOf("PRIVATE KEY", []byte("not DER"))), ""), msg: "PRIVATE KEY block does not parse"},
		{name: "a PEM of another kind", file: keyFileWith(jsonString(pemOf("DH PARAMETERS", []byte{1})), ""), msg: `PEM "DH PARAMETERS" block`},
		{name: "a weak RSA key", file: keyFileWith(jsonString(pkcs8(weakRSAKey)), ""), msg: "1024-bit RSA key; at least 2048"},
		{name: "P-224", file: keyFileWith(jsonString(pemOf("EC PRIVATE KEY", mustKey(x509.MarshalECPrivateKey(p224Key)))), ""), msg: "curve other than"},
		{name: "a number", file: keyFileWith(json.RawMessage(`42`), ""), msg: "PEM string or a JWK object"},
		{name: "both client_secret and private_key", file: keyFileWith(jsonString(pkcs8(p256Key)), `,"client_secret":"s"`), msg: "holds both client_secret and private_key: remove"},
		{name: "no client_id", file: []byte(`{"private_key":` + string(jsonString(pkcs8(p256Key))) + `}`), msg: "client_id must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(map[string][]byte{DefaultKey: tt.file}, "")
			if tt.msg != "" {
				perr, ok := err.(*Error)
				if !ok || perr.Reason != ReasonInvalidKey || !strings.Contains(perr.Message, tt.msg) {
					t.Fatalf("Parse error = %v, want InvalidServiceAccountKey containing %q", err, tt.msg)
				}
				if strings.Contains(perr.Message, "MII") || strings.Contains(perr.Message, "AAAA") {
					t.Errorf("the message quotes the key: %q", perr.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.PrivateKey == nil || got.ClientSecret != "" || got.ClientID != "ci" || got.KeyID != tt.wantKID {
				t.Fatalf("Parse = %v", got)
			}
			if pub, ok := got.PrivateKey.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(tt.want) {
				t.Errorf("the parsed key is not the one written")
			}
		})
	}
}

func TestParsePlainPrivateKey(t *testing.T) {
	got, err := Parse(map[string][]byte{
		ClientIDKey:   []byte("ci"),
		PrivateKeyKey: []byte(pkcs8(p256Key)),
		KeyIDKey:      []byte("k2\n"),
	}, "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.PrivateKey == nil || got.KeyID != "k2" || !got.PrivateKey.Public().(*ecdsa.PublicKey).Equal(&p256Key.PublicKey) {
		t.Errorf("Parse = %v", got)
	}
}

func TestPrivateKeyNeverPrinted(t *testing.T) {
	pemText := pkcs8(p256Key)
	got, err := Parse(map[string][]byte{DefaultKey: keyFileWith(jsonString(pemText), "")}, "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	d := p256Key.D.Text(16)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, got)
		if !strings.Contains(out, "PrivateKey:[redacted]") || strings.Contains(out, d) || strings.Contains(out, "BEGIN") {
			t.Errorf("%s prints %q", verb, out)
		}
	}
}
