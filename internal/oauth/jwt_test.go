package oauth

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestJWTExpiry(t *testing.T) {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	header := seg(`{"alg":"RS256","typ":"JWT"}`)
	jws := func(payload string) string { return header + "." + seg(payload) + ".c2ln" }
	tests := []struct {
		name   string
		token  string
		want   time.Time
		wantOK bool
	}{
		{"integer exp", jws(`{"sub":"svc","exp":1900000000}`), time.Unix(1900000000, 0), true},
		{"fractional exp", jws(`{"exp":1900000000.5}`), time.Unix(1900000000, 5e8), true},
		{"exp as a string", jws(`{"exp":"1900000000"}`), time.Unix(1900000000, 0), true},
		{"padded payload", header + "." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1900000000}`)) + ".sig", time.Unix(1900000000, 0), true},
		{"empty signature", header + "." + seg(`{"exp":1900000000}`) + ".", time.Unix(1900000000, 0), true},
		{"no exp", jws(`{"sub":"svc"}`), time.Time{}, false},
		{"null exp", jws(`{"exp":null}`), time.Time{}, false},
		{"zero exp", jws(`{"exp":0}`), time.Time{}, false},
		{"exp rounding to the epoch", jws(`{"exp":1e-10}`), time.Time{}, false},
		{"negative exp", jws(`{"exp":-5}`), time.Time{}, false},
		{"exp past year 9999", jws(`{"exp":1e20}`), time.Time{}, false},
		{"exp not a number", jws(`{"exp":"tomorrow"}`), time.Time{}, false},
		{"exp a bool", jws(`{"exp":true}`), time.Time{}, false},
		{"payload an array", jws(`[1]`), time.Time{}, false},
		{"payload not JSON", jws(`exp=1900000000`), time.Time{}, false},
		{"payload not base64url", header + ".!!!.sig", time.Time{}, false},
		{"opaque token", "2YotnFZFEjr1zCsicMWpAA", time.Time{}, false},
		{"two segments", header + "." + seg(`{"exp":1900000000}`), time.Time{}, false},
		{"five segments (JWE)", header + "." + seg(`{"exp":1900000000}`) + ".a.b.c", time.Time{}, false},
		{"empty", "", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := jwtExpiry(tt.token)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("jwtExpiry = %s, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
