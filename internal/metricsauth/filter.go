// Package metricsauth guards the metrics endpoint: the caller's bearer token
// is checked with a TokenReview and its right to the path with a
// SubjectAccessReview, which is what the kubebuilder scaffold does through
// controller-runtime's metrics filter.
//
// It is written here rather than taken from controller-runtime because that
// filter links k8s.io/apiserver, and with it CEL, gRPC and OpenTelemetry:
// 11 MB more code, whose start-up alone cost the manager 15 MiB of its
// 77 MiB RSS (docs/benchmark.md).
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// How long a decision is reused, as controller-runtime's filter does: a
// scraper that comes back every 15 s costs the API server a review a
// minute, and a revoked right or token stops working within that minute.
// Refusals are kept shorter, so a right just granted works soon.
const (
	allowTTL  = time.Minute
	denyTTL   = 10 * time.Second
	maxCached = 1024
)

// reviewTimeout bounds each review, so a slow API server fails a scrape
// rather than piling them up.
const reviewTimeout = 10 * time.Second

// WithAuthenticationAndAuthorization is a metrics FilterProvider.
func WithAuthenticationAndAuthorization(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return newReviewer(authn.TokenReviews(), authz.SubjectAccessReviews(), clock.RealClock{}).filter, nil
}

// decision is the outcome of the two reviews for one token, verb and path.
type decision struct {
	code  int // http.StatusOK when allowed
	user  string
	until time.Time
}

type reviewer struct {
	tokens authenticationclient.TokenReviewInterface
	access authorizationclient.SubjectAccessReviewInterface
	clock  clock.PassiveClock

	mu sync.Mutex
	// cache is keyed by a hash of the token, verb and path: the token
	// itself is never kept.
	cache map[[sha256.Size]byte]decision
}

func newReviewer(tokens authenticationclient.TokenReviewInterface, access authorizationclient.SubjectAccessReviewInterface, clk clock.PassiveClock) *reviewer {
	return &reviewer{tokens: tokens, access: access, clock: clk, cache: map[[sha256.Size]byte]decision{}}
}

func (r *reviewer) filter(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := bearerToken(req)
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		d, err := r.decide(req.Context(), token, strings.ToLower(req.Method), req.URL.Path)
		if err != nil {
			// The error comes from the API server and never holds the token.
			log.Error(err, "reviewing a metrics request")
			http.Error(w, "Authentication or authorization failed", http.StatusInternalServerError)
			return
		}
		switch d.code {
		case http.StatusOK:
			next.ServeHTTP(w, req)
		case http.StatusForbidden:
			log.V(4).Info("metrics request denied", "user", d.user)
			http.Error(w, fmt.Sprintf("Authorization denied for user %s", d.user), http.StatusForbidden)
		default:
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		}
	}), nil
}

// bearerToken is the token of an "Authorization: Bearer" header.
func bearerToken(req *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// decide returns the cached decision or asks the API server. Errors are
// not cached: the next scrape asks again.
func (r *reviewer) decide(ctx context.Context, token, verb, path string) (decision, error) {
	key := sha256.Sum256([]byte(verb + "\x00" + path + "\x00" + token))
	now := r.clock.Now()
	r.mu.Lock()
	d, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Before(d.until) {
		return d, nil
	}

	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	d, err := r.review(ctx, token, verb, path)
	if err != nil {
		return decision{}, err
	}
	d.until = now.Add(denyTTL)
	if d.code == http.StatusOK {
		d.until = now.Add(allowTTL)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCached {
		// Many different tokens: keep the map bounded by starting over.
		clear(r.cache)
	}
	r.cache[key] = d
	return d, nil
}

// review authenticates the token, then asks whether its user may use verb
// on the non-resource path.
func (r *reviewer) review(ctx context.Context, token, verb, path string) (decision, error) {
	tr, err := r.tokens.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("token review: %w", err)
	}
	if !tr.Status.Authenticated {
		return decision{code: http.StatusUnauthorized}, nil
	}
	u := tr.Status.User
	extra := make(map[string]authorizationv1.ExtraValue, len(u.Extra))
	for k, v := range u.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := r.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("subject access review for user %s: %w", u.Username, err)
	}
	if !sar.Status.Allowed {
		return decision{code: http.StatusForbidden, user: u.Username}, nil
	}
	return decision{code: http.StatusOK, user: u.Username}, nil
}
