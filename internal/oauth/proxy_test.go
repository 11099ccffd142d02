package oauth_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// TestHTTPSProxyFromTheEnvironment runs an exchange in a child process with
// HTTPS_PROXY set (Go reads the proxy variables once per process) and checks
// the request went through the proxy. The token URL names example.com,
// which only the proxy resolves: to the fake server, whose test certificate
// is valid for that name.
func TestHTTPSProxyFromTheEnvironment(t *testing.T) {
	if os.Getenv("OAUTH_PROXY_CHILD") == "1" {
		proxyChild(t)
		return
	}
	srv := oauthtest.NewTLSServer()
	t.Cleanup(srv.Close)
	srv.AddClient(oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	target := strings.TrimPrefix(srv.URL(), "https://")

	var connects atomic.Int32
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Host != "example.com:443" {
			http.Error(w, "only CONNECT example.com:443", http.StatusForbidden)
			return
		}
		connects.Add(1)
		upstream, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			_ = upstream.Close()
			return
		}
		go func() { _, _ = io.Copy(upstream, buf); _ = upstream.Close() }()
		_, _ = io.Copy(conn, upstream)
		_ = conn.Close()
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = proxy.Serve(l) }()
	t.Cleanup(func() { _ = proxy.Close() })

	caFile := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(caFile, srv.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHTTPSProxyFromTheEnvironment$", "-test.v")
	cmd.Env = append(os.Environ(), "OAUTH_PROXY_CHILD=1", "OAUTH_PROXY_CA="+caFile,
		"HTTPS_PROXY=http://"+l.Addr().String(), "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if connects.Load() != 1 || srv.Requests() != 1 {
		t.Errorf("proxy CONNECTs = %d, token requests = %d; want 1 and 1", connects.Load(), srv.Requests())
	}
}

func proxyChild(t *testing.T) {
	ca, err := os.ReadFile(os.Getenv("OAUTH_PROXY_CA"))
	if err != nil {
		t.Fatal(err)
	}
	c := oauth.NewClient(oauth.Options{})
	tok, err := c.Exchange(context.Background(), oauth.Request{
		TokenURL: "https://example.com/oauth/token", ClientID: "svc", ClientSecret: "s3cret-value", CAPEM: ca})
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("Exchange through the proxy = %v, %v", tok, err)
	}
}
