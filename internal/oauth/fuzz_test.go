package oauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	clocktesting "k8s.io/utils/clock/testing"
)

const fuzzSecret = "fuzz-SECRET-0123"

// answerTransport answers every request with one fixed response, without a
// network, so the fuzzer can run the whole exchange fast.
type answerTransport struct {
	status int
	header http.Header
	body   []byte
}

func (a answerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Status: http.StatusText(a.status), Header: a.header,
		Body: io.NopCloser(bytes.NewReader(a.body)), Request: req}, nil
}

// FuzzExchangeAnswer feeds arbitrary answers through the whole exchange
// (golang.org/x/oauth2 and our reading of what it returns): it must not
// panic, must return exactly one of a token and an error, and must keep the
// error text short, clean and free of the secret.
func FuzzExchangeAnswer(f *testing.F) {
	f.Add(200, "application/json", "", []byte(`{"access_token":"abc","token_type":"Bearer","expires_in":3600,"scope":"a b"}`))
	f.Add(200, "application/json", "", []byte(`{"access_token":"abc","expires_in":"3600"}`))
	f.Add(200, "application/json", "", []byte(`{"access_token":"eyJhbGciOiJub25lIn0.eyJleHAiOjE5MDAwMDAwMDB9.","scope":["a"]}`))
	f.Add(200, "application/x-www-form-urlencoded", "", []byte(`access_token=abc&expires_in=60&scope=a+b`))
	f.Add(200, "text/html", "", []byte(`<html><body>login</body></html>`))
	f.Add(200, "application/json", "", []byte(`null`))
	f.Add(200, "application/json", "", []byte(`{"error":"invalid_client"}`))
	f.Add(401, "application/json", "", []byte(`{"error":"invalid_client","error_description":"fuzz-SECRET-0123 is wrong"}`))
	f.Add(400, "application/json", "", []byte(`{"error":"fuzz-SECRET-0123","access_token":"tok","error_description":"tok\n\u202e"}`))
	f.Add(400, "text/plain", "", []byte(`error=fuzz-SECRET-0123&error_description=fuzz-SECRET-0123`))
	f.Add(429, "", "120", []byte(``))
	f.Add(503, "text/html", "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`<h1>503</h1>`))
	f.Add(307, "", "", []byte(``))
	f.Add(307, "%", "", []byte(``)) // a Location net/http cannot parse
	f.Add(-1, "\x00", "\xff", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter string, body []byte) {
		header := http.Header{}
		header.Set("Content-Type", contentType)
		header.Set("Retry-After", retryAfter)
		header.Set("Location", "http://x/"+contentType)
		client := NewClient(Options{
			HTTPClient: &http.Client{Transport: answerTransport{status: status, header: header, body: body}},
			Clock:      clocktesting.NewFakePassiveClock(now),
		})
		req := Request{TokenURL: "https://auth.example.invalid/token", ClientID: "svc", ClientSecret: fuzzSecret,
			Scopes: []string{"a"}, AuthMethod: AuthBasic}
		tok, err := client.Exchange(context.Background(), req)
		if (tok == nil) == (err == nil) {
			t.Fatalf("Exchange = %v, %v; want exactly one", tok, err)
		}
		if tok != nil {
			if tok.AccessToken == "" || tok.TokenType == "" || tok.Expiry.IsZero() || !tok.IssuedAt.Equal(now) {
				t.Fatalf("incomplete token %#v", tok)
			}
			switch tok.LifetimeSource {
			case LifetimeExpiresIn, LifetimeJWT, LifetimeDefault:
			default:
				t.Fatalf("LifetimeSource %q", tok.LifetimeSource)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not an *Error", err, err)
		}
		// net/http itself refuses a redirect whose Location it cannot
		// parse, before the answer reaches the library: no status then.
		refusedByNetHTTP := e.Code == codeNetworkError && e.StatusCode == 0
		if e.Kind != Terminal && e.Kind != Transient || e.Code == "" || e.StatusCode != status && !refusedByNetHTTP {
			t.Fatalf("malformed error %#v", e)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Fatalf("RetryAfter %s", e.RetryAfter)
		}
		if n := utf8.RuneCountInString(e.Description); n > maxDescription || !utf8.ValidString(e.Description) {
			t.Fatalf("Description of %d runes: %q", n, e.Description)
		}
		for _, c := range e.Description + e.Code {
			if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
				t.Fatalf("control character %U in %q", c, e.Error())
			}
		}
		if strings.Contains(e.Error(), fuzzSecret) {
			t.Fatalf("secret in %q", e.Error())
		}
	})
}

// FuzzJWTExpiry feeds arbitrary tokens to jwtExpiry: it must not panic, and
// an expiry it accepts must be a sane instant.
func FuzzJWTExpiry(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjE5MDAwMDAwMDB9.sig")
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOiIxOTAwMDAwMDAwIn0=.sig")
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjEuNWUzMDB9.")
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjFlLTEwfQ.s") // exp 1e-10
	f.Add("a.b.c.d.e")
	f.Add("opaque")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		exp, ok := jwtExpiry(token)
		if !ok {
			if !exp.IsZero() {
				t.Fatalf("rejected token gave %s", exp)
			}
			return
		}
		if exp.Unix() < 1 || exp.Unix() > maxUnixSeconds || exp.Location() != time.UTC {
			t.Fatalf("accepted exp %s", exp)
		}
	})
}
