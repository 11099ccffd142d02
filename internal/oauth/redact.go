package oauth

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDescription bounds Error.Description, in runes.
const maxDescription = 200

// jwtShaped matches anything that looks like a JWS, so a token the server
// quotes back is hidden even when we do not know it.
var jwtShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// redactor hides secrets in text that came from the server or the network.
type redactor struct {
	secrets []string
}

// newRedactor knows the client secret in the forms it travels in: raw (form
// body), form-encoded, and inside the Basic credentials, so a server echoing
// its input back cannot make us print it.
func newRedactor(req Request) *redactor {
	r := &redactor{}
	if req.ClientSecret != "" {
		escaped := url.QueryEscape(req.ClientSecret)
		r.add(
			req.ClientSecret,
			escaped,
			base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(req.ClientID)+":"+escaped)),
			base64.StdEncoding.EncodeToString([]byte(req.ClientID+":"+req.ClientSecret)),
		)
	}
	return r
}

// add registers more secrets, such as tokens found in an error body. The
// longest go first, so that a secret inside another (a short client secret
// within a token) cannot break the longer one's match and leave its ends.
func (r *redactor) add(secrets ...string) {
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// addTokensIn registers the tokens of an error answer's JSON body, so a
// server quoting them in its error_description or error code cannot make
// us print them. Only these fields are read, for redaction alone; what the
// error means comes from the library's reading of the same body.
func (r *redactor) addTokensIn(body []byte) {
	var tokens struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	// A field of another type fails alone; the others are still filled.
	_ = json.Unmarshal(body, &tokens)
	r.add(tokens.AccessToken, tokens.RefreshToken, tokens.IDToken)
}

// clean makes server-controlled text fit for a message: valid UTF-8 without
// control or formatting characters (no forged log lines, no bidi tricks),
// secrets replaced, at most maxDescription runes. Secrets are replaced both
// before the characters are filtered (a secret holding a space or a tab
// would no longer match after) and after (an echo split by control
// characters would match only then), and before truncation, so that no
// prefix of a secret survives the cut.
func (r *redactor) clean(s string) string {
	s = r.replace(s)
	s = strings.Map(func(c rune) rune {
		switch {
		case c == utf8.RuneError:
			return -1
		case unicode.IsSpace(c):
			return ' '
		case unicode.IsControl(c), unicode.Is(unicode.Cf, c):
			return -1
		}
		return c
	}, s)
	s = r.replace(s)
	s = strings.TrimSpace(truncate(s, maxDescription))
	// Replacement can in theory join the marker and its neighbours into a
	// secret again; give up on the text rather than reason about it.
	if r.leaks(s) {
		return redacted
	}
	return s
}

// replace hides the known secrets and anything shaped like a JWT.
func (r *redactor) replace(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return jwtShaped.ReplaceAllLiteralString(s, redacted)
}

// leaks says whether s still holds a known secret.
func (r *redactor) leaks(s string) bool {
	for _, secret := range r.secrets {
		if strings.Contains(s, secret) {
			return true
		}
	}
	return false
}

// truncate cuts s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n-1]) + "…"
}

// knownCodes are error codes kept even when a (very short) secret happens to
// occur in them, since Auto and the caller branch on them.
var knownCodes = map[string]bool{
	codeInvalidClient: true, codeUnauthorizedClient: true, codeInvalidScope: true,
	codeInvalidGrant: true, codeInvalidRequest: true, codeUnsupportedGrantType: true,
	codeTemporarilyUnavailable: true, codeServerError: true,
}

// cleanCode keeps an error code to the RFC 6749 §5.2 character set (printable
// ASCII but '"' and '\'), without spaces, short, and free of secrets, which
// are replaced around the filtering as in clean.
func (r *redactor) cleanCode(code string) string {
	if knownCodes[code] {
		return code
	}
	code = strings.Map(func(c rune) rune {
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return -1
		}
		return c
	}, r.replace(code))
	code = r.replace(code)
	if len(code) > 64 {
		code = code[:64]
	}
	if r.leaks(code) {
		return redacted
	}
	return code
}
