package oauthtest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwtBearer is the client_assertion_type of RFC 7523 §2.2.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLifetime is the longest exp an assertion may carry, as
// Keycloak limits it.
const maxAssertionLifetime = 5 * time.Minute

// checkAssertionLocked verifies a private_key_jwt client assertion as a
// strict server does (RFC 7523 §3): the type, a signature by the client's
// key (and its kid), iss = sub = the client, aud naming this token endpoint
// or its issuer, a live exp not too far ahead, and a jti never seen
// before. s.mu is held.
func (s *Server) checkAssertionLocked(client Client, r *http.Request) error {
	if client.PublicKey == nil {
		return errors.New("the client has no key registered for private_key_jwt")
	}
	if got := r.PostForm.Get("client_assertion_type"); got != jwtBearer {
		return fmt.Errorf("client_assertion_type %q is not %s", got, jwtBearer)
	}
	tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{
		jose.RS256, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA})
	if err != nil {
		return errors.New("the client assertion is not a signed JWT")
	}
	if client.KeyID != "" && tok.Headers[0].KeyID != client.KeyID {
		return fmt.Errorf("the client assertion's kid %q is not the client's key", tok.Headers[0].KeyID)
	}
	var claims jwt.Claims
	if err := tok.Claims(client.PublicKey, &claims); err != nil {
		return errors.New("the client assertion's signature does not verify")
	}
	now := s.clock.Now()
	tokenURL := s.srv.URL + r.URL.Path
	switch {
	case claims.Issuer != client.ID || claims.Subject != client.ID:
		return errors.New("the client assertion's iss and sub must be the client id")
	case !slices.ContainsFunc(claims.Audience, func(a string) bool { return a == tokenURL || a == s.IssuerURL() }):
		return fmt.Errorf("the client assertion's aud %q names neither this token endpoint nor its issuer", claims.Audience)
	case claims.Expiry == nil || !now.Before(claims.Expiry.Time()):
		return errors.New("the client assertion has expired")
	case claims.Expiry.Time().After(now.Add(maxAssertionLifetime)):
		return errors.New("the client assertion's exp is too far ahead")
	case claims.ID == "":
		return errors.New("the client assertion has no jti")
	}
	return s.useJTILocked(claims.ID, claims.Expiry.Time(), now)
}

// useJTILocked refuses an assertion id seen before, and remembers this one
// until its assertion expires at exp; ids of expired assertions are
// forgotten. s.mu is held.
func (s *Server) useJTILocked(id string, exp, now time.Time) error {
	for jti, until := range s.jtis {
		if !now.Before(until) {
			delete(s.jtis, jti)
		}
	}
	if _, seen := s.jtis[id]; seen {
		return errors.New("the client assertion's jti was used before")
	}
	s.jtis[id] = exp
	return nil
}
