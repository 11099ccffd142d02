package controller

// Condition reasons. They double as event reasons, so `kubectl get events`
// and `kubectl describe` use the same words as the conditions.
const (
	// ReasonProgressing: the first token is being requested.
	ReasonProgressing = "Progressing"
	// ReasonTokenValid: the target Secret holds a token valid now.
	ReasonTokenValid = "TokenValid"
	// ReasonRefreshFailing: refreshing failed but the current token is still valid.
	ReasonRefreshFailing = "RefreshFailing"
	// ReasonTokenExpired: the token in the target Secret has expired.
	ReasonTokenExpired = "TokenExpired"
	// ReasonSuspended: spec.suspend is true.
	ReasonSuspended = "Suspended"
	// ReasonSecretNotFound: the service-account Secret does not exist (yet).
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonServiceAccountNotFound: the ServiceAccount of
	// spec.serviceAccountRef does not exist (yet); not Stalled, like
	// SecretNotFound.
	ReasonServiceAccountNotFound = "ServiceAccountNotFound"
	// ReasonServiceAccountNotOptedIn: the ServiceAccount lacks the label
	// vantage.omnivector.solutions/token-source: "true". Stalled.
	ReasonServiceAccountNotOptedIn = "ServiceAccountNotOptedIn"
	// ReasonTokenRequestForbidden: RBAC refuses the operator create on
	// serviceaccounts/token for that ServiceAccount. Stalled.
	ReasonTokenRequestForbidden = "TokenRequestForbidden"
	// ReasonAudienceNotAllowed: the ServiceAccount's annotation
	// vantage.omnivector.solutions/token-audiences does not list the
	// audience the exchange needs. Stalled.
	ReasonAudienceNotAllowed = "AudienceNotAllowed"
	// ReasonSecretKeyNotFound: the Secret lacks the key the reference names.
	ReasonSecretKeyNotFound = "SecretKeyNotFound"
	// ReasonInvalidKey: the service-account key is malformed or incomplete.
	ReasonInvalidKey = "InvalidServiceAccountKey"
	// ReasonTokenURLNotAllowed: the token URL's host is not in the operator's
	// --allowed-token-hosts.
	ReasonTokenURLNotAllowed = "TokenURLNotAllowed"
	// ReasonCABundleNotFound: the CA bundle named by spec.tls.caBundleRef,
	// or its key, does not exist.
	ReasonCABundleNotFound = "CABundleNotFound"
	// ReasonInvalidCABundle: the CA bundle holds no PEM certificate.
	ReasonInvalidCABundle = "InvalidCABundle"
	// ReasonTLSVerificationFailed: the token server's certificate is not
	// trusted (or not valid for its name).
	ReasonTLSVerificationFailed = "TLSVerificationFailed"
	// ReasonInsecureSkipVerify: spec.tls.insecureSkipVerify is in use.
	ReasonInsecureSkipVerify = "InsecureSkipVerify"
	// ReasonInvalidTemplate: spec.target.template does not render.
	ReasonInvalidTemplate = "InvalidTemplate"
	// ReasonTargetConflict: the target Secret exists and is not ours to write.
	ReasonTargetConflict = "TargetConflict"
	// ReasonInvalidClient: the token server refused the client credentials.
	ReasonInvalidClient = "InvalidClient"
	// ReasonInvalidScope: the token server refused the requested scopes.
	ReasonInvalidScope = "InvalidScope"
	// ReasonTokenRequestRejected: the token server refused the request for
	// another reason, or answered with something that is not a token.
	ReasonTokenRequestRejected = "TokenRequestRejected"
	// ReasonTokenRequestFailed: the token request failed in a way a retry may
	// fix (network, 5xx, 429).
	ReasonTokenRequestFailed = "TokenRequestFailed"
	// ReasonDiscoveryFailed: the issuer's discovery document could not be
	// read (retried), or names a token endpoint no secret may go to
	// (stalled).
	ReasonDiscoveryFailed = "DiscoveryFailed"
	// ReasonIssuerMismatch: the discovery document names another issuer
	// than issuerURL or expectedIssuer. Stalled.
	ReasonIssuerMismatch = "IssuerMismatch"
	// ReasonAuthMethodUnsupported: the token endpoint does not list the
	// auth method the client would use. Stalled.
	ReasonAuthMethodUnsupported = "AuthMethodUnsupported"
	// ReasonTokenRejectedByAPI: with verifyToken, the Vantage API refused a
	// new token (401), which was not written. Stalled.
	ReasonTokenRejectedByAPI = "TokenRejectedByAPI"
	// ReasonValidationFailed: the Vantage API could not check a credential
	// (network, 5xx, 429: retried; no such endpoint or not the API:
	// stalled).
	ReasonValidationFailed = "ValidationFailed"

	// ReasonAPIKeyValid: the Vantage API accepted the API key, which the
	// target Secret holds.
	ReasonAPIKeyValid = "APIKeyValid"
	// ReasonAPIKeyUnverified: the Vantage API has no auth/test endpoint, so
	// the API key was written without a check.
	ReasonAPIKeyUnverified = "APIKeyUnverified"
	// ReasonAPIKeyRejected: the Vantage API refused the API key (401). It
	// is not written, and not checked again until its Secret changes.
	// Stalled.
	ReasonAPIKeyRejected = "APIKeyRejected"
	// ReasonAPIKeyExpired: the API key passed the expiry the Vantage API
	// gave. Stalled until a new key is put in its Secret.
	ReasonAPIKeyExpired = "APIKeyExpired"
	// ReasonInvalidAPIKey: the API key's Secret holds an empty value or one
	// no API key can be.
	ReasonInvalidAPIKey = "InvalidAPIKey"
	// ReasonAPIKeyExpiringSoon is the event reason for an API key that
	// expires within spec.expiryWarning.
	ReasonAPIKeyExpiringSoon = "APIKeyExpiringSoon"

	// ReasonNoTargetNamespaces: a ClusterVantageCredential's target selects
	// no namespace (yet); not Stalled, since a namespace may appear.
	ReasonNoTargetNamespaces = "NoTargetNamespaces"
	// ReasonInvalidNamespaceSelector: spec.target.namespaceSelector does
	// not parse.
	ReasonInvalidNamespaceSelector = "InvalidNamespaceSelector"
	// ReasonNoCredentialNamespace: a ClusterVantageCredential exists but
	// the operator knows no namespace to read its key from.
	ReasonNoCredentialNamespace = "NoCredentialNamespace"

	// reasonRolloutRestarted is the event reason for a workload restarted
	// by spec.rolloutRestart; the condition's reasons are package rollout's.
	reasonRolloutRestarted = "RolloutRestarted"

	// ReasonIssued and ReasonRefreshed are event reasons for a new token.
	ReasonIssued    = "Issued"
	ReasonRefreshed = "Refreshed"
)

// Reconciling reasons.
const (
	reconcilingFirstToken    = "IssuingToken"
	reconcilingNewGeneration = "NewGeneration"
	reconcilingRequested     = "RefreshRequested"
	reconcilingDone          = "Succeeded"
	reconcilingStalled       = "Stalled"
	reconcilingSuspended     = ReasonSuspended
)
