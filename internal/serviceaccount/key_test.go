package serviceaccount

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

const sentinel = "SENTINEL-client-secret-4f9a"

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string]string
		dataKey string
		want    Key
		reason  Reason // "" when Parse must succeed
		msg     string // part of the error message
	}{
		{
			name: "default JSON key file with every field",
			data: map[string]string{DefaultKey: `{"client_id":"ci","client_secret":"` + sentinel + `","token_url":"https://auth.example/t","issuer_url":"https://auth.example/realms/v","api_url":"https://api.example","organization":"org"}`},
			want: Key{ClientID: "ci", ClientSecret: sentinel, TokenURL: "https://auth.example/t", IssuerURL: "https://auth.example/realms/v", APIURL: "https://api.example", Organization: "org"},
		},
		{
			name: "JSON with unknown fields and a BOM",
			data: map[string]string{DefaultKey: "\xef\xbb\xbf" + `{"client_id":"ci","client_secret":"s","type":"service_account"}`},
			want: Key{ClientID: "ci", ClientSecret: "s"},
		},
		{
			name:    "named key",
			data:    map[string]string{"vantage.json": `{"client_id":"ci","client_secret":"s"}`, DefaultKey: `{}`},
			dataKey: "vantage.json",
			want:    Key{ClientID: "ci", ClientSecret: "s"},
		},
		{
			name: "plain keys from kubectl create secret --from-literal",
			data: map[string]string{ClientIDKey: "ci", ClientSecretKey: "s", APIURLKey: "https://api.example", OrganizationKey: "org"},
			want: Key{ClientID: "ci", ClientSecret: "s", APIURL: "https://api.example", Organization: "org"},
		},
		{
			name: "trailing newlines from --from-file are trimmed",
			data: map[string]string{ClientIDKey: "ci\n", ClientSecretKey: "s\n"},
			want: Key{ClientID: "ci", ClientSecret: "s"},
		},
		{
			name: "key file wins over plain keys",
			data: map[string]string{DefaultKey: `{"client_id":"file","client_secret":"s"}`, ClientIDKey: "plain", ClientSecretKey: "p"},
			want: Key{ClientID: "file", ClientSecret: "s"},
		},
		{
			name:   "no key at all",
			data:   map[string]string{"other": "x"},
			reason: ReasonKeyNotFound,
			msg:    `neither a "service-account.json" key file nor "client_id" and "client_secret" keys (it has keys "other")`,
		},
		{
			name:   "empty Secret",
			data:   map[string]string{},
			reason: ReasonKeyNotFound,
			msg:    "(it has no keys)",
		},
		{
			name:    "named key missing",
			data:    map[string]string{DefaultKey: `{}`},
			dataKey: "vantage.json",
			reason:  ReasonKeyNotFound,
			msg:     `no key "vantage.json"`,
		},
		{
			name:   "bad JSON",
			data:   map[string]string{DefaultKey: `{"client_id":"ci","client_secret":"` + sentinel + `"`},
			reason: ReasonInvalidKey,
			msg:    "is not valid JSON",
		},
		{
			name:   "JSON that is not an object",
			data:   map[string]string{DefaultKey: `["` + sentinel + `"]`},
			reason: ReasonInvalidKey,
			msg:    "must be a JSON object",
		},
		{
			name:   "field of the wrong type",
			data:   map[string]string{DefaultKey: `{"client_id":42,"client_secret":"` + sentinel + `"}`},
			reason: ReasonInvalidKey,
			msg:    `field "client_id" must be a string`,
		},
		{
			name:   "not UTF-8",
			data:   map[string]string{DefaultKey: "\xff\xfe{"},
			reason: ReasonInvalidKey,
			msg:    "not UTF-8",
		},
		{
			name:   "empty secret",
			data:   map[string]string{DefaultKey: `{"client_id":"ci","client_secret":"  "}`},
			reason: ReasonInvalidKey,
			msg:    "client_secret must not be empty",
		},
		{
			name:   "plain keys without a secret",
			data:   map[string]string{ClientIDKey: "ci"},
			reason: ReasonInvalidKey,
			msg:    "client_secret must not be empty",
		},
		{
			name:   "both empty",
			data:   map[string]string{DefaultKey: `{}`},
			reason: ReasonInvalidKey,
			msg:    "client_id and client_secret must not be empty",
		},
		{
			name:   "line break inside the secret",
			data:   map[string]string{ClientIDKey: "ci", ClientSecretKey: "a\nb"},
			reason: ReasonInvalidKey,
			msg:    "control characters",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string][]byte{}
			for k, v := range tt.data {
				data[k] = []byte(v)
			}
			got, err := Parse(data, tt.dataKey)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got != tt.want {
					t.Fatalf("Parse = %#v, want %#v", got, tt.want)
				}
				return
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			if perr.Reason != tt.reason || !strings.Contains(perr.Message, tt.msg) {
				t.Fatalf("Parse error = %s %q, want %s containing %q", perr.Reason, perr.Message, tt.reason, tt.msg)
			}
			if strings.Contains(err.Error(), sentinel) {
				t.Fatalf("error message leaks the client secret: %q", err.Error())
			}
		})
	}
}

func TestKeyFormattingRedactsSecret(t *testing.T) {
	k := Key{ClientID: "ci", ClientSecret: sentinel}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprintf("%v", &k)} {
		if strings.Contains(s, sentinel) {
			t.Fatalf("formatted key leaks the secret: %s", s)
		}
		if !strings.Contains(s, "ci") {
			t.Fatalf("formatted key lost the client id: %s", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"client_id":"ci","client_secret":"s"}`), "")
	f.Add(keyFileWith(jsonString(pkcs8(p256Key)), ""), "")
	f.Add(keyFileWith(jwkJSON(edKey, "k"), `,"client_secret":"s"`), "")
	f.Add([]byte(`{"client_id":1}`), "k")
	f.Add([]byte("\xef\xbb\xbf{}"), "")
	f.Add([]byte(`[`), "service-account.json")
	// A key name that quoting escapes: the message shows it as %q.
	f.Add([]byte(`00000000\`), `00000000"`)
	f.Fuzz(func(t *testing.T, raw []byte, dataKey string) {
		data := map[string][]byte{DefaultKey: raw, "k": raw, ClientIDKey: raw, ClientSecretKey: raw}
		k, err := Parse(data, dataKey)
		if err == nil {
			if k.ClientID == "" || (k.ClientSecret == "") == (k.PrivateKey == nil) {
				t.Fatalf("Parse accepted a key without an id, or without exactly one of secret and private key: %v", k)
			}
			return
		}
		var perr *Error
		if !errors.As(err, &perr) || perr.Reason == "" {
			t.Fatalf("Parse error %v has no reason", err)
		}
		// The message must never quote a secret value: once the key names it
		// may mention are taken out, a recognisable input must not appear.
		msg := err.Error()
		for _, name := range []string{dataKey, DefaultKey, "k", ClientIDKey, ClientSecretKey} {
			msg = strings.ReplaceAll(msg, strconv.Quote(name), "")
			msg = strings.ReplaceAll(msg, name, "")
		}
		if len(raw) >= 8 && strings.Contains(msg, string(raw)) {
			t.Fatalf("error %q quotes the input", err.Error())
		}
	})
}
