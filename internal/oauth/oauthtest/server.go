// Package oauthtest is a fake OAuth2 token server for tests: it issues
// client-credentials tokens to registered clients, answers the Vantage
// GET /v1/auth/test check, counts requests and lets a test script failures.
// It listens on 127.0.0.1 and is safe for concurrent use.
package oauthtest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"k8s.io/utils/clock"
)

// Paths the server answers.
const (
	TokenPath    = "/oauth/token"
	AuthTestPath = "/v1/auth/test"
	// StatsPath answers the request counts as JSON (Stats), for tests that
	// run the server in another process.
	StatsPath = "/fake/stats"
)

// Stats are the request counts StatsPath reports.
type Stats struct {
	Requests  int            `json:"requests"`
	PerClient map[string]int `json:"perClient"`
	Issued    int            `json:"issued"`
	// Checks counts auth/test requests, of API keys and tokens alike.
	Checks int `json:"checks"`
}

// Client is a registered OAuth2 client.
type Client struct {
	ID, Secret string
	// AllowedScopes, when not nil, are the only scopes the client may
	// request; another one is refused with 400 invalid_scope.
	AllowedScopes []string
	// Methods are the accepted auth methods, "basic" and "post"; nil means
	// both. Another method is refused like a wrong secret.
	Methods []string
	// PublicKey, when set, makes this a private_key_jwt client: it must
	// send a client assertion signed by the matching private key, with kid
	// KeyID when KeyID is set (see checkAssertion), and has no secret.
	PublicKey crypto.PublicKey
	KeyID     string
	// Federation, when set, makes this a client that authenticates with
	// a JWT another issuer signed (a Kubernetes ServiceAccount token), and
	// has no secret.
	Federation *Federation
	// BadSecretCode is the error for a wrong secret: "" means 401
	// invalid_client; another code, such as "unauthorized_client" to mimic
	// Keycloak, is sent with 400.
	BadSecretCode string
	// Lifetime, when not zero, replaces the server's lifetime for this
	// client's tokens, so tests with short-lived tokens do not disturb
	// others sharing the server.
	Lifetime time.Duration
}

// ExpiresInMode says how a token response states its lifetime.
type ExpiresInMode int

const (
	// ExpiresInNumber sends expires_in as a JSON number.
	ExpiresInNumber ExpiresInMode = iota
	// ExpiresInString sends expires_in as a JSON string, such as "3600".
	ExpiresInString
	// ExpiresInOmitted sends no expires_in; the JWT still has exp.
	ExpiresInOmitted
	// ExpiresInNone sends no expires_in and an opaque token, so the
	// lifetime cannot be known.
	ExpiresInNone
)

// Server is the fake token server.
type Server struct {
	srv *httptest.Server
	key []byte // signs tokens, so they look like the real thing

	mu        sync.Mutex
	clients   map[string]Client
	lifetime  time.Duration
	mode      ExpiresInMode
	granted   func(requested []string) []string
	intercept func(w http.ResponseWriter, r *http.Request) bool
	clock     clock.PassiveClock
	requests  int
	perClient map[string]int
	issued    []string
	tokens    map[string]issuedToken
	serial    uint64
	// jtis are the assertion ids seen, until their assertions expire.
	jtis map[string]time.Time
	// jwks are the trusted issuers' keys, by JWKS URL and CA, once read.
	jwks      map[string]*jose.JSONWebKeySet
	apiKeys   map[string]APIKey
	discovery discovery
	// checks counts auth/test requests by the credential they carry.
	checks map[string]int
	// authTestMissing: auth/test answers 404.
	authTestMissing bool
}

type issuedToken struct {
	clientID string
	scopes   []string
	expiry   time.Time
}

// NewServer starts a server on a free port of 127.0.0.1 with no clients, 1h
// tokens and expires_in as a number. Close it when done, for example with
// t.Cleanup(s.Close).
func NewServer() *Server {
	s := newServer()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// NewTLSServer is NewServer over HTTPS, with a certificate from a CA of its
// own (see CAPEM), as a token server with a private CA has.
func NewTLSServer() *Server {
	s := newServer()
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// CAPEM is the PEM certificate a client must trust to reach a server made by
// NewTLSServer.
func (s *Server) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// NewServerAt is NewServer on a given address, such as 127.0.0.1:8900, for
// the fake server run as a program (hack/fake-vantage).
func NewServerAt(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := newServer()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	_ = s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	return s, nil
}

func newServer() *Server {
	s := &Server{
		key:       make([]byte, 32),
		clients:   make(map[string]Client),
		lifetime:  time.Hour,
		clock:     clock.RealClock{},
		perClient: make(map[string]int),
		tokens:    make(map[string]issuedToken),
		jtis:      make(map[string]time.Time),
		jwks:      make(map[string]*jose.JSONWebKeySet),
	}
	_, _ = rand.Read(s.key) // never fails (crypto/rand panics instead)
	return s
}

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL, such as http://127.0.0.1:41234.
func (s *Server) URL() string { return s.srv.URL }

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.srv.URL + TokenPath }

// AddClient registers a client, replacing one with the same ID.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
}

// SetLifetime sets the lifetime of tokens issued from now on (default 1h).
// expires_in and exp are whole seconds, at least 1.
func (s *Server) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetExpiresInMode sets how responses state the lifetime.
func (s *Server) SetExpiresInMode(m ExpiresInMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// SetGrantedScopes overrides the scope field of responses: f gets the
// requested scopes and returns the granted ones, nil to omit the field. A nil
// f echoes the requested scopes, and omits the field when none were.
func (s *Server) SetGrantedScopes(f func(requested []string) []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.granted = f
}

// SetClock sets the clock for iat, exp and token validity (default the real
// clock), so tests with a fake clock get predictable claims.
func (s *Server) SetClock(c clock.PassiveClock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = c
}

// Intercept installs f in front of every request; when f returns true it has
// answered and the server does nothing more. The form is already parsed
// (read r.PostForm), and token requests are already counted. A nil f removes
// the interceptor.
func (s *Server) Intercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intercept = f
}

// Requests is the number of token requests received, failed ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// RequestsFor is the number of token requests that named clientID, in the
// Authorization header or the form.
func (s *Server) RequestsFor(clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perClient[clientID]
}

// IssuedTokens are all access tokens issued, oldest first.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// ChecksFor is the number of auth/test requests that carried credential
// (an API key or an access token).
func (s *Server) ChecksFor(credential string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checks[credential]
}

// ResetCounts zeroes Requests and RequestsFor; issued tokens stay valid.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = 0
	clear(s.perClient)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	_, realmToken := realmOf(r.URL.Path)
	isToken := r.URL.Path == TokenPath || realmToken
	if isToken {
		_ = r.ParseForm() // a malformed body is refused below as a missing grant_type
	}
	id, _, _ := credentials(r)
	s.mu.Lock()
	if isToken {
		s.requests++
		if id != "" {
			s.perClient[id]++
		}
	}
	intercept := s.intercept
	s.mu.Unlock()
	if intercept != nil && intercept(w, r) {
		return
	}
	switch r.URL.Path {
	case AuthTestPath:
		s.authTest(w, r)
	case StatsPath:
		s.mu.Lock()
		st := Stats{Requests: s.requests, PerClient: maps.Clone(s.perClient), Issued: len(s.issued)}
		for _, n := range s.checks {
			st.Checks += n
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
	default:
		if isToken {
			s.token(w, r)
			return
		}
		s.serveDiscovery(w, r)
	}
}

// credentials returns the client id, secret and auth method of a token
// request: "basic", "post", "private_key_jwt" (a client assertion in the
// form), "both" (the id is then the Basic one) or "" when there are none.
func credentials(r *http.Request) (id, secret, method string) {
	user, pass, basic := r.BasicAuth()
	post := r.PostForm.Has("client_id") || r.PostForm.Has("client_secret")
	switch {
	case r.PostForm.Has("client_assertion") && !basic && !r.PostForm.Has("client_secret"):
		return r.PostForm.Get("client_id"), "", "private_key_jwt"
	case basic && post:
		return formDecode(user), "", "both"
	case basic:
		return formDecode(user), formDecode(pass), "basic"
	case post:
		return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), "post"
	}
	return "", "", ""
}

// formDecode undoes the form-urlencoding RFC 6749 §2.3.1 applies to Basic
// credentials, leaving a string that is not validly encoded as it is.
func formDecode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		WriteError(w, http.StatusMethodNotAllowed, "invalid_request", "token requests must be POSTed")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		WriteError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported", gt))
		return
	}
	id, secret, method := credentials(r)
	switch method {
	case "both":
		WriteError(w, http.StatusBadRequest, "invalid_request", "more than one client authentication method")
		return
	case "":
		w.Header().Set("WWW-Authenticate", `Basic realm="oauthtest"`)
		WriteError(w, http.StatusUnauthorized, "invalid_client", "client authentication required")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	client, ok := s.clients[id]
	if !ok {
		WriteError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	if client.Federation != nil {
		if err := s.checkFederatedLocked(client, r); err != nil {
			WriteError(w, http.StatusBadRequest, "invalid_client", err.Error())
			return
		}
	} else if client.PublicKey != nil || method == "private_key_jwt" {
		// Keycloak answers every assertion it does not accept with 400.
		if err := s.checkAssertionLocked(client, r); err != nil {
			WriteError(w, http.StatusBadRequest, "invalid_client", err.Error())
			return
		}
	} else if secret != client.Secret || (client.Methods != nil && !slices.Contains(client.Methods, method)) {
		if client.BadSecretCode == "" || client.BadSecretCode == "invalid_client" {
			if method == "basic" {
				w.Header().Set("WWW-Authenticate", `Basic realm="oauthtest"`)
			}
			WriteError(w, http.StatusUnauthorized, "invalid_client", "Invalid client credentials")
			return
		}
		WriteError(w, http.StatusBadRequest, client.BadSecretCode, "Invalid client credentials")
		return
	}
	// Space-joined as RFC 6749 says, or comma-joined as Vantage documents.
	requested := strings.FieldsFunc(r.PostForm.Get("scope"), func(c rune) bool { return c == ' ' || c == ',' })
	for _, scope := range requested {
		if client.AllowedScopes != nil && !slices.Contains(client.AllowedScopes, scope) {
			WriteError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("scope %q is not allowed for this client", scope))
			return
		}
	}
	// Echoing "no scopes" would send scope "", which RFC 6749 §5.1 leaves
	// odd; a server that grants the defaults omits the field instead.
	var granted []string
	if s.granted != nil {
		granted = s.granted(slices.Clone(requested))
	} else if len(requested) > 0 {
		granted = requested
	}
	lifetime := s.lifetime
	if client.Lifetime != 0 {
		lifetime = client.Lifetime
	}
	writeJSON(w, http.StatusOK, s.issueLocked(id, granted, lifetime))
}

// issueLocked mints a token and its response body; s.mu is held.
func (s *Server) issueLocked(clientID string, granted []string, d time.Duration) map[string]any {
	s.serial++
	now := s.clock.Now()
	lifetime := max(int64(d/time.Second), 1)
	iat := now.Unix()
	exp := iat + lifetime
	scope := strings.Join(granted, " ")

	var token string
	if s.mode == ExpiresInNone {
		token = fmt.Sprintf("opaque-%d-%s", s.serial, hex.EncodeToString(s.sign(strconv.FormatUint(s.serial, 10))[:16]))
	} else {
		header := encodeSegment(map[string]any{"alg": "HS256", "typ": "JWT"})
		payload := encodeSegment(map[string]any{
			"sub": clientID, "scope": scope, "iat": iat, "exp": exp, "jti": strconv.FormatUint(s.serial, 10),
		})
		token = header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(s.sign(header+"."+payload))
	}
	s.issued = append(s.issued, token)
	s.tokens[token] = issuedToken{clientID: clientID, scopes: slices.Clone(granted), expiry: time.Unix(exp, 0)}

	body := map[string]any{"access_token": token, "token_type": "Bearer"}
	switch s.mode {
	case ExpiresInNumber:
		body["expires_in"] = lifetime
	case ExpiresInString:
		body["expires_in"] = strconv.FormatInt(lifetime, 10)
	}
	if granted != nil {
		body["scope"] = scope
	}
	return body
}

func (s *Server) sign(data string) []byte {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

func encodeSegment(v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// authTest answers as the Vantage API's GET /v1/auth/test does.
func (s *Server) authTest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		WriteError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET")
		return
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	if s.checks == nil {
		s.checks = make(map[string]int)
	}
	s.checks[token]++
	issued, ok := s.tokens[token]
	now := s.clock.Now()
	keyAnswer, isKey := s.apiKeyAnswerLocked(token, now)
	missing := s.authTestMissing
	s.mu.Unlock()
	if missing {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	if isKey && strings.EqualFold(scheme, "Bearer") {
		writeJSON(w, http.StatusOK, keyAnswer)
		return
	}
	if !strings.EqualFold(scheme, "Bearer") || !ok || !now.Before(issued.expiry) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		WriteError(w, http.StatusUnauthorized, "invalid_token", "The access token provided is invalid")
		return
	}
	scopes := issued.scopes
	if scopes == nil {
		scopes = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"authenticated": true,
		"user_id":       issued.clientID,
		"scopes":        scopes,
		"expires_at":    issued.expiry.UTC().Format(time.RFC3339),
	})
}

// WriteError writes an RFC 6749 §5.2 error response. Interceptors can use it
// to script failures.
func WriteError(w http.ResponseWriter, status int, code, description string) {
	body := map[string]string{"error": code}
	if description != "" {
		body["error_description"] = description
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client that hung up is not our problem
}
