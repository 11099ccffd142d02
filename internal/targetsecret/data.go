// Package targetsecret decides what the target Secret holds: the default
// layout the Vantage CLI reads, or the user's templates, and the hash that
// lets the operator notice when someone else changed it. It is pure.
package targetsecret

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Default data keys.
const (
	AccessTokenKey = "access_token"
	TokenTypeKey   = "token_type"
	ExpiresAtKey   = "expires_at"
	ScopeKey       = "scope"
	APIKeyEnv      = "VANTAGE_API_KEY"
	APIURLEnv      = "VANTAGE_API_URL"
	OrgEnv         = "VANTAGE_ORG"
)

// Values is what a target Secret can be made of.
type Values struct {
	AccessToken string
	TokenType   string
	// ExpiresAt is zero for a credential that never expires (an API key
	// without expiry): expires_at and .ExpiresAt are then empty.
	ExpiresAt    time.Time
	Scopes       []string
	APIURL       string
	Organization string
}

// String leaves the token out, so Values printed by mistake leak nothing.
func (v Values) String() string {
	return fmt.Sprintf("targetsecret.Values{AccessToken:[redacted], TokenType:%q, ExpiresAt:%s, Scopes:%q, APIURL:%q, Organization:%q}",
		v.TokenType, v.ExpiresAt.UTC().Format(time.RFC3339), v.Scopes, v.APIURL, v.Organization)
}

// GoString makes %#v as safe as %v.
func (v Values) GoString() string { return v.String() }

// templateData is what templates see; field names are part of the API
// (spec.target.template.data).
type templateData struct {
	AccessToken  string
	TokenType    string
	ExpiresAt    string
	Scope        string
	Scopes       []string
	APIURL       string
	Organization string
}

// Keys lists the data keys the operator manages: the template's keys, or
// the default layout (VANTAGE_ORG only with an organization). Merge writes
// and drift checks touch only these.
func Keys(templates map[string]string, organization string) []string {
	var keys []string
	if templates != nil {
		for k := range templates {
			keys = append(keys, k)
		}
	} else {
		keys = []string{AccessTokenKey, TokenTypeKey, ExpiresAtKey, ScopeKey, APIKeyEnv, APIURLEnv}
		if organization != "" {
			keys = append(keys, OrgEnv)
		}
	}
	slices.Sort(keys)
	return keys
}

// Render returns the data keys for the given values: the default layout
// when templates is nil, else each template executed.
func Render(templates map[string]string, v Values) (map[string][]byte, error) {
	expires := ""
	if !v.ExpiresAt.IsZero() {
		expires = v.ExpiresAt.UTC().Format(time.RFC3339)
	}
	scope := strings.Join(v.Scopes, " ")
	if templates == nil {
		data := map[string][]byte{
			AccessTokenKey: []byte(v.AccessToken),
			TokenTypeKey:   []byte(v.TokenType),
			ExpiresAtKey:   []byte(expires),
			ScopeKey:       []byte(scope),
			APIKeyEnv:      []byte(v.AccessToken),
			APIURLEnv:      []byte(v.APIURL),
		}
		if v.Organization != "" {
			data[OrgEnv] = []byte(v.Organization)
		}
		return data, nil
	}
	td := templateData{
		AccessToken:  v.AccessToken,
		TokenType:    v.TokenType,
		ExpiresAt:    expires,
		Scope:        scope,
		Scopes:       slices.Clone(v.Scopes),
		APIURL:       v.APIURL,
		Organization: v.Organization,
	}
	data := make(map[string][]byte, len(templates))
	for _, key := range Keys(templates, "") {
		out, err := execute(key, templates[key], td)
		if err != nil {
			// A template can make an error quote its data; the token must
			// never travel in an error.
			if v.AccessToken != "" {
				err = fmt.Errorf("%s", strings.ReplaceAll(err.Error(), v.AccessToken, "[redacted]"))
			}
			return nil, err
		}
		data[key] = out
	}
	return data, nil
}

// Validate checks the templates by rendering them with placeholder values,
// so a broken template is reported before a token is requested.
func Validate(templates map[string]string) error {
	_, err := Render(templates, Values{
		AccessToken: "placeholder-token", TokenType: "Bearer", ExpiresAt: time.Unix(0, 0),
		Scopes: []string{"jobs:read"}, APIURL: "https://api.example", Organization: "example",
	})
	return err
}

func execute(key, text string, td templateData) ([]byte, error) {
	t, err := template.New(key).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template for key %q: %w", key, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, td); err != nil {
		return nil, fmt.Errorf("template for key %q: %w", key, err)
	}
	return buf.Bytes(), nil
}

// Hash fingerprints the given keys of data, so the operator can tell whether
// a Secret still holds what it wrote. A key missing from data hashes
// differently from a key present but empty.
func Hash(data map[string][]byte, keys []string) string {
	present := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if v, ok := data[k]; ok {
			present[k] = v
		}
	}
	// encoding/json writes map keys sorted, so equal inputs give equal bytes.
	b, _ := json.Marshal(struct {
		Keys []string
		Data map[string][]byte
	}{keys, present})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
