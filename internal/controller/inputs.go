package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"

	"k8s.io/utils/ptr"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/serviceaccount"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/targetsecret"
)

// Defaults are the documented Vantage endpoints, used when neither the spec
// nor the key names one.
type Defaults struct {
	TokenURL string
	APIURL   string
}

// DefaultEndpoints are Vantage's documented endpoints.
var DefaultEndpoints = Defaults{
	TokenURL: "https://auth.vantage.omnivector.solutions/oauth/token",
	APIURL:   "https://api.vantage.omnivector.solutions",
}

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
	request      oauth.Request
	apiURL       string
	organization string
	// templates is spec.target.template.data; nil means the default layout.
	templates map[string]string
	// hash fingerprints all of the above, so a change of any of them (a
	// rotated client secret, new scopes, another template) gets a new token.
	hash string
}

// resolveInputs combines the spec, the key and the defaults, in that order
// of precedence.
func resolveInputs(spec *vantagev1alpha1.VantageCredentialSpec, key serviceaccount.Key, d Defaults) (*inputs, *problem) {
	tokenURL := firstNonEmpty(ptr.Deref(spec.TokenURL, ""), key.TokenURL)
	if tokenURL == "" && key.IssuerURL != "" {
		return nil, &problem{ReasonInvalidKey,
			"the key names issuer_url but no token_url, and OIDC discovery is not supported yet: set spec.tokenURL (for Keycloak <issuer>/protocol/openid-connect/token) or token_url in the key", true}
	}
	tokenURL = firstNonEmpty(tokenURL, d.TokenURL)
	apiURL := firstNonEmpty(ptr.Deref(spec.APIURL, ""), key.APIURL, d.APIURL)
	// The spec's URLs are checked by the CRD; the key's only here.
	for _, u := range []struct{ field, value string }{{"token_url", tokenURL}, {"api_url", apiURL}} {
		if err := checkEndpoint(u.value); err != nil {
			return nil, &problem{ReasonInvalidKey, fmt.Sprintf("%s in the key: %v", u.field, err), true}
		}
	}

	var templates map[string]string
	if t := spec.Target; t != nil && t.Template != nil && t.Template.Data != nil {
		templates = t.Template.Data
	}
	if err := targetsecret.Validate(templates); err != nil {
		return nil, &problem{ReasonInvalidTemplate, "spec.target.template.data: " + err.Error(), true}
	}

	in := &inputs{
		request: oauth.Request{
			TokenURL:     tokenURL,
			ClientID:     key.ClientID,
			ClientSecret: key.ClientSecret,
			Scopes:       normalizeScopes(spec.Scopes),
			Audience:     ptr.Deref(spec.Audience, ""),
			AuthMethod:   oauth.AuthMethod(ptr.Deref(spec.ClientAuthMethod, vantagev1alpha1.ClientAuthAuto)),
		},
		apiURL:       apiURL,
		organization: firstNonEmpty(ptr.Deref(spec.Organization, ""), key.Organization),
		templates:    templates,
	}
	in.hash = in.fingerprint()
	return in, nil
}

// fingerprint hashes what the token and the data are made of. The target
// Secret carries it, and that Secret holds a token anyway, so the hash of
// the client secret in it reveals nothing a reader could not use directly.
func (in *inputs) fingerprint() string {
	b, _ := json.Marshal(struct {
		TokenURL, ClientID, ClientSecret, Audience, APIURL, Organization string
		Scopes                                                           []string
		Templates                                                        map[string]string
	}{
		in.request.TokenURL, in.request.ClientID, in.request.ClientSecret, in.request.Audience, in.apiURL, in.organization,
		in.request.Scopes, in.templates,
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

// checkEndpoint applies the CRD's URL rule to URLs that come from a key:
// https, or http only to a loopback address for local development.
func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" || host == "127.0.0.1" || host == "::1" {
			return nil
		}
		return fmt.Errorf("%q uses http, which is allowed only to localhost, 127.0.0.1 or [::1]; use https", raw)
	default:
		return fmt.Errorf("%q must use https", raw)
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
