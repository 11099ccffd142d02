package plugin

import "strings"

// hint is one row of README's troubleshooting table: a Ready reason and
// what to do about it.
type hint struct {
	Reason string
	Do     string
}

// hints is the single source of "what to do" for each Ready reason:
// `kubectl vantage status NAME` prints the row of the current reason, and
// README.md's "Ready reason | what to do" table must hold exactly these
// rows in this order (TestHintsMatchREADME fails otherwise). The text is
// README's markdown; terminal output drops the backticks.
var hints = []hint{
	{"TokenValid", "nothing"},
	{"RefreshFailing", "the token server failed (network, 5xx, 429); the current token is still valid and retries back off; see events"},
	{"TokenExpired", "the token expired and refreshing keeps failing; see the message and events"},
	{"SecretNotFound", "create the service-account (or API-key) Secret"},
	{"SecretKeyNotFound", "the Secret lacks the key named in `serviceAccountSecretRef.key` (or `apiKeySecretRef.key`, default `api-key`)"},
	{"TokenRejectedByAPI", "with `verifyToken`, the Vantage API refused the new token (401); the last good token stays in the target until it expires: check `apiURL` and `audience`"},
	{"ValidationFailed", "with `verifyToken` or an API key, the Vantage API could not check the token or key: away or failing (retried with backoff; an API key that passed before stays in the target and `Ready` stays `True`), or not the API at `apiURL` (stalled: check `apiURL`)"},
	{"APIKeyValid", "nothing: the Vantage API accepts the API key, which the target holds; the message says for which user, until when, and when it is checked next"},
	{"APIKeyUnverified", "nothing to fix on your side: the API at `apiURL` has no `/v1/auth/test`, so the key was written without a check (`Ready=True`, a Warning event says so); check `apiURL` if it should have one"},
	{"APIKeyRejected", "the Vantage API refused the API key (401); it is not written, and not checked again until its Secret changes: put a valid key there"},
	{"APIKeyExpired", "the API key passed the expiry the API gave; put a new key in its Secret (checked at once)"},
	{"InvalidAPIKey", "the API key's Secret holds an empty value, or one with spaces or control characters inside"},
	{"DiscoveryFailed", "the issuer's discovery document could not be read (network, 5xx, not a discovery document: retried with backoff), or names a token endpoint that is no URL a secret may go to (stalled)"},
	{"IssuerMismatch", "the discovery document names another issuer than `issuerURL`; the message names both: set `expectedIssuer` to the one it names, or fix `issuerURL`"},
	{"AuthMethodUnsupported", "the token endpoint's `token_endpoint_auth_methods_supported` lacks the method the client would use: set `clientAuthMethod` to one it lists, or enable the method on the server"},
	{"InvalidServiceAccountKey", "the key file is not JSON, or `client_id`/`client_secret` is empty, or it holds both `client_secret` and `private_key`, or its `private_key` is encrypted, public, too weak or of another kind (the message says which), or a URL in it is not https"},
	{"InvalidClient", "the token server refused the client: check `client_id` and `client_secret` (with a private key: `private_key`, `key_id` and the public key the server holds; with `serviceAccountRef`: `clientID`, and that the server trusts the cluster's service-account issuer with the ServiceAccount as subject)"},
	{"ServiceAccountNotFound", "create the ServiceAccount named in `serviceAccountRef`, labelled `vantage.omnivector.solutions/token-source: \"true\"`; the credential waits and acts when it appears"},
	{"ServiceAccountNotOptedIn", "the ServiceAccount lacks the label `vantage.omnivector.solutions/token-source: \"true\"`; whoever owns it adds it (`kubectl label serviceaccount <name> vantage.omnivector.solutions/token-source=true`)"},
	{"TokenRequestForbidden", "RBAC refuses the operator `create` on `serviceaccounts/token` in that namespace: the install was changed, or a scoped install lacks it; grant it there"},
	{"AudienceNotAllowed", "the ServiceAccount's annotation `vantage.omnivector.solutions/token-audiences` does not list the audience the exchange needs (the message names both): whoever owns the ServiceAccount adds it, or set `serviceAccountRef.audience` to a listed one"},
	{"InvalidScope", "the token server refused a requested scope"},
	{"TokenRequestRejected", "the token server refused the request otherwise, or answered with something that is not a token"},
	{"NoTargetNamespaces", "a ClusterVantageCredential's target selects no namespace: label one, or list it in `target.namespaces`"},
	{"NoCredentialNamespace", "the manager runs out of cluster without `--cluster-credential-namespace`: set it to the namespace of the ClusterVantageCredential's key Secret"},
	{"InvalidNamespaceSelector", "`target.namespaceSelector` has a key or value that is no label key or value: fix it"},
	{"TargetConflict", "the target Secret exists and is not this credential's: delete it, rename `target.name`, or use `creationPolicy: Merge`"},
	{"TLSVerificationFailed", "the token server's certificate is not trusted or not valid for its name: give its CA in `spec.tls.caBundleRef`"},
	{"CABundleNotFound", "create the Secret or ConfigMap named by `spec.tls.caBundleRef`, with the key it names"},
	{"InvalidCABundle", "the CA bundle holds no PEM certificate"},
	{"TokenURLNotAllowed", "the token URL's host is not in the operator's `--allowed-token-hosts`: use an allowed endpoint or ask the cluster administrators"},
	{"InvalidTemplate", "a template in `target.template.data` does not render"},
	{"Suspended", "`spec.suspend` is true"},
}

// noHint is said for a reason the table does not list (a first token
// being requested, a newer operator's reason): the message and events are
// all there is.
const noHint = "read the Ready message and the events above"

// whatToDo is the hint for a Ready reason, as plain text.
func whatToDo(reason string) string {
	for _, h := range hints {
		if h.Reason == reason {
			return strings.ReplaceAll(h.Do, "`", "")
		}
	}
	return noHint
}
