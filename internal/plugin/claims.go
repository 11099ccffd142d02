package plugin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
)

// Claims are the token's JWT claims that tell whom and what it is for.
// The token itself is never kept: only these are read out of it.
type Claims struct {
	Subject string `json:"sub,omitempty"`
	// Client is azp, else client_id (Keycloak and RFC 9068 name the client
	// differently).
	Client string `json:"client,omitempty"`
	// Scopes from scope (space-separated, RFC 9068), else scp.
	Scopes       []string   `json:"scopes,omitempty"`
	Organization string     `json:"organization,omitempty"`
	Issuer       string     `json:"iss,omitempty"`
	Audience     []string   `json:"aud,omitempty"`
	IssuedAt     *time.Time `json:"iat,omitempty"`
	ExpiresAt    *time.Time `json:"exp,omitempty"`
}

// errNotJWT says the token is not a JWS, as an API key or an opaque token
// is not: it has no claims to read.
var errNotJWT = errors.New("the token is not a JWT (an API key or an opaque token): it has no claims to decode")

// decodeClaims reads the payload of a JWS without checking its signature:
// the plugin only shows what the token says of itself, and says so.
func decodeClaims(token string) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errNotJWT
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errNotJWT
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errNotJWT
	}
	c := &Claims{
		Subject:   str(m["sub"]),
		Client:    firstOf(str(m["azp"]), str(m["client_id"])),
		Issuer:    str(m["iss"]),
		Audience:  strs(m["aud"]),
		IssuedAt:  unix(m["iat"]),
		ExpiresAt: unix(m["exp"]),
	}
	if s := str(m["scope"]); s != "" {
		c.Scopes = strings.Fields(s)
	} else {
		c.Scopes = strs(m["scp"])
	}
	c.Organization = organization(m["organization"])
	if c.Organization == "" {
		c.Organization = organization(m["org"])
	}
	return c, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// strs reads a string or an array of strings (aud and scp come as either).
func strs(raw json.RawMessage) []string {
	if s := str(raw); s != "" {
		return strings.Fields(s)
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	return list
}

// organization reads a string, an array, or Keycloak's organization claim,
// an object keyed by the organizations' aliases.
func organization(raw json.RawMessage) string {
	if s := strs(raw); len(s) > 0 {
		return strings.Join(s, ", ")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || len(obj) == 0 {
		return ""
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func unix(raw json.RawMessage) *time.Time {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return nil
	}
	f, err := n.Float64()
	if err != nil || f < 1 || f > 253402300799 {
		return nil
	}
	t := time.Unix(int64(f), 0).UTC()
	return &t
}
