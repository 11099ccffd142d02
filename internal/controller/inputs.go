package controller

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/serviceaccount"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/targetsecret"
)

// problem is something wrong with the inputs that stops an exchange before
// it starts. stalled problems need a person to fix an input; the others
// (a Secret not created yet) are expected to resolve themselves.
type problem struct {
	reason  string
	message string
	stalled bool
}

// inputs is everything a token and the target's data are made from.
type inputs struct {
	// request is the token request; for an API key only its TLS settings
	// are used, for the check.
	request oauth.Request
	// apiKey is the API key of apiKeySecretRef, "" for a service-account key.
	apiKey       string
	apiURL       string
	organization string
	// templates is spec.target.template.data; nil means the default layout.
	templates map[string]string
	// audiences are the audiences the ServiceAccount of spec.serviceAccountRef
	// lends its tokens for. They come with the ServiceAccount's
	// resourceVersion, the source version, so they are not in the hash.
	audiences audienceAllowlist
	// hash fingerprints all of the above, so a change of any of them (a
	// rotated client secret, new scopes, another template) gets a new token.
	hash string
}

// resolveInputs combines the spec, the key and the defaults, in that order
// of precedence.
func resolveInputs(spec *vantagev1alpha1.VantageCredentialSpec, key serviceaccount.Key, e Endpoints) (*inputs, *problem) {
	tokenURL, issuerURL, source := tokenEndpoint(spec, key, e)
	apiURL := firstNonEmpty(ptr.Deref(spec.APIURL, ""), key.APIURL, e.APIURL)
	// The spec's URLs are checked by the CRD; the key's only here.
	for _, u := range []struct{ field, value string }{{"token_url", tokenURL}, {"issuer_url", issuerURL}, {"api_url", apiURL}} {
		if u.value == "" {
			continue
		}
		if err := checkEndpoint(u.value); err != nil {
			return nil, &problem{ReasonInvalidKey, fmt.Sprintf("%s in the key: %v", u.field, err), true}
		}
	}
	if u := firstNonEmpty(tokenURL, issuerURL); !e.tokenHostAllowed(u) {
		return nil, &problem{ReasonTokenURLNotAllowed, e.hostRefusal(u, source), true}
	}

	templates, p := templateData(spec)
	if p != nil {
		return nil, p
	}

	in := &inputs{
		request: oauth.Request{
			TokenURL:       tokenURL,
			IssuerURL:      issuerURL,
			ExpectedIssuer: ptr.Deref(spec.ExpectedIssuer, ""),
			AllowURL:       e.allowDiscovered,
			ClientID:       firstNonEmpty(ptr.Deref(spec.ClientID, ""), key.ClientID),
			ClientSecret:   key.ClientSecret,
			PrivateKey:     key.PrivateKey,
			KeyID:          key.KeyID,
			Scopes:         normalizeScopes(spec.Scopes),
			CommaScopes:    ptr.Deref(spec.ScopeDelimiter, vantagev1alpha1.ScopeDelimiterSpace) == vantagev1alpha1.ScopeDelimiterComma,
			Audience:       ptr.Deref(spec.Audience, ""),
			AuthMethod:     oauth.AuthMethod(ptr.Deref(spec.ClientAuthMethod, vantagev1alpha1.ClientAuthAuto)),
		},
		apiURL:       apiURL,
		organization: firstNonEmpty(ptr.Deref(spec.Organization, ""), key.Organization),
		templates:    templates,
	}
	in.hash = in.fingerprint()
	return in, nil
}

// templateData is spec.target.template.data, nil for the default layout,
// once it is known to render.
func templateData(spec *vantagev1alpha1.VantageCredentialSpec) (map[string]string, *problem) {
	var templates map[string]string
	if t := spec.Target; t != nil && t.Template != nil && t.Template.Data != nil {
		templates = t.Template.Data
	}
	if err := targetsecret.Validate(templates); err != nil {
		return nil, &problem{ReasonInvalidTemplate, "spec.target.template.data: " + err.Error(), true}
	}
	return templates, nil
}

// fingerprint hashes what the token and the data are made of. The target
// Secret carries it, and that Secret holds a token (or the API key itself)
// anyway, so the hash of the client secret or API key in it reveals nothing
// a reader could not use directly.
// A private key is named by its public half.
func (in *inputs) fingerprint() string {
	var publicKey []byte
	if k := in.request.PrivateKey; k != nil {
		publicKey, _ = x509.MarshalPKIXPublicKey(k.Public())
	}
	b, _ := json.Marshal(struct {
		TokenURL, ClientID, ClientSecret, Audience, APIURL, Organization string
		Scopes                                                           []string
		Templates                                                        map[string]string
		// Left out when empty, so credentials that use none of these keep
		// the hash they had before they came, and an upgrade requests no
		// new tokens.
		KeyID                     string `json:",omitempty"`
		PublicKey                 []byte `json:",omitempty"`
		CommaScopes               bool   `json:",omitempty"`
		IssuerURL, ExpectedIssuer string `json:",omitempty"`
		APIKey                    string `json:",omitempty"`
		// The ServiceAccount of spec.serviceAccountRef, and the audience
		// of its tokens when set.
		AssertionSource, AssertionAudience string `json:",omitempty"`
	}{
		in.request.TokenURL, in.request.ClientID, in.request.ClientSecret, in.request.Audience, in.apiURL, in.organization,
		in.request.Scopes, in.templates, in.request.KeyID, publicKey, in.request.CommaScopes,
		in.request.IssuerURL, in.request.ExpectedIssuer, in.apiKey,
		in.request.AssertionSource, in.request.AssertionAudience,
	})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// normalizeScopes sorts and deduplicates, since scopes are a set: a
// reordered list must not cost a new token.
func normalizeScopes(scopes []string) []string {
	if len(scopes) == 0 {
		return nil
	}
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Compact(out)
}

// tokenEndpoint is where tokens come from: a token URL, or an issuer to
// discover it from, the first set of spec.tokenURL, spec.issuerURL, the
// key's token_url, its issuer_url, and the operator's default. source says
// which, for messages.
func tokenEndpoint(spec *vantagev1alpha1.VantageCredentialSpec, key serviceaccount.Key, e Endpoints) (tokenURL, issuerURL, source string) {
	switch {
	case ptr.Deref(spec.TokenURL, "") != "":
		return *spec.TokenURL, "", "the token URL in spec.tokenURL"
	case ptr.Deref(spec.IssuerURL, "") != "":
		return "", *spec.IssuerURL, "the issuer in spec.issuerURL"
	case key.TokenURL != "":
		return key.TokenURL, "", "the token URL in the key's token_url"
	case key.IssuerURL != "":
		return "", key.IssuerURL, "the issuer in the key's issuer_url"
	default:
		return e.TokenURL, "", "the operator's default token URL"
	}
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
