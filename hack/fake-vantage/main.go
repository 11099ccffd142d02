// Command fake-vantage runs the fake Vantage token server of
// internal/oauth/oauthtest as a program: the client-credentials token
// endpoint (/oauth/token), a Keycloak-shaped issuer with discovery
// (/realms/vantage), GET /v1/auth/test for tokens and API keys, and request
// counts at /fake/stats. It serves `make demo`, the end-to-end tests, and a
// developer running `make run` against a cluster without a Vantage account.
//
//	go run ./hack/fake-vantage --listen 127.0.0.1:8900 --client ci-runner:replace-me --lifetime 60s
//
// Clients that authenticate with a Kubernetes ServiceAccount token trust
// the API server's service-account issuer and read its keys:
//
//	go run ./hack/fake-vantage --federated-client ci:system:serviceaccount:hpc:vantage-client \
//	  --trust-issuer https://127.0.0.1:6443/ --trust-ca-file ca.crt
package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// clientFlags collects repeated --client id:secret[:lifetime] flags.
type clientFlags []oauthtest.Client

func (c *clientFlags) String() string { return fmt.Sprintf("%d clients", len(*c)) }

func (c *clientFlags) Set(v string) error {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("want id:secret or id:secret:lifetime, got %q", v)
	}
	client := oauthtest.Client{ID: parts[0], Secret: parts[1]}
	if len(parts) == 3 {
		d, err := time.ParseDuration(parts[2])
		if err != nil {
			return fmt.Errorf("lifetime of client %s: %w", parts[0], err)
		}
		client.Lifetime = d
	}
	*c = append(*c, client)
	return nil
}

// keyClientFlags collects repeated --key-client id:public-key.pem flags:
// private_key_jwt clients, whose assertions the key's private half signs.
type keyClientFlags struct{ clients *clientFlags }

func (k keyClientFlags) String() string { return "" }

func (k keyClientFlags) Set(v string) error {
	id, file, ok := strings.Cut(v, ":")
	if !ok || id == "" || file == "" {
		return fmt.Errorf("want id:public-key.pem, got %q", v)
	}
	pemBytes, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return fmt.Errorf("%s holds no PEM PUBLIC KEY", file)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	*k.clients = append(*k.clients, oauthtest.Client{ID: id, PublicKey: pub})
	return nil
}

// federatedClientFlags collects repeated --federated-client id:subject
// flags: clients that authenticate with a JWT the --trust-issuer signed
// for subject, such as system:serviceaccount:<namespace>:<name>.
type federatedClientFlags []oauthtest.Client

func (f *federatedClientFlags) String() string { return fmt.Sprintf("%d federated clients", len(*f)) }

func (f *federatedClientFlags) Set(v string) error {
	id, subject, ok := strings.Cut(v, ":")
	if !ok || id == "" || subject == "" {
		return fmt.Errorf("want id:subject, got %q", v)
	}
	*f = append(*f, oauthtest.Client{ID: id, Federation: &oauthtest.Federation{Subject: subject}})
	return nil
}

// trust completes the federated clients with the issuer they trust: its
// JWKS URL defaults to kube-apiserver's, <issuer>/openid/v1/jwks.
func (f federatedClientFlags) trust(issuer, jwksURL, caFile string, lifetime time.Duration) ([]oauthtest.Client, error) {
	if len(f) == 0 {
		return nil, nil
	}
	if issuer == "" {
		return nil, errors.New("--federated-client needs --trust-issuer")
	}
	if jwksURL == "" {
		jwksURL = strings.TrimSuffix(issuer, "/") + "/openid/v1/jwks"
	}
	var ca []byte
	if caFile != "" {
		var err error
		if ca, err = os.ReadFile(caFile); err != nil {
			return nil, err
		}
	}
	out := make([]oauthtest.Client, len(f))
	for i, c := range f {
		fed := *c.Federation
		fed.Issuer, fed.JWKSURL, fed.CAPEM = issuer, jwksURL, ca
		c.Federation, c.Lifetime = &fed, lifetime
		out[i] = c
	}
	return out, nil
}

// apiKeyFlags collects repeated --api-key key:user[:valid-for] flags.
type apiKeyFlags []oauthtest.APIKey

func (a *apiKeyFlags) String() string { return fmt.Sprintf("%d API keys", len(*a)) }

func (a *apiKeyFlags) Set(v string) error {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("want key:user or key:user:valid-for, got %q", v)
	}
	k := oauthtest.APIKey{Key: parts[0], UserID: parts[1], Scopes: []string{"jobs:read"}}
	if len(parts) == 3 {
		d, err := time.ParseDuration(parts[2])
		if err != nil {
			return fmt.Errorf("validity of API key for %s: %w", parts[1], err)
		}
		at := time.Now().Add(d).Truncate(time.Second)
		k.ExpiresAt = &at
	}
	*a = append(*a, k)
	return nil
}

func main() {
	var clients clientFlags
	var apiKeys apiKeyFlags
	var federated federatedClientFlags
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	lifetime := flag.Duration("lifetime", time.Hour, "lifetime of issued tokens, for clients without their own")
	urlFile := flag.String("url-file", "", "write the server's base URL to this file once listening (whole, by rename)")
	failRate := flag.Float64("fail-rate", 0, "fraction of token requests answered 503 at random, for soak tests")
	flag.Var(&clients, "client", "a client the server accepts, id:secret[:lifetime]; repeat for more")
	flag.Var(keyClientFlags{&clients}, "key-client", "a private_key_jwt client, id:public-key.pem (PKIX PEM); repeat for more")
	flag.Var(&federated, "federated-client", "a client authenticating with a JWT the --trust-issuer signed for subject (a Kubernetes ServiceAccount token: system:serviceaccount:<namespace>:<name>), id:subject; repeat for more")
	trustIssuer := flag.String("trust-issuer", "", "the issuer (iss) of --federated-client assertions, such as the API server's --service-account-issuer")
	trustJWKS := flag.String("trust-jwks-url", "", "where the trusted issuer's keys are; default <trust-issuer>/openid/v1/jwks, as kube-apiserver serves them")
	trustCA := flag.String("trust-ca-file", "", "PEM CA certificates trusted for --trust-jwks-url, such as the API server's serving CA")
	federatedLifetime := flag.Duration("federated-lifetime", 0, "lifetime of the tokens of --federated-client clients; 0 means --lifetime")
	flag.Var(&apiKeys, "api-key", "an API key /v1/auth/test accepts, key:user[:valid-for] (no valid-for: never expires); repeat for more")
	advertised := flag.String("advertised-issuer", "", "the issuer the discovery document names instead of its own URL, as Keycloak behind an in-cluster address does")
	noAuthTest := flag.Bool("no-auth-test", false, "answer 404 at /v1/auth/test, as an API without the endpoint does")
	flag.Parse()

	// A fake that accepts any client it is told about has no place on a
	// network interface.
	if host, _, err := net.SplitHostPort(*listen); err != nil || !isLoopback(host) {
		log.Fatalf("fake-vantage: --listen %q: want a loopback address such as 127.0.0.1:8900", *listen)
	}
	fedClients, err := federated.trust(*trustIssuer, *trustJWKS, *trustCA, *federatedLifetime)
	if err != nil {
		log.Fatalf("fake-vantage: %v", err)
	}
	clients = append(clients, fedClients...)
	srv, err := oauthtest.NewServerAt(*listen)
	if err != nil {
		log.Fatalf("fake-vantage: %v", err)
	}
	defer srv.Close()
	srv.SetLifetime(*lifetime)
	for _, c := range clients {
		srv.AddClient(c)
	}
	for _, k := range apiKeys {
		srv.AddAPIKey(k)
	}
	srv.SetAdvertisedIssuer(*advertised)
	srv.SetAuthTestMissing(*noAuthTest)
	if *failRate > 0 {
		srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != oauthtest.TokenPath || rand.Float64() >= *failRate {
				return false
			}
			oauthtest.WriteError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "injected failure")
			return true
		})
	}
	if *urlFile != "" {
		// Written whole, by rename, so a reader never sees half a URL.
		tmp := *urlFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(srv.URL()), 0o600); err != nil {
			log.Fatalf("fake-vantage: %v", err)
		}
		if err := os.Rename(tmp, *urlFile); err != nil {
			log.Fatalf("fake-vantage: %v", err)
		}
	}
	log.Printf("fake Vantage server: token endpoint %s, issuer %s, API %s, %d clients, %d API keys, tokens live %s",
		srv.TokenURL(), srv.IssuerURL(), srv.URL(), len(clients), len(apiKeys), *lifetime)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
