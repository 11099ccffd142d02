package targetsecret

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const token = "SENTINEL-token-77c1"

var values = Values{
	AccessToken:  token,
	TokenType:    "Bearer",
	ExpiresAt:    time.Date(2026, 11, 22, 13, 0, 0, 0, time.FixedZone("CET", 3600)),
	Scopes:       []string{"clusters:read", "jobs:read"},
	APIURL:       "https://api.vantage.omnivector.solutions",
	Organization: "",
}

func TestRenderDefaultLayout(t *testing.T) {
	tests := []struct {
		name string
		org  string
		want map[string]string
	}{
		{"without organization", "", map[string]string{
			"access_token": token, "token_type": "Bearer", "expires_at": "2026-11-22T12:00:00Z",
			"scope": "clusters:read jobs:read", "VANTAGE_API_KEY": token,
			"VANTAGE_API_URL": "https://api.vantage.omnivector.solutions",
		}},
		{"with organization", "my-org", map[string]string{
			"access_token": token, "token_type": "Bearer", "expires_at": "2026-11-22T12:00:00Z",
			"scope": "clusters:read jobs:read", "VANTAGE_API_KEY": token,
			"VANTAGE_API_URL": "https://api.vantage.omnivector.solutions", "VANTAGE_ORG": "my-org",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := values
			v.Organization = tt.org
			got, err := Render(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			assertData(t, got, tt.want)
			if keys := Keys(nil, tt.org); len(keys) != len(tt.want) {
				t.Fatalf("Keys = %v, want the %d rendered keys", keys, len(tt.want))
			}
		})
	}
}

// An API key that never expires has no expiry to write: expires_at and
// .ExpiresAt are empty, not the zero time's year 1.
func TestRenderWithoutExpiry(t *testing.T) {
	v := values
	v.ExpiresAt = time.Time{}
	got, err := Render(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := got[ExpiresAtKey]; !ok || len(e) != 0 {
		t.Fatalf("expires_at = %q (present %v), want present and empty", e, ok)
	}
	got, err = Render(map[string]string{"until": "[{{ .ExpiresAt }}]"}, v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got["until"]) != "[]" {
		t.Fatalf(".ExpiresAt rendered %q, want empty", got["until"])
	}
}

func TestRenderTemplates(t *testing.T) {
	tests := []struct {
		name      string
		templates map[string]string
		want      map[string]string
		err       string
	}{
		{
			name:      "token only",
			templates: map[string]string{"token": "{{ .AccessToken }}"},
			want:      map[string]string{"token": token},
		},
		{
			name: "every field",
			templates: map[string]string{
				"header": "Authorization: {{ .TokenType }} {{ .AccessToken }}",
				"env":    "API={{ .APIURL }} ORG={{ .Organization }} EXP={{ .ExpiresAt }} SCOPE={{ .Scope }} N={{ len .Scopes }}",
			},
			want: map[string]string{
				"header": "Authorization: Bearer " + token,
				"env":    "API=https://api.vantage.omnivector.solutions ORG= EXP=2026-11-22T12:00:00Z SCOPE=clusters:read jobs:read N=2",
			},
		},
		{
			name:      "empty template map writes no keys",
			templates: map[string]string{},
			want:      map[string]string{},
		},
		{
			name:      "parse error names the key",
			templates: map[string]string{"bad": "{{ .AccessToken "},
			err:       `template for key "bad"`,
		},
		{
			name:      "unknown field is an error, not an empty string",
			templates: map[string]string{"x": "{{ .Password }}"},
			err:       "can't evaluate field Password",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.templates, values)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Render error = %v, want one containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), token) {
					t.Fatalf("Render error leaks the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertData(t, got, tt.want)
		})
	}
}

// Execution errors quote the template text near the fault; a token that
// happens to appear there must still not reach the error.
func TestRenderErrorRedactsToken(t *testing.T) {
	v := values
	v.AccessToken = "Tok3nSentinel"
	_, err := Render(map[string]string{"x": "{{ .AccessToken.Tok3nSentinel }}"}, v)
	if err == nil || strings.Contains(err.Error(), v.AccessToken) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("Render error = %v, want the token redacted", err)
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(map[string]string{"t": "{{ .AccessToken }}"}); err != nil {
		t.Fatalf("Validate good template: %v", err)
	}
	if err := Validate(nil); err != nil {
		t.Fatalf("Validate default layout: %v", err)
	}
	for _, bad := range []string{"{{", "{{ .Nope }}", "{{ index .Scopes 5 }}"} {
		if err := Validate(map[string]string{"t": bad}); err == nil {
			t.Fatalf("Validate(%q) accepted a broken template", bad)
		}
	}
}

func TestHash(t *testing.T) {
	keys := []string{"a", "b"}
	base := Hash(map[string][]byte{"a": []byte("1"), "b": []byte("2")}, keys)
	tests := []struct {
		name string
		data map[string][]byte
		same bool
	}{
		{"same data", map[string][]byte{"a": []byte("1"), "b": []byte("2")}, true},
		{"foreign keys are ignored", map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("x")}, true},
		{"edited value", map[string][]byte{"a": []byte("1"), "b": []byte("3")}, false},
		{"missing key", map[string][]byte{"a": []byte("1")}, false},
		{"empty instead of missing", map[string][]byte{"a": []byte("1"), "b": {}}, false},
		{"values moved between keys", map[string][]byte{"a": []byte("12"), "b": []byte("")}, false},
	}
	for _, tt := range tests {
		if got := Hash(tt.data, keys) == base; got != tt.same {
			t.Errorf("%s: hash equal = %v, want %v", tt.name, got, tt.same)
		}
	}
	if Hash(map[string][]byte{"a": {}}, []string{"a"}) == Hash(map[string][]byte{}, []string{"a"}) {
		t.Error("a missing key hashes like an empty one")
	}
}

func TestValuesFormattingRedactsToken(t *testing.T) {
	s := fmt.Sprintf("%v %+v %#v %s", values, values, values, &values)
	if strings.Contains(s, token) {
		t.Fatalf("formatted values leak the token: %s", s)
	}
}

func assertData(t *testing.T, got map[string][]byte, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d keys %v, want %d", len(got), keysOf(got), len(want))
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("key %s = %q, want %q", k, got[k], v)
		}
	}
}

func keysOf(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func FuzzRender(f *testing.F) {
	f.Add("{{ .AccessToken }}")
	f.Add("{{ range .Scopes }}{{ . }},{{ end }}")
	f.Add("{{ printf \"%q\" .AccessToken }}")
	f.Fuzz(func(t *testing.T, text string) {
		data, err := Render(map[string]string{"k": text}, values)
		if err != nil {
			if strings.Contains(err.Error(), token) {
				t.Fatalf("error leaks the token: %v", err)
			}
			return
		}
		if _, ok := data["k"]; !ok {
			t.Fatal("rendered data lacks the template's key")
		}
	})
}
