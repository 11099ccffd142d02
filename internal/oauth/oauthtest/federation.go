package oauthtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Federation makes a client one that authenticates with a JWT another
// issuer signed, such as a Kubernetes ServiceAccount token, as Keycloak's
// federated client authentication does: the server trusts that issuer,
// fetches its public keys (a JWKS) and checks the assertion's signature,
// iss, sub, aud and exp.
type Federation struct {
	// Issuer is the iss the assertion must carry: for Kubernetes, the API
	// server's --service-account-issuer.
	Issuer string
	// JWKSURL serves the issuer's public keys (kube-apiserver:
	// /openid/v1/jwks). It must not be this server, whose lock is held
	// while the keys are fetched.
	JWKSURL string
	// CAPEM, when set, holds the only CAs trusted for JWKSURL.
	CAPEM []byte
	// Subject is the sub the assertion must carry, such as
	// system:serviceaccount:<namespace>:<name>.
	Subject string
}

// jwksTimeout bounds the fetch of an issuer's keys.
const jwksTimeout = 5 * time.Second

// checkFederatedLocked verifies a client assertion signed by the trusted
// issuer of client.Federation. Its keys are kept once read, as a token
// server caches them, and read again when an assertion does not verify
// with them, so a rotated key is trusted at once. s.mu is held.
func (s *Server) checkFederatedLocked(client Client, r *http.Request) error {
	fed := client.Federation
	if got := r.PostForm.Get("client_assertion_type"); got != jwtBearer {
		return fmt.Errorf("client_assertion_type %q is not %s", got, jwtBearer)
	}
	tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA})
	if err != nil {
		return errors.New("the client assertion is not a signed JWT")
	}
	var claims jwt.Claims
	// Keys read over one CA are not trusted by a client that names another.
	cacheKey := fed.JWKSURL + "\x00" + string(fed.CAPEM)
	if keys := s.jwks[cacheKey]; keys == nil || tok.Claims(keys, &claims) != nil {
		keys, err := fetchJWKS(r.Context(), fed.JWKSURL, fed.CAPEM)
		if err != nil {
			return fmt.Errorf("the trusted issuer's keys could not be read: %v", err)
		}
		s.jwks[cacheKey] = keys
		if err := tok.Claims(keys, &claims); err != nil {
			return errors.New("the client assertion's signature does not verify with the trusted issuer's keys")
		}
	}
	now := s.clock.Now()
	tokenURL := s.srv.URL + r.URL.Path
	switch {
	case claims.Issuer != fed.Issuer:
		return fmt.Errorf("the client assertion's iss %q is not the trusted issuer", claims.Issuer)
	case claims.Subject != fed.Subject:
		return fmt.Errorf("the client assertion's sub %q is not the client's subject", claims.Subject)
	case !slices.ContainsFunc(claims.Audience, func(a string) bool { return a == tokenURL || a == s.IssuerURL() }):
		return fmt.Errorf("the client assertion's aud %q names neither this token endpoint nor its issuer", claims.Audience)
	case claims.Expiry == nil || !now.Before(claims.Expiry.Time()):
		return errors.New("the client assertion has expired")
	case claims.NotBefore != nil && now.Before(claims.NotBefore.Time()):
		return errors.New("the client assertion is not valid yet")
	}
	if claims.ID == "" {
		return nil
	}
	return s.useJTILocked(claims.ID, claims.Expiry.Time(), now)
}

// fetchJWKS reads a JWK set, trusting only caPEM's CAs when it is set.
func fetchJWKS(ctx context.Context, url string, caPEM []byte) (*jose.JSONWebKeySet, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("the CA bundle holds no PEM certificate")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	ctx, cancel := context.WithTimeout(ctx, jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %s", url, resp.Status)
	}
	var keys jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&keys); err != nil {
		return nil, fmt.Errorf("GET %s: not a JWK set: %v", url, err)
	}
	return &keys, nil
}
