package controller

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// faultSecret is the client secret of every fault test: a sentinel that must
// not appear in any condition, event or log line.
const faultSecret = "SENTINEL-fault-secret-4c1f0e"

// answer responds with a fixed status, headers and body.
func answer(status int, body string, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// token answers 200 with a JSON body holding an access token and extra.
func token(extra string) func(http.ResponseWriter, *http.Request) {
	return answer(http.StatusOK, `{"access_token":"fault-token-value","token_type":"Bearer"`+extra+`}`, "Content-Type", "application/json")
}

// resetMidway promises a body and closes the connection after a part of it.
func resetMidway(w http.ResponseWriter, _ *http.Request) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"access_token\":\"fault-tok")
	_ = buf.Flush()
	_ = conn.Close()
}

// hang answers nothing until the client gives up.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// closedPortURL is a token URL on a loopback port nothing listens on.
func closedPortURL() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	Expect(l.Close()).To(Succeed())
	return "http://" + addr + "/oauth/token"
}

// faultFor makes the fake token server answer the requests of one client
// with fault, until the test ends.
func faultFor(id string, fault func(http.ResponseWriter, *http.Request)) {
	tokenSrv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		user, _, ok := r.BasicAuth()
		if !ok {
			user = r.PostFormValue("client_id")
		}
		if user != id {
			return false
		}
		fault(w, r)
		return true
	})
	DeferCleanup(func() { tokenSrv.Intercept(nil) })
}

// outcome is what a user sees after a fault on the first token request.
type outcome struct {
	reason  string
	stalled bool
	// words the Ready message must hold, so the user knows what happened.
	words []string
	// retryAtLeast, for a transient fault, is the least delay before the
	// next attempt (Retry-After).
	retryAtLeast time.Duration
}

var _ = Describe("token server faults", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("a fault on the first request: a condition that says what happened, an event, retries as the fault deserves, no secret anywhere",
		func(c pointedFault) {
			want := c.want
			id := newClient(faultSecret, c.at.client(ns))
			requests, assertions := injectFault(ns, id, c)
			saSecret(ns, "sa", keyFile(id, faultSecret))
			started := time.Now()
			newCredential(ns, "f", "sa", func(cr *vantagev1alpha1.VantageCredential) { c.at.configure(ns, id, cr, c.badURL) })

			if want.reason == ReasonTokenValid {
				// An unusable expires_in counts as absent: the token is kept
				// for the operator's default lifetime (1h), as documented.
				cred := waitReady(ns, "f")
				Expect(cred.Status.ExpiresAt.Time).To(BeTemporally("~", started.Add(time.Hour), time.Minute))
				ready := meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady)
				Expect(ready.Message).To(ContainSubstring("the token server gave no expiry, neither expires_in nor a JWT exp, so a lifetime of 1h0m0s was assumed"))
				Expect(tokenSrv.RequestsFor(id)).To(Equal(1))
				return
			}
			Eventually(condition(ns, "f", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal("False/" + want.reason))
			cred := getCredential(ns, "f")
			ready := meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady)
			for _, w := range want.words {
				Expect(ready.Message).To(ContainSubstring(w))
			}
			stalled := meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionStalled)
			if want.stalled {
				Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
			} else {
				Expect(stalled.Status).NotTo(Equal(metav1.ConditionTrue), "a transient fault is retried, not stalled")
				Expect(cred.Status.ConsecutiveFailures).To(BeNumerically(">=", 1))
				Expect(cred.Status.NextRefreshTime).NotTo(BeNil(), "the next attempt is scheduled")
				Expect(cred.Status.NextRefreshTime.Time).To(BeTemporally(">=", started.Add(want.retryAtLeast).Truncate(time.Second)))
			}

			var evs eventsv1.EventList
			Eventually(func() []string {
				Expect(k8sClient.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
				var got []string
				for _, e := range evs.Items {
					got = append(got, e.Type+"/"+e.Reason)
				}
				return got
			}, timeout, interval).Should(ContainElement(corev1.EventTypeWarning + "/" + want.reason))

			// Not hammered: a stalled credential waits for a change, a
			// transient one backs off from one second up. A retry loop
			// without a delay would send dozens within this second.
			Consistently(requests, time.Second, interval).Should(BeNumerically("<=", 3))

			everything, err := json.Marshal([]any{cred, evs})
			Expect(err).NotTo(HaveOccurred())
			families, err := mgrMetrics.Gather()
			Expect(err).NotTo(HaveOccurred())
			metrics, err := json.Marshal(families)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(metrics)).To(ContainSubstring("vantage_credential_ready"), "the operator's metrics were gathered")
			secrets := append([]string{faultSecret, "fault-token-value"}, assertions()...)
			if c.at == atCheck {
				// The token the API was asked about, and did not accept, too.
				secrets = append(secrets, tokenSrv.IssuedTokens()...)
			}
			for _, text := range []string{string(everything), logs.String(), string(metrics)} {
				for _, secret := range secrets {
					Expect(text).NotTo(ContainSubstring(secret))
				}
			}
		},
		faultEntries(func(pointedFault) bool { return true }),
	)

	DescribeTable("a fault at a refresh: the last good token stays in the target, and the condition says until when",
		func(c pointedFault) {
			// refreshBefore is capped at half the lifetime, and the jitter
			// brings the refresh up to a tenth earlier: it comes 40 to 50% into
			// the lifetime. 8 s leaves the fault 4 s to show before expiry;
			// a request that hangs takes the client's 5 s timeout, so its
			// token lives 12 s.
			lifetime := 8 * time.Second
			if c.name == noAnswer {
				lifetime = 12 * time.Second
			}
			id := newClient(faultSecret, func(cl *oauthtest.Client) { cl.Lifetime = lifetime }, c.at.client(ns))
			saSecret(ns, "sa", keyFile(id, faultSecret))
			newCredential(ns, "f", "sa", func(cr *vantagev1alpha1.VantageCredential) {
				cr.Spec.RefreshBefore = &metav1.Duration{Duration: lifetime}
				c.at.configure(ns, id, cr, false)
			})
			cred := waitReady(ns, "f")
			good := targetToken(ns, "f")()
			injectFault(ns, id, c)

			want := "True/" + ReasonRefreshFailing
			if c.want.stalled {
				want = "False/" + c.want.reason // Stalled always comes with Ready=False
			}
			Eventually(condition(ns, "f", vantagev1alpha1.ConditionReady), timeout, interval).Should(Equal(want))
			Expect(time.Now()).To(BeTemporally("<", cred.Status.ExpiresAt.Time), "seen before the token expired")
			Expect(targetToken(ns, "f")()).To(Equal(good), "the last good token stays")
			ready := meta.FindStatusCondition(getCredential(ns, "f").Status.Conditions, vantagev1alpha1.ConditionReady)
			for _, w := range append([]string{"stays valid until"}, c.want.words...) {
				Expect(ready.Message).To(ContainSubstring(w))
			}
			Expect(ready.Message).NotTo(ContainSubstring(faultSecret))
		},
		// A discovered endpoint is cached for an hour, so refreshes do not
		// meet the issuer's faults.
		// An API key's next check is a minute away at the least; its
		// faults at a re-check are in apikey_credential_test.go.
		faultEntries(func(c pointedFault) bool {
			return !c.badURL && c.want.reason != ReasonTokenValid && c.at != atDiscovery && c.at != atAPIKey
		}),
	)
})

// faultCase is one fault of the token server, the issuer or the Vantage
// API, and what a user sees after it hits the first request.
type faultCase struct {
	name   string
	fault  func(http.ResponseWriter, *http.Request)
	badURL bool // the URL names a closed port instead
	want   outcome
}

// pointedFault is a fault case at one fault point.
type pointedFault struct {
	faultCase
	at faultPoint
}

// faultPoint is where a fault hits: the token endpoint, the issuer's
// discovery document (spec.issuerURL), the Vantage API's check of a new
// token (spec.verifyToken), its check of an API key (spec.apiKeySecretRef,
// whose key is faultSecret), or the token endpoint for a client that
// authenticates with a ServiceAccount's token (spec.serviceAccountRef).
type faultPoint string

const (
	atToken          faultPoint = ""
	atDiscovery      faultPoint = "discovery"
	atCheck          faultPoint = "API check"
	atAPIKey         faultPoint = "API key check"
	atServiceAccount faultPoint = "ServiceAccount token"
)

// client makes the fault's client one that authenticates with the tokens
// of ServiceAccount ns/tokenSourceName, at atServiceAccount.
func (at faultPoint) client(ns string) func(*oauthtest.Client) {
	return func(c *oauthtest.Client) {
		if at != atServiceAccount {
			return
		}
		issuer, jwks := apiServerIssuer()
		c.Secret = ""
		c.Federation = &oauthtest.Federation{Issuer: issuer, JWKSURL: jwks, CAPEM: cfg.CAData,
			Subject: "system:serviceaccount:" + ns + ":" + tokenSourceName}
	}
}

// realm is the namespace's own issuer on the fake server, so no discovery
// is cached from another test.
func realm(ns string) string { return "faults-" + ns }

// configure points the credential of client id at the fault.
func (at faultPoint) configure(ns, id string, c *vantagev1alpha1.VantageCredential, badURL bool) {
	switch at {
	case atToken:
		if badURL {
			c.Spec.TokenURL = ptr.To(closedPortURL())
		}
	case atServiceAccount:
		tokenSource(ns, tokenSourceName, true)
		withServiceAccount(tokenSourceName, id)(c)
		if badURL {
			c.Spec.TokenURL = ptr.To(closedPortURL())
		}
	case atDiscovery:
		c.Spec.IssuerURL = ptr.To(tokenSrv.RealmIssuerURL(realm(ns)))
		if badURL {
			c.Spec.IssuerURL = ptr.To(strings.TrimSuffix(closedPortURL(), "/oauth/token") + "/realms/x")
		}
	case atCheck:
		c.Spec.VerifyToken = ptr.To(true)
		if badURL {
			c.Spec.APIURL = ptr.To(strings.TrimSuffix(closedPortURL(), "/oauth/token"))
		}
	case atAPIKey:
		saSecret(ns, "apikey", map[string]string{"api-key": faultSecret})
		withAPIKey(&vantagev1alpha1.APIKeySecretReference{Name: "apikey"})(c)
		if badURL {
			c.Spec.APIURL = ptr.To(strings.TrimSuffix(closedPortURL(), "/oauth/token"))
		}
	}
}

// interceptWith shows the fake server's requests that match picks to see,
// then answers them with fault (nil: as the server would), until the test
// ends.
func interceptWith(match func(*http.Request) bool, see func(*http.Request), fault func(http.ResponseWriter, *http.Request)) {
	tokenSrv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		see(r)
		if fault == nil {
			return false
		}
		fault(w, r)
		return true
	})
	DeferCleanup(func() { tokenSrv.Intercept(nil) })
}

// injectFault makes the fake server answer the requests c.at sends for
// client id (or, for discovery, to the namespace's realm) with c.fault,
// until the test ends. It returns the count of those attempts, and the
// client assertions (ServiceAccount tokens) they carried.
func injectFault(ns, id string, c pointedFault) (requests func() int, assertions func() []string) {
	var mu sync.Mutex
	var sent []string
	assertions = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}
	switch c.at {
	case atToken:
		if c.fault != nil {
			faultFor(id, c.fault)
		}
		return requestsFor(id), assertions
	case atServiceAccount:
		interceptWith(func(r *http.Request) bool { return r.PostForm.Get("client_id") == id }, func(r *http.Request) {
			mu.Lock()
			sent = append(sent, r.PostForm.Get("client_assertion"))
			mu.Unlock()
		}, c.fault)
		return requestsFor(id), assertions
	}
	n := 0
	hits := func(r *http.Request) bool {
		if c.at == atCheck || c.at == atAPIKey {
			return r.URL.Path == oauthtest.AuthTestPath
		}
		p := "/realms/" + realm(ns)
		return strings.HasSuffix(r.URL.Path, p) || strings.HasPrefix(r.URL.Path, p+"/.well-known/")
	}
	interceptWith(hits, func(r *http.Request) {
		// A discovery is one or two requests (the RFC 8414 form after a 404):
		// count attempts, by their first.
		if c.at != atDiscovery || strings.HasSuffix(r.URL.Path, "/openid-configuration") {
			mu.Lock()
			n++
			mu.Unlock()
		}
	}, c.fault)
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}, assertions
}

// noAnswer names the fault that lasts the client's whole timeout.
const noAnswer = "no answer within the client timeout"

var faultCases = []faultCase{
	{"connection refused", nil, true, outcome{reason: ReasonTokenRequestFailed, words: []string{"connection refused"}}},
	{"connection reset mid-response", resetMidway, false, outcome{reason: ReasonTokenRequestFailed, words: []string{"unexpected EOF"}}},
	{noAnswer, hang, false, outcome{reason: ReasonTokenRequestFailed, words: []string{"no answer within 5s"}}},
	{"500", answer(http.StatusInternalServerError, ""), false, outcome{reason: ReasonTokenRequestFailed, words: []string{"500"}}},
	{"502 with an HTML page", answer(http.StatusBadGateway, "<html><body><h1>502 Bad Gateway</h1></body></html>", "Content-Type", "text/html"),
		false, outcome{reason: ReasonTokenRequestFailed, words: []string{"502", "text/html"}}},
	{"503", answer(http.StatusServiceUnavailable, ""), false, outcome{reason: ReasonTokenRequestFailed, words: []string{"503"}}},
	{"429 without Retry-After", answer(http.StatusTooManyRequests, ""), false, outcome{reason: ReasonTokenRequestFailed, words: []string{"429"}}},
	{"429 with Retry-After in seconds", answer(http.StatusTooManyRequests, "", "Retry-After", "120"), false,
		outcome{reason: ReasonTokenRequestFailed, words: []string{"429"}, retryAtLeast: 2 * time.Minute}},
	{"429 with Retry-After as an HTTP date", func(w http.ResponseWriter, r *http.Request) {
		answer(http.StatusTooManyRequests, "", "Retry-After", time.Now().Add(3*time.Minute).UTC().Format(http.TimeFormat))(w, r)
	}, false, outcome{reason: ReasonTokenRequestFailed, words: []string{"429"}, retryAtLeast: 3*time.Minute - 2*time.Second}},
	{"200 with an HTML login page", answer(http.StatusOK, "<html><body>Sign in</body></html>", "Content-Type", "text/html"), false,
		outcome{reason: ReasonTokenRequestRejected, stalled: true, words: []string{"cannot parse json", "text/html"}}},
	{"truncated JSON", answer(http.StatusOK, `{"access_token":"fault-token-value","expi`, "Content-Type", "application/json"), false,
		outcome{reason: ReasonTokenRequestRejected, stalled: true, words: []string{"unexpected end of JSON input"}}},
	{"access_token not a string", answer(http.StatusOK, `{"access_token":5}`, "Content-Type", "application/json"), false,
		outcome{reason: ReasonTokenRequestRejected, stalled: true, words: []string{"access_token"}}},
	{"missing access_token", answer(http.StatusOK, `{"token_type":"Bearer","expires_in":3600}`, "Content-Type", "application/json"), false,
		outcome{reason: ReasonTokenRequestRejected, stalled: true, words: []string{"missing access_token"}}},
	{"expires_in negative", token(`,"expires_in":-5`), false,
		outcome{reason: ReasonTokenValid}},
	{"expires_in zero", token(`,"expires_in":0`), false,
		outcome{reason: ReasonTokenValid}},
	// golang.org/x/oauth2 refuses an answer whose expires_in is not a whole
	// number; a token whose lifetime the server garbled is not guessed at.
	{"expires_in a word", token(`,"expires_in":"soon"`), false,
		outcome{reason: ReasonTokenRequestRejected, stalled: true, words: []string{"invalid number literal"}}},
	{"a body of many megabytes", answer(http.StatusOK, `{"access_token":"`+strings.Repeat("x", 8<<20)+`"}`, "Content-Type", "application/json"), false,
		outcome{reason: ReasonTokenRequestRejected, stalled: true, words: []string{"larger than"}}},
}

// discoveryFaultCases are faults of the issuer: whatever keeps the document
// from being read is retried (a Keycloak still starting answers so for a
// while), and no secret is sent meanwhile.
var discoveryFaultCases = []faultCase{
	{"connection refused", nil, true, outcome{reason: ReasonDiscoveryFailed, words: []string{"connection refused"}}},
	{"connection reset mid-response", resetMidway, false, outcome{reason: ReasonDiscoveryFailed, words: []string{"unexpected EOF"}}},
	{"500", answer(http.StatusInternalServerError, ""), false, outcome{reason: ReasonDiscoveryFailed, words: []string{"500"}}},
	{"502 with an HTML page", answer(http.StatusBadGateway, "<html><body><h1>502 Bad Gateway</h1></body></html>", "Content-Type", "text/html"),
		false, outcome{reason: ReasonDiscoveryFailed, words: []string{"502"}}},
	{"429 with Retry-After", answer(http.StatusTooManyRequests, "", "Retry-After", "120"), false,
		outcome{reason: ReasonDiscoveryFailed, words: []string{"429"}}},
	{"404 at both places", answer(http.StatusNotFound, ""), false, outcome{reason: ReasonDiscoveryFailed, words: []string{"404"}}},
	{"200 with an HTML login page", answer(http.StatusOK, "<html><body>Sign in</body></html>", "Content-Type", "text/html"), false,
		outcome{reason: ReasonDiscoveryFailed, words: []string{"is not a discovery document"}}},
	{"a body of many megabytes", answer(http.StatusOK, `{"issuer":"`+strings.Repeat("x", 8<<20)+`"}`, "Content-Type", "application/json"), false,
		outcome{reason: ReasonDiscoveryFailed, words: []string{"larger than"}}},
}

// checkFaultCases are faults of the Vantage API when it checks a new token
// (verifyToken): a refusal or an API that is not there stalls, anything
// else is retried, and the unchecked token is never written.
var checkFaultCases = []faultCase{
	{"connection refused", nil, true, outcome{reason: ReasonValidationFailed, words: []string{"connection refused"}}},
	{"401", answer(http.StatusUnauthorized, `{"error":"invalid_token","error_description":"The access token provided is invalid"}`, "Content-Type", "application/json"),
		false, outcome{reason: ReasonTokenRejectedByAPI, stalled: true, words: []string{"401 invalid_token"}}},
	{"503", answer(http.StatusServiceUnavailable, ""), false, outcome{reason: ReasonValidationFailed, words: []string{"503"}}},
	{"429 with Retry-After", answer(http.StatusTooManyRequests, "", "Retry-After", "120"), false,
		outcome{reason: ReasonValidationFailed, words: []string{"429"}, retryAtLeast: 2 * time.Minute}},
	{"404", answer(http.StatusNotFound, "<h1>Not Found</h1>", "Content-Type", "text/html"), false,
		outcome{reason: ReasonValidationFailed, stalled: true, words: []string{"no /v1/auth/test endpoint"}}},
	{"200 with an HTML page", answer(http.StatusOK, "<html><body>Vantage</body></html>", "Content-Type", "text/html"), false,
		outcome{reason: ReasonValidationFailed, stalled: true, words: []string{"not the Vantage API's auth/test response", "text/html"}}},
}

// apiKeyFaultCases are faults of the Vantage API when it checks an API
// key: a refusal stalls until the key changes, a page that is not the API
// stalls, anything else is retried, and the key is never written unchecked.
// A 404 (no auth/test endpoint) is no fault for an API key: it is written,
// unverified (apikey_credential_test.go).
var apiKeyFaultCases = []faultCase{
	{"connection refused", nil, true, outcome{reason: ReasonValidationFailed, words: []string{"connection refused"}}},
	{noAnswer, hang, false, outcome{reason: ReasonValidationFailed, words: []string{"no answer within 5s"}}},
	{"401", answer(http.StatusUnauthorized, `{"error":"invalid_token","error_description":"The access token provided is invalid"}`, "Content-Type", "application/json"),
		false, outcome{reason: ReasonAPIKeyRejected, stalled: true, words: []string{"401 invalid_token"}}},
	{"200 with authenticated false", answer(http.StatusOK, `{"authenticated":false}`, "Content-Type", "application/json"),
		false, outcome{reason: ReasonAPIKeyRejected, stalled: true, words: []string{"does not authenticate"}}},
	{"503", answer(http.StatusServiceUnavailable, ""), false, outcome{reason: ReasonValidationFailed, words: []string{"503"}}},
	{"429 with Retry-After", answer(http.StatusTooManyRequests, "", "Retry-After", "120"), false,
		outcome{reason: ReasonValidationFailed, words: []string{"429"}, retryAtLeast: 2 * time.Minute}},
	{"200 with an HTML page", answer(http.StatusOK, "<html><body>Vantage</body></html>", "Content-Type", "text/html"), false,
		outcome{reason: ReasonValidationFailed, stalled: true, words: []string{"not the Vantage API's auth/test response", "text/html"}}},
	{"expires_at not a time", answer(http.StatusOK, `{"authenticated":true,"user_id":"u","scopes":[],"expires_at":"soon"}`, "Content-Type", "application/json"), false,
		outcome{reason: ReasonValidationFailed, stalled: true, words: []string{"expires_at", "not an RFC 3339 time"}}},
}

// faultEntries are the table entries of the cases keep selects, at every
// fault point.
func faultEntries(keep func(pointedFault) bool) []TableEntry {
	var entries []TableEntry
	for at, cases := range map[faultPoint][]faultCase{atToken: faultCases, atDiscovery: discoveryFaultCases, atCheck: checkFaultCases,
		atAPIKey: apiKeyFaultCases, atServiceAccount: faultCases} {
		for _, c := range cases {
			if pc := (pointedFault{c, at}); keep(pc) {
				name := c.name
				if at != atToken {
					name = string(at) + ": " + name
				}
				entries = append(entries, Entry(name, pc))
			}
		}
	}
	return entries
}
