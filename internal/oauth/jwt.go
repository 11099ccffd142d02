package oauth

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// maxUnixSeconds is the end of year 9999, past which an exp claim is nonsense
// (and time.Time stops formatting as RFC 3339).
const maxUnixSeconds = 253402300799

// jwtExpiry reads the exp claim of an access token that is a JWS (RFC 7519):
// three base64url segments, the middle one a JSON object. The signature is
// not checked: the token came straight from the token endpoint over the
// connection we chose, and exp only schedules the next refresh. Anything
// else (an opaque token, an encrypted five-part JWE, no usable exp) yields
// false.
func jwtExpiry(token string) (time.Time, bool) {
	_, rest, ok := strings.Cut(token, ".")
	if !ok {
		return time.Time{}, false
	}
	payload, signature, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(signature, ".") {
		return time.Time{}, false
	}
	// Padding is not part of base64url in JWTs, but some issuers add it.
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Float64()
	// At least one second: a tiny positive exp would round to the epoch.
	if err != nil || !(exp >= 1 && exp <= maxUnixSeconds) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(exp)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}
