package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// Sentinels: the secret holds characters that form-encoding changes, so its
// encoded forms are exercised too; all forms start with sentinelPrefix.
const (
	sentinelSecret = "SENTINEL-SECRET-xyz+/ %"
	sentinelPrefix = "SENTINEL-SECRET"
	sentinelToken  = "SENTINEL-TOKEN-abc"
	sentinelJWT    = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzdmMifQ.c2lnbmF0dXJl"
)

// leaks lists the sentinels found in s.
func leaks(s string) []string {
	basic := base64.StdEncoding.EncodeToString([]byte("svc:" + url.QueryEscape(sentinelSecret)))
	var found []string
	for _, needle := range []string{sentinelPrefix, sentinelToken, sentinelJWT, basic, url.QueryEscape(sentinelSecret)} {
		if strings.Contains(s, needle) {
			found = append(found, needle)
		}
	}
	return found
}

// echo is what a careless server could quote back: the credentials as
// received, in every form, and a JWT. Tokens the client cannot know of are
// not included; those in the body's token fields are, by the scripts.
func echo(r *http.Request) string {
	user, pass, _ := r.BasicAuth()
	decoded, _ := url.QueryUnescape(pass)
	return strings.Join([]string{
		"client_secret=" + r.PostForm.Get("client_secret"),
		"authorization=" + r.Header.Get("Authorization"),
		"basic=" + user + ":" + pass,
		"decoded=" + decoded,
		"jwt=" + sentinelJWT,
	}, " ")
}

func jsonBody(v map[string]any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestSecretsNeverLeak(t *testing.T) {
	scripts := map[string]func(w http.ResponseWriter, r *http.Request){
		"error_description echoes credentials and tokens": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", jsonType)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(jsonBody(map[string]any{"error": "invalid_client", "error_description": echo(r) + " " + sentinelToken, "access_token": sentinelToken})))
		},
		"error code is the secret": func(w http.ResponseWriter, r *http.Request) {
			oauthtest.WriteError(w, http.StatusBadRequest, r.PostForm.Get("client_secret")+"Authorization:"+r.Header.Get("Authorization"), echo(r))
		},
		"HTML error page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = fmt.Fprintf(w, "<html><body><pre>%s</pre></body></html>", echo(r))
		},
		"HTML on 200": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = fmt.Fprintf(w, "<html><body><pre>%s</pre></body></html>", echo(r))
		},
		"Content-Type echoes the secret": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; x="+echo(r))
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("denied"))
		},
		"200 with a token that is not a string": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", jsonType)
			_, _ = w.Write([]byte(jsonBody(map[string]any{"access_token": 42, "error_description": echo(r) + " " + sentinelToken, "refresh_token": sentinelToken})))
		},
		"error on 200 next to a token": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", jsonType)
			_, _ = w.Write([]byte(jsonBody(map[string]any{"error": "invalid_request", "error_description": echo(r) + " " + sentinelToken, "id_token": sentinelToken})))
		},
		"redirect quoting the secret": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://u:"+url.QueryEscape(sentinelSecret)+"@elsewhere.invalid/"+url.PathEscape(echo(r))+"?q="+url.QueryEscape(echo(r)))
			w.WriteHeader(http.StatusTemporaryRedirect)
		},
	}
	for name, script := range scripts {
		for _, method := range []oauth.AuthMethod{oauth.AuthBasic, oauth.AuthPost, oauth.AuthAuto} {
			t.Run(name+"/"+string(method), func(t *testing.T) {
				f := newFixture(t, oauth.Options{})
				f.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
					script(w, r)
					return true
				})
				req := f.request("svc", sentinelSecret, method)
				req.Scopes = []string{"jobs:read"}
				tok, err := f.client.Exchange(context.Background(), req)
				if err == nil {
					t.Fatalf("Exchange succeeded with %v", tok)
				}
				e := oauthError(t, err)
				checkDescription(t, e.Description)
				checkPrinted(t, req, tok, err)
			})
		}
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	f := newFixture(t, oauth.Options{})
	f.srv.Intercept(respond(http.StatusOK, map[string]string{"Content-Type": jsonType},
		`{"access_token":"`+sentinelToken+`","expires_in":60,"scope":"a b"}`))
	req := f.request("svc", sentinelSecret, oauth.AuthAuto)
	tok, err := f.client.Exchange(context.Background(), req)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken != sentinelToken {
		t.Fatalf("AccessToken = %q", tok.AccessToken)
	}
	checkPrinted(t, req, tok, err)
}

func TestCredentialsInTokenURLNeverPrinted(t *testing.T) {
	client := oauth.NewClient(oauth.Options{})
	req := oauth.Request{
		TokenURL:     "https://svc:" + url.QueryEscape(sentinelSecret) + "@auth.example.invalid/oauth/token",
		ClientID:     "svc",
		ClientSecret: sentinelSecret,
	}
	_, err := client.Exchange(context.Background(), req)
	if e := oauthError(t, err); e.Kind != oauth.Terminal || e.Code != "invalid_request" {
		t.Errorf("error = %s %s, want Terminal invalid_request", e.Kind, e.Code)
	}
	checkPrinted(t, req, nil, err)
	if !strings.Contains(fmt.Sprint(req), "auth.example.invalid/oauth/token") {
		t.Errorf("%v does not show the token URL", req)
	}
}

func TestServerTextIsCleaned(t *testing.T) {
	tests := []struct {
		name, desc string
	}{
		{"log injection", "bad\nlevel=info msg=\"all good\"\r\n\x1b[31mred\x00"},
		{"bidi override", "abc\u202edcba\u2066"},
		{"invalid UTF-8", "a\xff\xfeb"},
		{"long", strings.Repeat("é", 5000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, oauth.Options{})
			f.srv.Intercept(func(w http.ResponseWriter, _ *http.Request) bool {
				oauthtest.WriteError(w, http.StatusBadRequest, "invalid_request", tt.desc)
				return true
			})
			_, err := f.client.Exchange(context.Background(), f.request("svc", sentinelSecret, oauth.AuthBasic))
			e := oauthError(t, err)
			checkDescription(t, e.Description)
			if e.Description == "" {
				t.Errorf("Description is empty")
			}
		})
	}
}

func checkDescription(t *testing.T, desc string) {
	t.Helper()
	if n := utf8.RuneCountInString(desc); n > 200 {
		t.Errorf("Description has %d runes", n)
	}
	if !utf8.ValidString(desc) {
		t.Errorf("Description %q is not valid UTF-8", desc)
	}
	for _, c := range desc {
		if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			t.Errorf("Description %q holds control character %U", desc, c)
		}
	}
}

// checkPrinted formats everything a caller might log, with every verb.
func checkPrinted(t *testing.T, req oauth.Request, tok *oauth.Token, err error) {
	t.Helper()
	var printed []string
	for _, v := range []any{req, &req, tok, err} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%T"} {
			printed = append(printed, fmt.Sprintf(verb, v))
		}
	}
	if tok != nil {
		printed = append(printed, fmt.Sprintf("%v %+v %#v %d", *tok, *tok, *tok, *tok), tok.String(), tok.GoString())
	}
	if e, ok := err.(*oauth.Error); ok {
		printed = append(printed, e.Error(), e.Description, e.Code, fmt.Sprintf("%v %+v %#v", *e, *e, *e))
	}
	printed = append(printed, fmt.Sprintf("%v", struct {
		Req oauth.Request
		Tok *oauth.Token
	}{req, tok}), req.String(), req.GoString())
	for _, s := range printed {
		if found := leaks(s); len(found) > 0 {
			t.Errorf("printed %q, which holds %q", s, found)
		}
	}
}
