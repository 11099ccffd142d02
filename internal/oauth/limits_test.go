package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// twoHosts is a client and two fake token servers, which are two hosts to
// it (same IP, other ports), each accepting client svc.
func twoHosts(t *testing.T, opts oauth.Options) (c *oauth.Client, a, b *oauthtest.Server) {
	t.Helper()
	a, b = oauthtest.NewServer(), oauthtest.NewServer()
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	for _, s := range []*oauthtest.Server{a, b} {
		s.AddClient(oauthtest.Client{ID: "svc", Secret: "s3cret-value"})
	}
	return oauth.NewClient(opts), a, b
}

func req(s *oauthtest.Server) oauth.Request {
	return oauth.Request{TokenURL: s.TokenURL(), ClientID: "svc", ClientSecret: "s3cret-value", AuthMethod: oauth.AuthBasic}
}

func TestRateLimitIsPerHostAndHandsLongWaitsBack(t *testing.T) {
	c, a, b := twoHosts(t, oauth.Options{RequestsPerSecond: 1e-4, Burst: 1})
	ctx := context.Background()
	if _, err := c.Exchange(ctx, req(a)); err != nil {
		t.Fatalf("first request to a (within the burst): %v", err)
	}

	_, err := c.Exchange(ctx, req(a))
	retry, ok := oauth.IsThrottled(err)
	if !ok {
		t.Fatalf("second request to a: error %v, want throttled", err)
	}
	// 1e-4 per second: the next token is ~10,000 s away.
	if retry < 9000*time.Second || retry > 10001*time.Second {
		t.Errorf("retry after %s, want about 10000s", retry)
	}
	if e := oauthError(t, err); e.Kind != oauth.Transient || e.StatusCode != 0 ||
		!strings.Contains(e.Description, "requests per second toward "+strings.TrimPrefix(a.URL(), "http://")) {
		t.Errorf("error %s %d %q, want Transient, no status, naming the limit and the host", e.Kind, e.StatusCode, e.Description)
	}
	if a.Requests() != 1 {
		t.Errorf("a got %d requests, want 1: a throttled request is not sent", a.Requests())
	}

	if _, err := c.Exchange(ctx, req(b)); err != nil {
		t.Errorf("request to b while a is throttled: %v", err)
	}
}

func TestRateLimitWaitsAShortDelay(t *testing.T) {
	// 20 per second, burst 1: the second request waits ~50 ms, well
	// inside the wait the client takes on itself.
	c, a, _ := twoHosts(t, oauth.Options{RequestsPerSecond: 20, Burst: 1})
	for i := range 3 {
		if _, err := c.Exchange(context.Background(), req(a)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if a.Requests() != 3 {
		t.Errorf("requests = %d, want 3", a.Requests())
	}
}

func TestRateLimitWaitEndsWithTheContext(t *testing.T) {
	c, a, _ := twoHosts(t, oauth.Options{RequestsPerSecond: 2, Burst: 1})
	if _, err := c.Exchange(context.Background(), req(a)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Exchange(ctx, req(a))
	if e := oauthError(t, err); e.Kind != oauth.Transient || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want Transient wrapping context.Canceled", err)
	}
	if _, throttled := oauth.IsThrottled(err); throttled {
		t.Error("a cancelled wait is not a throttle")
	}
	if a.Requests() != 1 {
		t.Errorf("requests = %d, want 1", a.Requests())
	}
}

func TestConcurrencyCapIsPerHost(t *testing.T) {
	c, a, b := twoHosts(t, oauth.Options{MaxConcurrentPerHost: 1})
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a.Intercept(func(http.ResponseWriter, *http.Request) bool {
		once.Do(func() {
			close(arrived)
			<-release
		})
		return false
	})
	done := make(chan error, 1)
	go func() {
		_, err := c.Exchange(context.Background(), req(a))
		done <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached a")
	}

	// Another request (other scopes), which cannot share the one in flight.
	other := req(a)
	other.Scopes = []string{"other"}
	_, err := c.Exchange(context.Background(), other)
	if retry, ok := oauth.IsThrottled(err); !ok || retry <= 0 || retry > 10*time.Second {
		t.Errorf("second request to a while one is in flight: %v (retry %s), want throttled, retry within seconds", err, retry)
	} else if e := oauthError(t, err); !strings.Contains(e.Description, "requests in flight") {
		t.Errorf("description %q does not name the limit", e.Description)
	}
	if _, err := c.Exchange(context.Background(), req(b)); err != nil {
		t.Errorf("request to b while a's slot is taken: %v", err)
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first request to a: %v", err)
	}
	if _, err := c.Exchange(context.Background(), req(a)); err != nil {
		t.Errorf("request to a after the slot came back: %v", err)
	}
	if a.Requests() != 2 {
		t.Errorf("a got %d requests, want 2", a.Requests())
	}
}
