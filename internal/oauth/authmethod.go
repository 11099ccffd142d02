package oauth

import (
	"fmt"
	"slices"
	"strings"
)

// codeAuthMethodUnsupported: the server does not list the method the
// client would use. Terminal until clientAuthMethod, the key or the
// server's configuration changes.
const codeAuthMethodUnsupported = "auth_method_unsupported"

// wireNames are the token_endpoint_auth_methods_supported values (OIDC
// Discovery §3, RFC 8414 §2) of our methods.
var wireNames = map[AuthMethod]string{
	AuthBasic:         "client_secret_basic",
	AuthPost:          "client_secret_post",
	AuthPrivateKeyJWT: "private_key_jwt",
}

// ChooseAuthMethod picks the method for a client from what the server
// lists in token_endpoint_auth_methods_supported (supported; empty when
// the server lists nothing).
//
// Auto ("" included) picks PrivateKeyJWT for a private key; for a secret,
// ClientSecretBasic when listed (RFC 6749 §2.3.1 makes it the one every
// server must support), else ClientSecretPost when listed. When the list
// is empty it stays Auto, which tries Basic and then the form body. An
// explicit method is kept when listed or when the list is empty. A method
// the server does not list is an auth_method_unsupported *Error, and a
// method that does not fit the credential (a secret method for a private
// key, or the reverse) an invalid_request one.
func ChooseAuthMethod(supported []string, hasPrivateKey bool, requested AuthMethod) (AuthMethod, error) {
	if requested == "" {
		requested = AuthAuto
	}
	if requested == AuthAuto {
		switch {
		case hasPrivateKey:
			requested = AuthPrivateKeyJWT
		case len(supported) == 0:
			return AuthAuto, nil
		case slices.Contains(supported, wireNames[AuthBasic]):
			return AuthBasic, nil
		case slices.Contains(supported, wireNames[AuthPost]):
			return AuthPost, nil
		default:
			return "", unsupportedMethod(supported, "client_secret_basic or client_secret_post, the methods of a client secret")
		}
	}
	wire, known := wireNames[requested]
	switch {
	case !known:
		return "", invalidInput(fmt.Sprintf("unknown client auth method %q", truncate(string(requested), 40)))
	case hasPrivateKey && requested != AuthPrivateKeyJWT:
		return "", invalidInput(fmt.Sprintf("the client has a private key, which authenticates with %s, not %s", AuthPrivateKeyJWT, requested))
	case !hasPrivateKey && requested == AuthPrivateKeyJWT:
		return "", invalidInput(fmt.Sprintf("%s needs a private key, and the client has a secret", AuthPrivateKeyJWT))
	case len(supported) > 0 && !slices.Contains(supported, wire):
		return "", unsupportedMethod(supported, fmt.Sprintf("%s (%s)", wire, requested))
	}
	return requested, nil
}

// unsupportedMethod names what the server lists, cleaned: the list is the
// server's text.
func unsupportedMethod(supported []string, missing string) *Error {
	listed := (&redactor{}).clean(strings.Join(supported, ", "))
	return &Error{Kind: Terminal, Code: codeAuthMethodUnsupported,
		Description: fmt.Sprintf("the token endpoint supports only %s, not %s", listed, missing)}
}
