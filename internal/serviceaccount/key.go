// Package serviceaccount reads a Vantage service-account key out of the data
// of a Kubernetes Secret: either a JSON key file or plain keys made with
// `kubectl create secret generic --from-literal`. It knows nothing of the
// API server; the caller hands it the Secret's data.
package serviceaccount

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// DefaultKey is the data key of the JSON key file when the reference names none.
const DefaultKey = "service-account.json"

// Plain data keys, used when there is no JSON key file.
const (
	ClientIDKey     = "client_id"
	ClientSecretKey = "client_secret"
	TokenURLKey     = "token_url"
	IssuerURLKey    = "issuer_url"
	APIURLKey       = "api_url"
	OrganizationKey = "organization"
	PrivateKeyKey   = "private_key"
	KeyIDKey        = "key_id"
)

// Key is a parsed service-account key. ClientID is required, and exactly
// one of ClientSecret and PrivateKey; the rest override the documented
// Vantage defaults.
type Key struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// PrivateKey authenticates the client with a signed JWT
	// (private_key_jwt) instead of a secret. KeyID names it to the server:
	// key_id, or the kid of a JWK, which wins.
	PrivateKey   crypto.Signer `json:"-"`
	KeyID        string        `json:"key_id"`
	TokenURL     string        `json:"token_url"`
	IssuerURL    string        `json:"issuer_url"`
	APIURL       string        `json:"api_url"`
	Organization string        `json:"organization"`
}

// keyFile is a key as written, before validate: private_key is still PEM
// text in a JSON string or a JWK object, for parsePrivateKey.
type keyFile struct {
	Key
	rawPrivateKey json.RawMessage
}

// String leaves the client secret and private key out, so a Key printed by
// mistake leaks nothing.
func (k Key) String() string {
	return fmt.Sprintf("serviceaccount.Key{ClientID:%q, ClientSecret:[redacted], PrivateKey:%s, KeyID:%q, TokenURL:%q, APIURL:%q, Organization:%q}",
		k.ClientID, hidden(k.PrivateKey != nil), k.KeyID, k.TokenURL, k.APIURL, k.Organization)
}

func hidden(set bool) string {
	if set {
		return "[redacted]"
	}
	return "none"
}

// GoString makes %#v as safe as %v.
func (k Key) GoString() string { return k.String() }

// Reason says which part of the key is wrong; callers use it as a condition reason.
type Reason string

const (
	// ReasonKeyNotFound: the Secret lacks the data key the reference names,
	// or has neither a key file nor the plain keys.
	ReasonKeyNotFound Reason = "SecretKeyNotFound"
	// ReasonInvalidKey: the key is there but malformed or incomplete.
	ReasonInvalidKey Reason = "InvalidServiceAccountKey"
)

// Error explains why a key could not be read. Its message never quotes the
// Secret's content.
type Error struct {
	Reason  Reason
	Message string
}

func (e *Error) Error() string { return e.Message }

// Parse reads the key from a Secret's data. dataKey is the key named in the
// reference, or "" to use DefaultKey when present and the plain keys
// otherwise.
func Parse(data map[string][]byte, dataKey string) (Key, error) {
	if dataKey == "" {
		if _, ok := data[DefaultKey]; ok {
			dataKey = DefaultKey
		} else if _, ok := data[ClientIDKey]; ok {
			return validate(plainKey(data))
		} else {
			return Key{}, &Error{ReasonKeyNotFound, fmt.Sprintf(
				"the Secret has neither a %q key file nor %q and %q keys (it has %s)",
				DefaultKey, ClientIDKey, ClientSecretKey, keyList(data))}
		}
	}
	raw, ok := data[dataKey]
	if !ok {
		return Key{}, &Error{ReasonKeyNotFound, fmt.Sprintf("the Secret has no key %q (it has %s)", dataKey, keyList(data))}
	}
	f, err := parseJSON(raw)
	if err != nil {
		return Key{}, &Error{ReasonInvalidKey, fmt.Sprintf("key %q: %s", dataKey, err)}
	}
	return validate(f)
}

// plainKey reads the plain data keys; private_key is PEM text there.
func plainKey(data map[string][]byte) keyFile {
	get := func(k string) string { return string(data[k]) }
	f := keyFile{Key: Key{
		ClientID:     get(ClientIDKey),
		ClientSecret: get(ClientSecretKey),
		KeyID:        get(KeyIDKey),
		TokenURL:     get(TokenURLKey),
		IssuerURL:    get(IssuerURLKey),
		APIURL:       get(APIURLKey),
		Organization: get(OrganizationKey),
	}}
	if pemText, ok := data[PrivateKeyKey]; ok {
		f.rawPrivateKey, _ = json.Marshal(string(pemText)) // a string always marshals
	}
	return f
}

// parseJSON decodes a key file. Its errors describe where the JSON is wrong
// without quoting it: the encoding/json messages can echo parts of the input.
func parseJSON(raw []byte) (keyFile, error) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // editors on Windows add a BOM
	if !utf8.Valid(raw) {
		return keyFile{}, errors.New("is not UTF-8 text; expected a JSON object")
	}
	var k Key
	if err := json.Unmarshal(raw, &k); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return keyFile{}, fmt.Errorf("is not valid JSON (syntax error at byte %d); expected an object with client_id and client_secret", syntax.Offset)
		case errors.As(err, &typ) && typ.Field != "":
			return keyFile{}, fmt.Errorf("field %q must be a string, not a JSON %s", typ.Field, typ.Value)
		case errors.As(err, &typ):
			return keyFile{}, fmt.Errorf("must be a JSON object with client_id and client_secret, not a JSON %s", typ.Value)
		default:
			return keyFile{}, errors.New("is not valid JSON; expected an object with client_id and client_secret")
		}
	}
	// Key leaves private_key to this second look: a string or an object.
	var pk struct {
		PrivateKey json.RawMessage `json:"private_key"`
	}
	_ = json.Unmarshal(raw, &pk) // raw is a valid JSON object by now
	return keyFile{Key: k, rawPrivateKey: pk.PrivateKey}, nil
}

// validate trims what editors and `--from-file` add (a trailing newline),
// checks the required fields and reads the private key.
func validate(f keyFile) (Key, error) {
	k := f.Key
	for _, s := range []*string{&k.ClientID, &k.ClientSecret, &k.KeyID, &k.TokenURL, &k.IssuerURL, &k.APIURL, &k.Organization} {
		*s = strings.TrimSpace(*s)
	}
	if hasPrivateKey := len(f.rawPrivateKey) > 0 && string(f.rawPrivateKey) != "null"; hasPrivateKey {
		return withPrivateKey(k, f.rawPrivateKey)
	}
	var missing []string
	if k.ClientID == "" {
		missing = append(missing, ClientIDKey)
	}
	if k.ClientSecret == "" {
		missing = append(missing, ClientSecretKey)
	}
	if len(missing) > 0 {
		return Key{}, &Error{ReasonInvalidKey, strings.Join(missing, " and ") + " must not be empty"}
	}
	if strings.ContainsFunc(k.ClientID, isControl) || strings.ContainsFunc(k.ClientSecret, isControl) {
		return Key{}, &Error{ReasonInvalidKey, "client_id and client_secret must not contain control characters or line breaks"}
	}
	return k, nil
}

// withPrivateKey completes a private-key service account.
func withPrivateKey(k Key, raw json.RawMessage) (Key, error) {
	switch {
	case k.ClientSecret != "":
		return Key{}, &Error{ReasonInvalidKey, "the key holds both client_secret and private_key: remove client_secret to authenticate with the private key, or private_key to use the secret"}
	case k.ClientID == "":
		return Key{}, &Error{ReasonInvalidKey, "client_id must not be empty"}
	case strings.ContainsFunc(k.ClientID, isControl) || strings.ContainsFunc(k.KeyID, isControl):
		return Key{}, &Error{ReasonInvalidKey, "client_id and key_id must not contain control characters or line breaks"}
	}
	signer, kid, err := parsePrivateKey(raw)
	if err != nil {
		return Key{}, &Error{ReasonInvalidKey, err.Error()}
	}
	k.PrivateKey = signer
	if kid != "" {
		k.KeyID = kid
	}
	return k, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// keyList names the data keys present (names only, never values).
func keyList(data map[string][]byte) string {
	if len(data) == 0 {
		return "no keys"
	}
	names := make([]string, 0, len(data))
	for k := range data {
		names = append(names, fmt.Sprintf("%q", k))
	}
	slices.Sort(names)
	return "keys " + strings.Join(names, ", ")
}
