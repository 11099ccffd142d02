package oauth_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// epoch is the fake clocks' start: whole seconds, so JWT exp round-trips.
var epoch = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

type fixture struct {
	srv    *oauthtest.Server
	clock  *clocktesting.FakeClock
	client *oauth.Client
}

// newFixture starts a fake token server and a client sharing one fake clock.
// opts.Clock, when nil, is set to that clock.
func newFixture(t *testing.T, opts oauth.Options, clients ...oauthtest.Client) *fixture {
	t.Helper()
	srv := oauthtest.NewServer()
	t.Cleanup(srv.Close)
	clk := clocktesting.NewFakeClock(epoch)
	srv.SetClock(clk)
	if opts.Clock == nil {
		opts.Clock = clk
	}
	for _, c := range clients {
		srv.AddClient(c)
	}
	return &fixture{srv: srv, clock: clk, client: oauth.NewClient(opts)}
}

func (f *fixture) request(id, secret string, method oauth.AuthMethod) oauth.Request {
	return oauth.Request{TokenURL: f.srv.TokenURL(), ClientID: id, ClientSecret: secret, AuthMethod: method}
}

// oauthError asserts err is an *oauth.Error and returns it.
func oauthError(t *testing.T, err error) *oauth.Error {
	t.Helper()
	var e *oauth.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *oauth.Error", err, err)
	}
	return e
}

// respond is an interceptor answering every request with a fixed response.
func respond(status int, header map[string]string, body string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, _ *http.Request) bool {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return true
	}
}

// hangUp is an interceptor that closes the connection without answering.
func hangUp(w http.ResponseWriter, _ *http.Request) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
	return true
}

const jsonType = "application/json"
