package oauth

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
)

// addCredentials puts the client's credentials where method says: the form
// body or the Authorization header.
func addCredentials(method AuthMethod, req Request, form url.Values, header http.Header) {
	if method == AuthPost {
		form.Set("client_id", req.ClientID)
		form.Set("client_secret", req.ClientSecret)
		return
	}
	// RFC 6749 §2.3.1 form-urlencodes both before Basic encoding; servers
	// that decode them (Keycloak among them) would otherwise mangle a secret
	// holding '%' or '+', and an id holding ':' would split wrongly.
	creds := url.QueryEscape(req.ClientID) + ":" + url.QueryEscape(req.ClientSecret)
	header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(creds)))
}

// refusesClient says whether an answer may mean the server wants the
// credentials elsewhere: invalid_client is the RFC's answer to an
// unsupported method, unauthorized_client what some Keycloak versions send.
// Nothing else (network errors, 5xx, 429) justifies sending the secret again.
func refusesClient(e *Error) bool {
	return e.Code == codeInvalidClient || e.Code == codeUnauthorizedClient
}

// otherMethod is the fallback of Auto.
func otherMethod(m AuthMethod) AuthMethod {
	if m == AuthPost {
		return AuthBasic
	}
	return AuthPost
}

// methodMemory remembers, per token URL and client, the method that last
// worked, so Auto pays for a refused first attempt once rather than on every
// refresh.
type methodMemory struct {
	mu      sync.Mutex
	methods map[string]AuthMethod
}

func memoryKey(req Request) string {
	return req.TokenURL + "\x00" + req.ClientID
}

// first is the method Auto starts with.
func (m *methodMemory) first(req Request) AuthMethod {
	m.mu.Lock()
	defer m.mu.Unlock()
	if method, ok := m.methods[memoryKey(req)]; ok {
		return method
	}
	return AuthBasic
}

func (m *methodMemory) remember(req Request, method AuthMethod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.methods == nil {
		m.methods = make(map[string]AuthMethod)
	}
	m.methods[memoryKey(req)] = method
}
