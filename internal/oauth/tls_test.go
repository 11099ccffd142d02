package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

func TestTLSWithAPrivateCA(t *testing.T) {
	srv := oauthtest.NewTLSServer()
	t.Cleanup(srv.Close)
	srv.AddClient(oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	c := oauth.NewClient(oauth.Options{})

	tests := []struct {
		name     string
		caPEM    []byte
		insecure bool
		// wantCode is "" for success.
		wantCode, wantWords string
		wantSent            bool
	}{
		{"system roots do not know the private CA", nil, false, "tls_error", "certificate is not trusted", false},
		{"the server's CA", srv.CAPEM(), false, "", "", true},
		{"another CA", otherCA(t), false, "tls_error", "certificate is not trusted", false},
		{"not PEM", []byte("-----BEGIN NOTHING-----"), false, "invalid_request", "no PEM certificate", false},
		{"verification off", nil, true, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Requests()
			req := oauth.Request{TokenURL: srv.TokenURL(), ClientID: "svc", ClientSecret: "s3cret-value",
				CAPEM: tt.caPEM, InsecureSkipVerify: tt.insecure}
			tok, err := c.Exchange(context.Background(), req)
			if tt.wantCode == "" {
				if err != nil || tok.AccessToken == "" {
					t.Fatalf("Exchange = %v, %v; want a token", tok, err)
				}
			} else {
				e := oauthError(t, err)
				if e.Code != tt.wantCode || e.Kind != oauth.Terminal || !strings.Contains(e.Description, tt.wantWords) {
					t.Errorf("error %s %s %q, want Terminal %s saying %q", e.Kind, e.Code, e.Description, tt.wantCode, tt.wantWords)
				}
				if strings.Contains(e.Error(), "s3cret-value") {
					t.Errorf("error %q holds the secret", e.Error())
				}
			}
			if sent := srv.Requests() > before; sent != tt.wantSent {
				t.Errorf("request reached the server: %v, want %v", sent, tt.wantSent)
			}
		})
	}
}

// otherCA is the PEM certificate of a fresh CA that signed nothing.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
