package oauth_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// keycloakMethods is what the fake server lists unless told otherwise.
var keycloakMethods = []string{"private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"}

// answer is a scripted response to one path.
type answer struct {
	status int
	header map[string]string
	body   string
}

// pathLog records the paths a fake server was asked for.
type pathLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *pathLog) add(p string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paths = append(l.paths, p)
}

func (l *pathLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.paths...)
}

// scripted records every path and answers those in answers itself,
// leaving the rest to the fake server.
func scripted(log *pathLog, answers map[string]answer) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		log.add(r.URL.Path)
		a, ok := answers[r.URL.Path]
		if !ok {
			return false
		}
		return respond(a.status, a.header, a.body)(w, r)
	}
}

// closedURL is an address nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

func TestDiscover(t *testing.T) {
	const (
		oidc    = "/.well-known/openid-configuration"
		rfc8414 = "/.well-known/oauth-authorization-server"
		public  = "https://sso.example/realms/vantage"
	)
	// keycloak is what discovering the fake server's issuer finds.
	keycloak := func(s *oauthtest.Server) oauth.Provider {
		return oauth.Provider{Issuer: s.IssuerURL(), TokenEndpoint: s.URL() + oauthtest.KeycloakTokenPath, AuthMethodsSupported: keycloakMethods}
	}
	// doc is a discovery document for the issuer base, with extra fields.
	doc := func(issuer, tokenEndpoint string) string {
		return jsonBody(map[string]any{"issuer": issuer, "token_endpoint": tokenEndpoint})
	}
	ok := func(body string) answer { return answer{200, map[string]string{"Content-Type": jsonType}, body} }
	bothPaths := []string{oauthtest.OIDCDiscoveryPath, oauthtest.OAuthMetadataPath}

	tests := []struct {
		name string
		// setup scripts the server; answers (given its base URL) override
		// its routes; req is the request, by default for its IssuerURL.
		setup   func(*oauthtest.Server)
		answers func(base string) map[string]answer
		req     func(*oauthtest.Server) oauth.DiscoveryRequest
		// want is the provider, or nil for the error described by
		// wantKind, wantCode and wantWords (with %s for the base URL).
		want      func(*oauthtest.Server) oauth.Provider
		wantKind  oauth.Kind
		wantCode  string
		wantWords []string
		wantPaths []string
	}{
		{name: "OIDC form", want: keycloak, wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "RFC 8414 form after a 404", setup: func(s *oauthtest.Server) { s.SetOIDCDiscoveryMissing(true) },
			want: keycloak, wantPaths: bothPaths},
		{name: "issuer without a path, OIDC form",
			answers: func(base string) map[string]answer { return map[string]answer{oidc: ok(doc(base, base+"/token"))} },
			req:     func(s *oauthtest.Server) oauth.DiscoveryRequest { return oauth.DiscoveryRequest{IssuerURL: s.URL()} },
			want: func(s *oauthtest.Server) oauth.Provider {
				return oauth.Provider{Issuer: s.URL(), TokenEndpoint: s.URL() + "/token"}
			},
			wantPaths: []string{oidc}},
		{name: "issuer without a path, RFC 8414 form",
			answers: func(base string) map[string]answer {
				return map[string]answer{oidc: {404, nil, ""}, rfc8414: ok(doc(base, base+"/token"))}
			},
			req: func(s *oauthtest.Server) oauth.DiscoveryRequest { return oauth.DiscoveryRequest{IssuerURL: s.URL()} },
			want: func(s *oauthtest.Server) oauth.Provider {
				return oauth.Provider{Issuer: s.URL(), TokenEndpoint: s.URL() + "/token"}
			},
			wantPaths: []string{oidc, rfc8414}},
		{name: "a trailing slash is dropped from the path, but the issuer must still match exactly",
			req: func(s *oauthtest.Server) oauth.DiscoveryRequest {
				return oauth.DiscoveryRequest{IssuerURL: s.IssuerURL() + "/"}
			},
			wantKind: oauth.Terminal, wantCode: "issuer_mismatch",
			wantWords: []string{`names the issuer "%s/realms/vantage", not "%s/realms/vantage/"`},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "an issuer with a trailing slash that the document names",
			setup: func(s *oauthtest.Server) { s.SetAdvertisedIssuer(s.IssuerURL() + "/") },
			req: func(s *oauthtest.Server) oauth.DiscoveryRequest {
				return oauth.DiscoveryRequest{IssuerURL: s.IssuerURL() + "/"}
			},
			want: func(s *oauthtest.Server) oauth.Provider {
				p := keycloak(s)
				p.Issuer += "/"
				return p
			},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "issuer mismatch names both issuers",
			setup:    func(s *oauthtest.Server) { s.SetAdvertisedIssuer(public) },
			wantKind: oauth.Terminal, wantCode: "issuer_mismatch",
			wantWords: []string{`"` + public + `"`, `"%s/realms/vantage"`, "%s" + oauthtest.OIDCDiscoveryPath},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "expectedIssuer accepts the issuer it names",
			setup: func(s *oauthtest.Server) { s.SetAdvertisedIssuer(public) },
			req: func(s *oauthtest.Server) oauth.DiscoveryRequest {
				return oauth.DiscoveryRequest{IssuerURL: s.IssuerURL(), ExpectedIssuer: public}
			},
			want: func(s *oauthtest.Server) oauth.Provider {
				p := keycloak(s)
				p.Issuer = public
				return p
			},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "expectedIssuer accepts only the issuer it names",
			req: func(s *oauthtest.Server) oauth.DiscoveryRequest {
				return oauth.DiscoveryRequest{IssuerURL: s.IssuerURL(), ExpectedIssuer: public}
			},
			wantKind: oauth.Terminal, wantCode: "issuer_mismatch",
			wantWords: []string{`names the issuer "%s/realms/vantage", not "` + public + `"`},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "the advertised issuer is cleaned before it is quoted",
			setup:    func(s *oauthtest.Server) { s.SetAdvertisedIssuer("https://evil.example/\n\x1b[2Jforged") },
			wantKind: oauth.Terminal, wantCode: "issuer_mismatch",
			wantWords: []string{`"https://evil.example/ [2Jforged"`},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "no auth methods listed",
			setup: func(s *oauthtest.Server) { s.SetAuthMethods(nil) },
			want: func(s *oauthtest.Server) oauth.Provider {
				p := keycloak(s)
				p.AuthMethodsSupported = nil
				return p
			},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "404 at both locations",
			setup:    func(s *oauthtest.Server) { s.SetOIDCDiscoveryMissing(true) },
			answers:  func(string) map[string]answer { return map[string]answer{oauthtest.OAuthMetadataPath: {404, nil, ""}} },
			wantKind: oauth.Transient, wantCode: "discovery_failed",
			wantWords: []string{"GET %s" + oauthtest.OIDCDiscoveryPath + " and GET %s" + oauthtest.OAuthMetadataPath + " answered 404"},
			wantPaths: bothPaths},
		{name: "a 5xx is not a 404: no fallback",
			answers:  func(string) map[string]answer { return map[string]answer{oauthtest.OIDCDiscoveryPath: {503, nil, ""}} },
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"answered 503"},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "a redirect is not followed",
			answers: func(base string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: {302, map[string]string{"Location": base + "/elsewhere"}, ""}}
			},
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"answered 302"},
			wantPaths: []string{oauthtest.OIDCDiscoveryPath}},
		{name: "a body that is not JSON",
			answers: func(string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok("<html>Service starting</html>")}
			},
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"is not a discovery document"}},
		{name: "JSON that is not an object",
			answers: func(string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(`["issuer"]`)}
			},
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"is not a discovery document"}},
		{name: "an issuer that is not a string",
			answers: func(base string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(jsonBody(map[string]any{"issuer": 1, "token_endpoint": base + "/t"}))}
			},
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"is not a discovery document"}},
		{name: "no issuer",
			answers: func(base string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(jsonBody(map[string]any{"token_endpoint": base + "/t"}))}
			},
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"names no issuer"}},
		{name: "no token endpoint",
			answers: func(base string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(jsonBody(map[string]any{"issuer": base + oauthtest.IssuerPath}))}
			},
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"names no token_endpoint"}},
		{name: "a document of exactly the size limit",
			answers: func(base string) map[string]answer {
				d := doc(base+oauthtest.IssuerPath, base+"/t")
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(d + strings.Repeat(" ", 1<<20-len(d)))}
			},
			want: func(s *oauthtest.Server) oauth.Provider {
				return oauth.Provider{Issuer: s.IssuerURL(), TokenEndpoint: s.URL() + "/t"}
			}},
		{name: "a document over the size limit",
			answers: func(base string) map[string]answer {
				d := doc(base+oauthtest.IssuerPath, base+"/t")
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(d + strings.Repeat(" ", 1<<20-len(d)+1))}
			},
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"larger than 1048576 bytes"}},
		{name: "a relative token endpoint",
			answers: func(base string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(doc(base+oauthtest.IssuerPath, "/protocol/openid-connect/token"))}
			},
			wantKind: oauth.Terminal, wantCode: "invalid_discovery", wantWords: []string{`token_endpoint "/protocol/openid-connect/token"`}},
		{name: "a token endpoint that is not http(s)",
			answers: func(base string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(doc(base+oauthtest.IssuerPath, "file:///etc/passwd"))}
			},
			wantKind: oauth.Terminal, wantCode: "invalid_discovery", wantWords: []string{"not an absolute http or https URL"}},
		{name: "a token endpoint with credentials, which are not quoted",
			answers: func(base string) map[string]answer {
				return map[string]answer{oauthtest.OIDCDiscoveryPath: ok(doc(base+oauthtest.IssuerPath, "https://user:hunter2@auth.example/token"))}
			},
			wantKind: oauth.Terminal, wantCode: "invalid_discovery", wantWords: []string{`"https://auth.example/token"`}},
		{name: "an issuer URL with a query is refused unsent",
			req: func(s *oauthtest.Server) oauth.DiscoveryRequest {
				return oauth.DiscoveryRequest{IssuerURL: s.IssuerURL() + "?realm=x"}
			},
			wantKind: oauth.Terminal, wantCode: "invalid_request", wantWords: []string{"must not have a query or fragment"}},
		{name: "an issuer URL with credentials is refused unsent",
			req: func(s *oauthtest.Server) oauth.DiscoveryRequest {
				return oauth.DiscoveryRequest{IssuerURL: strings.Replace(s.IssuerURL(), "://", "://u:p@", 1)}
			},
			wantKind: oauth.Terminal, wantCode: "invalid_request", wantWords: []string{"must not hold credentials"}},
		{name: "a relative issuer URL is refused unsent",
			req: func(*oauthtest.Server) oauth.DiscoveryRequest {
				return oauth.DiscoveryRequest{IssuerURL: "realms/vantage"}
			},
			wantKind: oauth.Terminal, wantCode: "invalid_request", wantWords: []string{"not an absolute http or https URL"}},
		{name: "nothing listening",
			req: func(*oauthtest.Server) oauth.DiscoveryRequest {
				return oauth.DiscoveryRequest{IssuerURL: closedURL(t) + "/realms/vantage"}
			},
			wantKind: oauth.Transient, wantCode: "discovery_failed", wantWords: []string{"GET http://127.0.0.1:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{})
			log := &pathLog{}
			var answers map[string]answer
			if tt.answers != nil {
				answers = tt.answers(f.srv.URL())
			}
			f.srv.Intercept(scripted(log, answers))
			if tt.setup != nil {
				tt.setup(f.srv)
			}
			req := oauth.DiscoveryRequest{IssuerURL: f.srv.IssuerURL()}
			if tt.req != nil {
				req = tt.req(f.srv)
			}
			got, err := f.client.Discover(context.Background(), req)
			if tt.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.want(f.srv); !reflect.DeepEqual(*got, want) {
					t.Errorf("got  %+v\nwant %+v", *got, want)
				}
			} else {
				if got != nil {
					t.Fatalf("got a provider %+v and %v", got, err)
				}
				e := oauthError(t, err)
				if e.Kind != tt.wantKind || e.Code != tt.wantCode {
					t.Fatalf("got a %s %s error (%v), want a %s %s", e.Kind, e.Code, e, tt.wantKind, tt.wantCode)
				}
				for _, w := range tt.wantWords {
					if w = strings.ReplaceAll(w, "%s", f.srv.URL()); !strings.Contains(e.Description, w) {
						t.Errorf("description %q lacks %q", e.Description, w)
					}
				}
				if prefix := "issuer discovery failed (" + e.Code + ")"; strings.HasPrefix(e.Code, "discovery_") || strings.HasPrefix(e.Code, "issuer_") ||
					strings.HasPrefix(e.Code, "invalid_discovery") {
					if !strings.HasPrefix(e.Error(), prefix) {
						t.Errorf("message %q does not start with %q", e.Error(), prefix)
					}
				}
				if strings.ContainsAny(e.Error(), "\n\x1b") || strings.Contains(e.Error(), "hunter2") {
					t.Errorf("message %q holds control characters or a credential", e.Error())
				}
			}
			if tt.wantPaths != nil && !reflect.DeepEqual(log.get(), tt.wantPaths) {
				t.Errorf("paths asked for: %q, want %q", log.get(), tt.wantPaths)
			}
		})
	}
}

func TestDiscoveryOverTLS(t *testing.T) {
	srv := oauthtest.NewTLSServer()
	t.Cleanup(srv.Close)
	tests := []struct {
		name     string
		caPEM    []byte
		insecure bool
		wantCode string // "" for success
	}{
		{"system roots do not know the private CA", nil, false, "tls_error"},
		{"the server's CA", srv.CAPEM(), false, ""},
		{"verification off", nil, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oauth.NewClient(oauth.Options{})
			p, err := c.Discover(context.Background(), oauth.DiscoveryRequest{IssuerURL: srv.IssuerURL(), CAPEM: tt.caPEM, InsecureSkipVerify: tt.insecure})
			if tt.wantCode == "" {
				if err != nil || p.TokenEndpoint != srv.URL()+oauthtest.KeycloakTokenPath {
					t.Fatalf("got %+v, %v", p, err)
				}
				return
			}
			if e := oauthError(t, err); e.Code != tt.wantCode || e.Kind != oauth.Terminal || !strings.Contains(e.Description, "issuer's certificate is not trusted") {
				t.Fatalf("got a %s %s error %q, want a Terminal %s", e.Kind, e.Code, e.Description, tt.wantCode)
			}
		})
	}
}

func TestDiscoveryIsCachedForAnHour(t *testing.T) {
	f := newFixture(t, oauth.Options{})
	log := &pathLog{}
	var failing bool
	var mu sync.Mutex
	f.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		log.add(r.URL.Path)
		mu.Lock()
		defer mu.Unlock()
		return failing && respond(503, nil, "")(w, r)
	})
	req := oauth.DiscoveryRequest{IssuerURL: f.srv.IssuerURL()}
	steps := []struct {
		after     time.Duration
		fail      bool
		req       oauth.DiscoveryRequest
		wantErr   bool
		wantFetch int
		why       string
	}{
		{0, true, req, true, 1, "a failure"},
		{0, false, req, false, 2, "is not cached"},
		{time.Hour - time.Second, true, req, false, 2, "a success is used for an hour, whatever the server says meanwhile"},
		{0, false, oauth.DiscoveryRequest{IssuerURL: req.IssuerURL, ExpectedIssuer: req.IssuerURL}, false, 3, "another expected issuer is discovered apart"},
		{time.Second, false, req, false, 4, "after an hour the document is read again"},
		{0, false, req, false, 4, "and cached again"},
	}
	for _, st := range steps {
		f.clock.Step(st.after)
		mu.Lock()
		failing = st.fail
		mu.Unlock()
		p, err := f.client.Discover(context.Background(), st.req)
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: error %v", st.why, err)
		}
		if got := len(log.get()); got != st.wantFetch {
			t.Errorf("%s: %d fetches, want %d", st.why, got, st.wantFetch)
		}
		if p != nil {
			p.AuthMethodsSupported[0] = "changed by a caller"
		}
	}
	p, err := f.client.Discover(context.Background(), req)
	if err != nil || !reflect.DeepEqual(p.AuthMethodsSupported, keycloakMethods) {
		t.Errorf("got %v, %v: a caller changed the cached provider", p, err)
	}
}

// TestRediscoveryAfterTheTokenEndpointAnswers404 plays the caller's part:
// the cached token endpoint has moved, the exchange gets a 404, the caller
// invalidates and discovers again.
func TestRediscoveryAfterTheTokenEndpointAnswers404(t *testing.T) {
	f := newFixture(t, oauth.Options{}, oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	log := &pathLog{}
	moved := false
	var mu sync.Mutex
	f.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		log.add(r.URL.Path)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != oauthtest.OIDCDiscoveryPath || moved {
			return false
		}
		return respond(200, nil, jsonBody(map[string]any{"issuer": f.srv.IssuerURL(), "token_endpoint": f.srv.URL() + "/old/token"}))(w, r)
	})
	issuer := oauth.DiscoveryRequest{IssuerURL: f.srv.IssuerURL()}
	exchange := func() (*oauth.Provider, error) {
		p, err := f.client.Discover(context.Background(), issuer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.client.Exchange(context.Background(), oauth.Request{TokenURL: p.TokenEndpoint, ClientID: "svc", ClientSecret: "s3cret-value", AuthMethod: oauth.AuthPost})
		return p, err
	}

	if _, err := exchange(); oauthError(t, err).StatusCode != http.StatusNotFound {
		t.Fatalf("exchange at the old endpoint: %v, want a 404", err)
	}
	mu.Lock()
	moved = true
	mu.Unlock()
	if p, err := exchange(); err == nil || p.TokenEndpoint != f.srv.URL()+"/old/token" {
		t.Fatalf("got %v, %v: without invalidation the cached endpoint should still be used", p, err)
	}
	f.client.InvalidateDiscovery(issuer.IssuerURL)
	p, err := exchange()
	if err != nil || p.TokenEndpoint != f.srv.URL()+oauthtest.KeycloakTokenPath {
		t.Fatalf("after invalidation: %+v, %v; want a token from the moved endpoint", p, err)
	}
	want := []string{oauthtest.OIDCDiscoveryPath, "/old/token", "/old/token", oauthtest.OIDCDiscoveryPath, oauthtest.KeycloakTokenPath}
	if got := log.get(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

// TestAbandonedDiscoveryStillCompletes: a caller giving up does not waste
// the fetch, which the next caller finds done.
func TestAbandonedDiscoveryStillCompletes(t *testing.T) {
	f := newFixture(t, oauth.Options{})
	arrived, release := make(chan struct{}), make(chan struct{})
	arrive, releaseAll := sync.OnceFunc(func() { close(arrived) }), sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseAll) // before the server's Close, which waits for its handlers
	var fetches int
	var mu sync.Mutex
	f.srv.Intercept(func(http.ResponseWriter, *http.Request) bool {
		mu.Lock()
		fetches++
		mu.Unlock()
		arrive()
		<-release
		return false
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := f.client.Discover(ctx, oauth.DiscoveryRequest{IssuerURL: f.srv.IssuerURL()})
		errc <- err
	}()
	<-arrived
	cancel()
	err := <-errc
	if e := oauthError(t, err); e.Kind != oauth.Transient || e.Code != "discovery_failed" || !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned: got %v, want a transient discovery_failed wrapping context.Canceled", err)
	}
	releaseAll()
	if _, err := f.client.Discover(context.Background(), oauth.DiscoveryRequest{IssuerURL: f.srv.IssuerURL()}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fetches != 1 {
		t.Errorf("%d fetches, want 1: the abandoned one should have been finished and kept", fetches)
	}
}
