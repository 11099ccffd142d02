package metricsauth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// sentinel is a bearer token that must never show up in a response or log.
const sentinel = "SENTINEL-metrics-token-9d2f"

// apiServer answers reviews as a cluster would: sentinel and "reader" are
// valid tokens, only user "reader" may get /metrics, and "broken" makes
// the token review fail.
type apiServer struct {
	*fake.Clientset
	sar []authorizationv1.SubjectAccessReviewSpec
}

func newAPIServer() *apiServer {
	s := &apiServer{Clientset: fake.NewClientset()}
	s.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview)
		switch tr.Spec.Token {
		case "broken":
			return true, nil, errors.New("the server is currently unable to handle the request")
		case "reader":
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{
				Username: "reader", UID: "u1", Groups: []string{"g"}, Extra: map[string]authenticationv1.ExtraValue{"k": {"v"}}}}
		case sentinel:
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "someone"}}
		}
		return true, tr, nil
	})
	s.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		s.sar = append(s.sar, sar.Spec)
		sar.Status.Allowed = sar.Spec.User == "reader" && sar.Spec.NonResourceAttributes.Path == "/metrics" && sar.Spec.NonResourceAttributes.Verb == "get"
		return true, sar, nil
	})
	return s
}

func (s *apiServer) reviews() int { return len(s.Actions()) }

type setup struct {
	api  *apiServer
	clk  *clocktesting.FakeClock
	h    http.Handler
	logs *bytes.Buffer
}

func newSetup(t *testing.T) *setup {
	s := &setup{api: newAPIServer(), clk: clocktesting.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)), logs: &bytes.Buffer{}}
	r := newReviewer(s.api.AuthenticationV1().TokenReviews(), s.api.AuthorizationV1().SubjectAccessReviews(), s.clk)
	log := funcr.New(func(prefix, args string) { s.logs.WriteString(prefix + args + "\n") }, funcr.Options{Verbosity: 10})
	h, err := r.filter(log, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "metrics") }))
	if err != nil {
		t.Fatal(err)
	}
	s.h = h
	return s
}

func (s *setup) get(method, path, authorization string) (int, string) {
	req := httptest.NewRequest(method, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestFilter(t *testing.T) {
	for _, c := range []struct {
		name          string
		method, path  string
		authorization string
		code          int
		body          string
		reviews       int
	}{
		{"no header", "GET", "/metrics", "", 401, "Unauthorized", 0},
		{"basic auth", "GET", "/metrics", "Basic cmVhZGVyOng=", 401, "Unauthorized", 0},
		{"empty bearer", "GET", "/metrics", "Bearer ", 401, "Unauthorized", 0},
		{"unknown token", "GET", "/metrics", "Bearer nobody", 401, "Unauthorized", 1},
		{"valid token without the right", "GET", "/metrics", "Bearer " + sentinel, 403, "Authorization denied for user someone", 2},
		{"allowed", "GET", "/metrics", "Bearer reader", 200, "metrics", 2},
		{"scheme in lower case", "GET", "/metrics", "bearer reader", 200, "metrics", 2},
		{"another path", "GET", "/other", "Bearer reader", 403, "Authorization denied for user reader", 2},
		{"another verb", "POST", "/metrics", "Bearer reader", 403, "Authorization denied for user reader", 2},
		{"token review fails", "GET", "/metrics", "Bearer broken", 500, "Authentication or authorization failed", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSetup(t)
			code, body := s.get(c.method, c.path, c.authorization)
			if code != c.code || strings.TrimSpace(body) != c.body {
				t.Errorf("got %d %q, want %d %q", code, body, c.code, c.body)
			}
			if got := s.api.reviews(); got != c.reviews {
				t.Errorf("%d reviews, want %d", got, c.reviews)
			}
		})
	}
}

func TestFilterPassesTheUserToTheAccessReview(t *testing.T) {
	s := newSetup(t)
	if code, _ := s.get("GET", "/metrics", "Bearer reader"); code != 200 {
		t.Fatalf("got %d", code)
	}
	if len(s.api.sar) != 1 {
		t.Fatalf("%d access reviews", len(s.api.sar))
	}
	got := s.api.sar[0]
	if got.User != "reader" || got.UID != "u1" || len(got.Groups) != 1 || got.Groups[0] != "g" || got.Extra["k"][0] != "v" {
		t.Errorf("access review for %+v", got)
	}
	if got.ResourceAttributes != nil || *got.NonResourceAttributes != (authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}) {
		t.Errorf("access review attributes %+v %+v", got.ResourceAttributes, got.NonResourceAttributes)
	}
}

func TestFilterCachesDecisions(t *testing.T) {
	s := newSetup(t)
	// An allowed token is reviewed once a minute.
	for range 3 {
		if code, _ := s.get("GET", "/metrics", "Bearer reader"); code != 200 {
			t.Fatalf("got %d", code)
		}
	}
	if got := s.api.reviews(); got != 2 {
		t.Fatalf("%d reviews for three scrapes within the minute, want 2", got)
	}
	s.clk.Step(allowTTL)
	s.get("GET", "/metrics", "Bearer reader")
	if got := s.api.reviews(); got != 4 {
		t.Fatalf("%d reviews after the minute, want 4", got)
	}

	// A refusal is kept for 10 s only.
	s.get("GET", "/metrics", "Bearer "+sentinel)
	s.get("GET", "/metrics", "Bearer "+sentinel)
	if got := s.api.reviews(); got != 6 {
		t.Fatalf("%d reviews, want 6", got)
	}
	s.clk.Step(denyTTL)
	s.get("GET", "/metrics", "Bearer "+sentinel)
	if got := s.api.reviews(); got != 8 {
		t.Fatalf("%d reviews after 10 s, want 8", got)
	}

	// Failures are not cached.
	s.get("GET", "/metrics", "Bearer broken")
	s.get("GET", "/metrics", "Bearer broken")
	if got := s.api.reviews(); got != 10 {
		t.Fatalf("%d reviews, want 10", got)
	}
}

func TestFilterKeepsTheCacheBounded(t *testing.T) {
	s := newSetup(t)
	r := newReviewer(s.api.AuthenticationV1().TokenReviews(), s.api.AuthorizationV1().SubjectAccessReviews(), s.clk)
	for i := range maxCached + 10 {
		if _, err := r.decide(t.Context(), "nobody-"+string(rune('a'+i%26))+strings.Repeat("x", i), "get", "/metrics"); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.cache) > maxCached {
		t.Errorf("%d cached decisions, the bound is %d", len(r.cache), maxCached)
	}
}

func TestFilterNeverShowsTheToken(t *testing.T) {
	s := newSetup(t)
	var bodies []string
	for _, path := range []string{"/metrics", "/other"} {
		_, body := s.get("GET", path, "Bearer "+sentinel)
		bodies = append(bodies, body)
	}
	_, body := s.get("GET", "/metrics", "Bearer broken")
	bodies = append(bodies, body)
	for _, b := range append(bodies, s.logs.String()) {
		if strings.Contains(b, sentinel) {
			t.Errorf("the token shows in %q", b)
		}
	}
	if !strings.Contains(s.logs.String(), "reviewing a metrics request") {
		t.Errorf("the failed review was not logged: %q", s.logs.String())
	}
}
