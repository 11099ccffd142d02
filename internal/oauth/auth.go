package oauth

import (
	"sync"

	"golang.org/x/oauth2"
)

// authStyle is where golang.org/x/oauth2 puts the credentials for method:
// the form body for a post or an assertion (client_id beside it, and no
// secret, since there is none), else the Basic header.
//
// Never the library's auto-detection: it sends the secret a second time
// after any failure, a 503 or a timeout included, and guesses again after
// every restart. Auto is ours (exchange), and both of its attempts name
// their style. The library form-encodes the id and secret before Basic
// encoding, as RFC 6749 §2.3.1 asks, so servers that decode them (Keycloak
// among them) see a '%', '+' or ':' as sent.
func authStyle(method AuthMethod) oauth2.AuthStyle {
	if method == AuthPost || method == AuthPrivateKeyJWT {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
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
