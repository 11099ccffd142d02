package controller

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Endpoints are the operator-level endpoint settings: the endpoints used
// when neither the spec nor the key names one, and the hosts a client
// secret may be sent to.
type Endpoints struct {
	TokenURL string
	APIURL   string
	// AllowedTokenHosts, when not empty, are the only token hosts the
	// operator sends client secrets to, so that whoever may create a
	// VantageCredential cannot point the operator at an address of their
	// choosing. Each entry is a host name or IP ("auth.example.com"), a
	// host and port ("auth.example.com:8443"), or "*.example.com" for any
	// host below example.com.
	AllowedTokenHosts []string
}

// DefaultEndpoints are Vantage's documented endpoints; any token host is
// allowed.
var DefaultEndpoints = Endpoints{
	TokenURL: "https://auth.vantage.omnivector.solutions/oauth/token",
	APIURL:   "https://api.vantage.omnivector.solutions",
}

// ParseHostAllowlist reads the comma-separated --allowed-token-hosts flag.
// It refuses entries that look like URLs, since a scheme or a path in an
// entry would silently match nothing.
func ParseHostAllowlist(flag string) ([]string, error) {
	var hosts []string
	for entry := range strings.SplitSeq(flag, ",") {
		entry = strings.ToLower(strings.TrimSpace(entry))
		if entry == "" {
			continue
		}
		host := entry
		if h, port, err := net.SplitHostPort(entry); err == nil {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("allowed token host %q: want a host, host:port or *.domain, without scheme or path", entry)
			}
			host = h
		}
		name := strings.TrimPrefix(host, "*.")
		if name == "" || strings.ContainsAny(name, "/@?#[]* ") || (name != host && net.ParseIP(name) != nil) {
			return nil, fmt.Errorf("allowed token host %q: want a host, host:port or *.domain, without scheme or path", entry)
		}
		hosts = append(hosts, entry)
	}
	return hosts, nil
}

// Validate checks the defaults as the CRD checks a credential's URLs, and
// that the default token host is itself allowed, so a misconfigured
// operator fails at start rather than on every credential.
func (e Endpoints) Validate() error {
	for _, u := range []struct{ flag, value string }{{"--default-token-url", e.TokenURL}, {"--default-api-url", e.APIURL}} {
		if err := checkEndpoint(u.value); err != nil {
			return fmt.Errorf("%s: %w", u.flag, err)
		}
	}
	if !e.tokenHostAllowed(e.TokenURL) {
		return fmt.Errorf("--default-token-url %s: its host is not in --allowed-token-hosts (%s)", e.TokenURL, strings.Join(e.AllowedTokenHosts, ", "))
	}
	return nil
}

// tokenHostAllowed reports whether rawURL's host matches AllowedTokenHosts;
// an empty list allows any host. Names compare without case and without a
// trailing dot; an entry without a port matches any port.
func (e Endpoints) tokenHostAllowed(rawURL string) bool {
	if len(e.AllowedTokenHosts) == 0 {
		return true
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	for _, entry := range e.AllowedTokenHosts {
		pattern, wantPort := entry, ""
		if h, p, err := net.SplitHostPort(entry); err == nil {
			pattern, wantPort = h, p
		}
		if wantPort != "" && wantPort != port {
			continue
		}
		pattern = strings.TrimSuffix(pattern, ".")
		if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
			if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
				return true
			}
		} else if host == pattern {
			return true
		}
	}
	return false
}

// hostOf is rawURL's host for messages, or rawURL itself if it has none.
func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return rawURL
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

// allowDiscovered is the oauth.Request's AllowURL: the issuer and the token
// endpoint its discovery document names obey the same rules as a token URL
// in the spec (https, or http to loopback) and --allowed-token-hosts, so a
// discovery document cannot send a client secret where a spec could not.
func (e Endpoints) allowDiscovered(raw string) error {
	if err := checkEndpoint(raw); err != nil {
		return err
	}
	if !e.tokenHostAllowed(raw) {
		return errors.New(e.hostRefusal(raw, ""))
	}
	return nil
}

// hostRefusal says that raw's host is off --allowed-token-hosts and what to
// do; source, when set, says where the URL came from.
func (e Endpoints) hostRefusal(raw, source string) string {
	if source != "" {
		source = " (" + source + ")"
	}
	return fmt.Sprintf("this operator sends client secrets only to %s, not to %q%s: use an allowed token endpoint, or ask the cluster administrators to add the host to --allowed-token-hosts",
		strings.Join(e.AllowedTokenHosts, ", "), hostOf(raw), source)
}
