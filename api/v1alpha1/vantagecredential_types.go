package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClientAuthMethod says how the client authenticates to the token endpoint.
// +kubebuilder:validation:Enum=Auto;ClientSecretBasic;ClientSecretPost;PrivateKeyJWT
type ClientAuthMethod string

const (
	// ClientAuthAuto tries HTTP Basic first and falls back to the form body
	// once when the server refuses the client, remembering what worked.
	ClientAuthAuto ClientAuthMethod = "Auto"
	// ClientAuthBasic sends client_id and client_secret with HTTP Basic.
	ClientAuthBasic ClientAuthMethod = "ClientSecretBasic"
	// ClientAuthPost sends client_id and client_secret in the form body.
	ClientAuthPost ClientAuthMethod = "ClientSecretPost"
	// ClientAuthPrivateKeyJWT sends client_id and a JWT signed with the
	// key's private_key (RFC 7523); Auto means this for such a key.
	ClientAuthPrivateKeyJWT ClientAuthMethod = "PrivateKeyJWT"
)

// ScopeDelimiter says how the scopes are joined in the token request.
// +kubebuilder:validation:Enum=Space;Comma
type ScopeDelimiter string

const (
	// ScopeDelimiterSpace joins scopes with spaces, as RFC 6749 §3.3 says.
	ScopeDelimiterSpace ScopeDelimiter = "Space"
	// ScopeDelimiterComma joins them with commas, the form Vantage's API
	// documentation shows (scope=jobs:read,clusters:read).
	ScopeDelimiterComma ScopeDelimiter = "Comma"
)

// CreationPolicy says who owns the target Secret.
// +kubebuilder:validation:Enum=Owner;Orphan;Merge
type CreationPolicy string

const (
	// CreationPolicyOwner creates the target with a controller owner
	// reference, so it is deleted with the credential.
	CreationPolicyOwner CreationPolicy = "Owner"
	// CreationPolicyOrphan creates the target without an owner reference, so
	// it outlives the credential.
	CreationPolicyOrphan CreationPolicy = "Orphan"
	// CreationPolicyMerge writes only the operator's keys into a Secret that
	// may already exist, leaving every other key alone.
	CreationPolicyMerge CreationPolicy = "Merge"
)

// Annotations and labels the operator reads or writes.
const (
	// RefreshRequestedAnnotation forces one exchange when set to a value not
	// yet handled (for example the current time).
	RefreshRequestedAnnotation = "vantage.omnivector.solutions/refresh-requested-at"
	// CredentialLabel on a target Secret names the credential managing it.
	CredentialLabel = "vantage.omnivector.solutions/credential"
	// ManagedByLabel on a target Secret marks it as written by the operator.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel.
	ManagedByValue = "vantage-credential-operator"
	// ExpiresAtAnnotation on a target Secret holds the token's expiry (RFC 3339).
	ExpiresAtAnnotation = "vantage.omnivector.solutions/expires-at"
	// IssuedAtAnnotation on a target Secret holds when the token was issued (RFC 3339).
	IssuedAtAnnotation = "vantage.omnivector.solutions/issued-at"
	// ExpirySourceAnnotation on a target Secret says where the expiry came
	// from: expires_in, jwt_exp, or default when the token server gave none
	// and the operator assumed --default-token-lifetime.
	ExpirySourceAnnotation = "vantage.omnivector.solutions/expiry-source"
	// DataHashAnnotation on a target Secret holds a hash of the data the
	// operator wrote, so edits by others are detected and repaired.
	DataHashAnnotation = "vantage.omnivector.solutions/data-hash"
	// InputsHashAnnotation on a target Secret holds a hash of everything the
	// token and the Secret were made from (key, scopes, URLs, template), so a
	// change of any of them causes a new exchange.
	InputsHashAnnotation = "vantage.omnivector.solutions/inputs-hash"
	// RestartedForAnnotation on a workload and its pod template names what
	// spec.rolloutRestart last restarted it for (a hash), so the same
	// change never restarts it twice.
	RestartedForAnnotation = "vantage.omnivector.solutions/restarted-for"
	// RestartedAtAnnotation on a workload and its pod template holds when
	// spec.rolloutRestart last restarted it (RFC 3339), for minInterval.
	RestartedAtAnnotation = "vantage.omnivector.solutions/restarted-at"
	// TokenSourceLabel, set to "true" on a ServiceAccount, lets credentials
	// in its namespace name it in spec.serviceAccountRef: the operator
	// requests tokens only for ServiceAccounts that opted in, so naming one
	// is not enough to borrow its identity.
	TokenSourceLabel = "vantage.omnivector.solutions/token-source"
	// TokenAudiencesAnnotation on a ServiceAccount that lends its tokens
	// lists, comma-separated, the only audiences its tokens may be minted
	// for. Without it the credential's author chooses the audience, and so
	// which servers trusting the cluster's issuer the token works at.
	TokenAudiencesAnnotation = "vantage.omnivector.solutions/token-audiences"
)

// Condition types, following kstatus.
const (
	// ConditionReady is True while the target Secret holds a token valid now.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the operator works towards a first
	// token or a new generation of its inputs.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when retrying cannot help until an input changes.
	ConditionStalled = "Stalled"
	// ConditionTLSVerified is False while spec.tls.insecureSkipVerify turns
	// off verification of the token server's certificate; absent otherwise.
	ConditionTLSVerified = "TLSVerified"
	// ConditionRolloutRestart says whether the workloads of
	// spec.rolloutRestart hold the current token; absent without it. It
	// never turns Ready False: the token itself is fine.
	ConditionRolloutRestart = "RolloutRestart"
)

// CABundleKind is the kind of object holding a CA bundle.
// +kubebuilder:validation:Enum=Secret;ConfigMap
type CABundleKind string

// CA bundle kinds.
const (
	CABundleSecret    CABundleKind = "Secret"
	CABundleConfigMap CABundleKind = "ConfigMap"
)

// CABundleReference names PEM CA certificates in a Secret or ConfigMap of
// the credential's namespace.
type CABundleReference struct {
	// kind is Secret or ConfigMap.
	// +required
	Kind CABundleKind `json:"kind"`

	// name of the Secret or ConfigMap.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key holding the PEM certificates. Default ca.crt.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key *string `json:"key,omitempty"`
}

// TLSConfig says how the token server's certificate is verified.
// +kubebuilder:validation:XValidation:rule="!(has(self.caBundleRef) && has(self.insecureSkipVerify) && self.insecureSkipVerify)",message="set tls.caBundleRef or tls.insecureSkipVerify, not both: with a CA bundle the certificate can be verified"
type TLSConfig struct {
	// caBundleRef names the CA certificates (PEM) trusted for the token
	// server instead of the system's, for a server with a private CA.
	// +optional
	CABundleRef *CABundleReference `json:"caBundleRef,omitempty"`

	// insecureSkipVerify turns off verification of the token server's
	// certificate: whoever can intercept the traffic can read the client
	// secret. Allowed for testing; the TLSVerified condition and a Warning
	// event on every token request say it is in use.
	// +optional
	InsecureSkipVerify *bool `json:"insecureSkipVerify,omitempty"`
}

// SecretKeyReference names a Secret in the credential's namespace and,
// optionally, one key in it.
type SecretKeyReference struct {
	// name is the name of the Secret holding the service-account key.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key is the data key holding the JSON key file. When unset,
	// "service-account.json" is used if present, else the plain keys
	// client_id and client_secret.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key *string `json:"key,omitempty"`
}

// APIKeySecretReference names a Secret in the credential's namespace holding
// a Vantage API key.
type APIKeySecretReference struct {
	// name is the name of the Secret holding the API key.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key is the data key holding the API key. Default api-key.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key *string `json:"key,omitempty"`
}

// ServiceAccountReference names a Kubernetes ServiceAccount whose
// short-lived tokens authenticate the client: no secret is stored.
type ServiceAccountReference struct {
	// name of the ServiceAccount, in the credential's namespace (for a
	// ClusterVantageCredential, the operator's). It must carry the label
	// vantage.omnivector.solutions/token-source: "true".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// audience of the ServiceAccount token, which the token server checks.
	// Default: the issuer, when spec.issuerURL discovers it, else the
	// token URL.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Audience *string `json:"audience,omitempty"`
}

// TargetTemplate shapes the target Secret.
type TargetTemplate struct {
	// type is the Secret type of the target. Default Opaque.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self != 'kubernetes.io/service-account-token' && self != 'bootstrap.kubernetes.io/token'",message="type must not be kubernetes.io/service-account-token or bootstrap.kubernetes.io/token: the API server manages those Secrets; use Opaque"
	Type *string `json:"type,omitempty"`

	// labels are added to the target Secret.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations are added to the target Secret.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// data replaces the default keys: each value is a Go text/template
	// rendered with .AccessToken, .TokenType, .ExpiresAt (RFC 3339),
	// .Scope (space-separated), .Scopes, .APIURL and .Organization.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[-._a-zA-Z0-9]+$') && size(k) <= 253)",message="data keys must be valid Secret keys: letters, digits, '-', '_' and '.', at most 253 characters"
	Data map[string]string `json:"data,omitempty"`
}

// TargetSpec describes the Secret the token is written to.
type TargetSpec struct {
	// name of the target Secret in the credential's namespace. Default: the
	// credential's name.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name *string `json:"name,omitempty"`

	// creationPolicy says who owns the target Secret: Owner (deleted with the
	// credential), Orphan (kept), or Merge (write only the operator's keys
	// into a Secret that may already exist). Default Owner.
	// +optional
	// +kubebuilder:default=Owner
	CreationPolicy *CreationPolicy `json:"creationPolicy,omitempty"`

	// template shapes the target Secret; without it the default keys are
	// written (access_token, token_type, expires_at, scope, VANTAGE_API_KEY,
	// VANTAGE_API_URL, VANTAGE_ORG).
	// +optional
	Template *TargetTemplate `json:"template,omitempty"`

	// namespaceSelector picks the namespaces a ClusterVantageCredential
	// writes its target Secret into, ORed with namespaces. Only on
	// ClusterVantageCredential: a VantageCredential writes into its own
	// namespace. The CRD refuses unknown operators and missing values; a
	// key or value that is no label key or value makes the credential
	// Stalled (InvalidNamespaceSelector), since a rule checking them would
	// cost more than the API server allows for an unbounded selector.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="namespaceSelector: a matchExpressions operator must be In, NotIn, Exists or DoesNotExist"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn']) == (has(e.values) && size(e.values) > 0))",message="namespaceSelector: In and NotIn need values, Exists and DoesNotExist take none"
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// namespaces a ClusterVantageCredential writes its target Secret into,
	// ORed with namespaceSelector. Only on ClusterVantageCredential.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespaces []string `json:"namespaces,omitempty"`
}

// WorkloadKind is a kind of apps/v1 workload spec.rolloutRestart can restart.
// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet
type WorkloadKind string

// Workload kinds.
const (
	WorkloadDeployment  WorkloadKind = "Deployment"
	WorkloadStatefulSet WorkloadKind = "StatefulSet"
	WorkloadDaemonSet   WorkloadKind = "DaemonSet"
)

// RolloutRestartTrigger says which changes restart the workloads.
// +kubebuilder:validation:Enum=TokenChange;SourceChange
type RolloutRestartTrigger string

const (
	// RolloutRestartOnTokenChange restarts for every new token (or API
	// key) written to the target Secret.
	RolloutRestartOnTokenChange RolloutRestartTrigger = "TokenChange"
	// RolloutRestartOnSourceChange restarts only when what the token is
	// made from changed: the key in its Secret, or the spec.
	RolloutRestartOnSourceChange RolloutRestartTrigger = "SourceChange"
)

// RolloutRestartTarget names one workload in the target Secret's namespace.
type RolloutRestartTarget struct {
	// kind is Deployment, StatefulSet or DaemonSet.
	// +required
	Kind WorkloadKind `json:"kind"`

	// name of the workload.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// RolloutRestartSpec restarts the workloads that read the token through
// environment variables, which keep the token their pods started with.
// +kubebuilder:validation:XValidation:rule="has(self.targets) || has(self.selector)",message="rolloutRestart needs targets or a selector (or both): they name the workloads to restart"
type RolloutRestartSpec struct {
	// targets are workloads in the target Secret's namespace, by kind and
	// name.
	// +optional
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Targets []RolloutRestartTarget `json:"targets,omitempty"`

	// selector picks the Deployments, StatefulSets and DaemonSets in the
	// target Secret's namespace whose own labels match it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",message="rolloutRestart.selector must not be empty: an empty selector would restart every workload in the namespace"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="rolloutRestart.selector: a matchExpressions operator must be In, NotIn, Exists or DoesNotExist"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, (e.operator in ['In', 'NotIn']) == (has(e.values) && size(e.values) > 0))",message="rolloutRestart.selector: In and NotIn need values, Exists and DoesNotExist take none"
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// on says what restarts the workloads: TokenChange (every new token,
	// the default) or SourceChange (only a new key or a changed spec).
	// +optional
	// +kubebuilder:default=TokenChange
	On *RolloutRestartTrigger `json:"on,omitempty"`

	// minInterval is the least time between two restarts of one workload;
	// changes within it are coalesced into one restart at its end, for
	// the newest token. Default 0s: every change restarts at once.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	MinInterval *metav1.Duration `json:"minInterval,omitempty"`
}

// VantageCredentialSpec defines the desired state of VantageCredential.
// +kubebuilder:validation:XValidation:rule="!(has(self.scopeDelimiter) && self.scopeDelimiter == 'Comma' && has(self.scopes) && self.scopes.exists(s, s.contains(',')))",message="with scopeDelimiter Comma no scope may contain a comma: the token server could not tell the scopes apart"
// +kubebuilder:validation:XValidation:rule="!(has(self.tokenURL) && has(self.issuerURL))",message="set tokenURL or issuerURL, not both: issuerURL discovers the token endpoint"
// +kubebuilder:validation:XValidation:rule="!has(self.expectedIssuer) || has(self.issuerURL)",message="expectedIssuer needs issuerURL: it names the issuer that issuerURL's discovery document may name instead"
// +kubebuilder:validation:XValidation:rule="[has(self.serviceAccountSecretRef), has(self.apiKeySecretRef), has(self.serviceAccountRef)].filter(x, x).size() == 1",message="set exactly one of serviceAccountSecretRef (a service-account key, exchanged for tokens), apiKeySecretRef (a Vantage API key, written as it is) and serviceAccountRef (a Kubernetes ServiceAccount whose tokens authenticate the client)"
// +kubebuilder:validation:XValidation:rule="!has(self.serviceAccountRef) || has(self.clientID)",message="serviceAccountRef needs clientID: no key file carries the client id"
// +kubebuilder:validation:XValidation:rule="!has(self.serviceAccountRef) || !has(self.clientAuthMethod) || self.clientAuthMethod in ['Auto', 'PrivateKeyJWT']",message="with serviceAccountRef the client authenticates with the ServiceAccount's token as a client assertion: clientAuthMethod must be Auto or PrivateKeyJWT"
// +kubebuilder:validation:XValidation:rule="!has(self.apiKeySecretRef) || !(has(self.tokenURL) || has(self.issuerURL) || has(self.audience) || has(self.scopes) || has(self.scopeDelimiter) || has(self.refreshBefore) || has(self.verifyToken) || has(self.clientID))",message="with apiKeySecretRef the API key itself is the credential: tokenURL, issuerURL, audience, scopes, scopeDelimiter, refreshBefore, verifyToken and clientID belong to serviceAccountSecretRef and serviceAccountRef; remove them"
// +kubebuilder:validation:XValidation:rule="has(self.apiKeySecretRef) || !(has(self.validateInterval) || has(self.expiryWarning))",message="validateInterval and expiryWarning belong to apiKeySecretRef: a service-account key's tokens are refreshed before they expire instead"
type VantageCredentialSpec struct {
	// serviceAccountSecretRef names the Secret holding the Vantage
	// service-account key (client_id and client_secret, or a private
	// key). Exactly one of serviceAccountSecretRef, apiKeySecretRef and
	// serviceAccountRef.
	// +optional
	ServiceAccountSecretRef *SecretKeyReference `json:"serviceAccountSecretRef,omitempty"`

	// apiKeySecretRef names the Secret holding a Vantage API key. The key
	// is checked with the Vantage API (GET <apiURL>/v1/auth/test) when the
	// Secret changes and every validateInterval, and written to the target
	// once a check passed. Exactly one of serviceAccountSecretRef,
	// apiKeySecretRef and serviceAccountRef.
	// +optional
	APIKeySecretRef *APIKeySecretReference `json:"apiKeySecretRef,omitempty"`

	// serviceAccountRef authenticates the client without a stored secret:
	// for each exchange the operator requests a 10-minute token for this
	// Kubernetes ServiceAccount (TokenRequest) and sends it as the client
	// assertion (RFC 7523), which a token server that trusts the cluster's
	// service-account issuer accepts. Needs clientID. Exactly one of
	// serviceAccountSecretRef, apiKeySecretRef and serviceAccountRef.
	// +optional
	ServiceAccountRef *ServiceAccountReference `json:"serviceAccountRef,omitempty"`

	// clientID is the OAuth2 client id. Required with serviceAccountRef,
	// where no key file carries it; with serviceAccountSecretRef it
	// overrides the key's client_id, as the spec's other fields override
	// the key's. Not with apiKeySecretRef.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClientID *string `json:"clientID,omitempty"`

	// validateInterval is how often an API key is checked again. Default
	// 1h, at least 1m. Only with apiKeySecretRef.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="validateInterval must be at least 1m: every check is a request to the Vantage API"
	ValidateInterval *metav1.Duration `json:"validateInterval,omitempty"`

	// expiryWarning is how long before an API key expires a Warning event
	// (APIKeyExpiringSoon) says so, at most once a day. Default 336h (14
	// days). Only with apiKeySecretRef.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="expiryWarning must be a positive duration such as 336h"
	ExpiryWarning *metav1.Duration `json:"expiryWarning,omitempty"`

	// scopes requested for the token, such as jobs:read. Empty means the
	// client's default scopes.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[!#-\[\]-~]+$`
	Scopes []string `json:"scopes,omitempty"`

	// scopeDelimiter joins the scopes in the token request: Space (RFC
	// 6749, the default) or Comma (scope=jobs:read,clusters:read, as
	// Vantage's API documentation shows).
	// +optional
	ScopeDelimiter *ScopeDelimiter `json:"scopeDelimiter,omitempty"`

	// tokenURL is the OAuth2 token endpoint. Overrides token_url from the key.
	// Default https://auth.vantage.omnivector.solutions/oauth/token.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('https://') || (self.startsWith('http://') && url(self).getHostname() in ['localhost', '127.0.0.1', '::1']))",message="tokenURL must be an https URL (http only to localhost, 127.0.0.1 or [::1]), such as https://auth.vantage.omnivector.solutions/oauth/token"
	TokenURL *string `json:"tokenURL,omitempty"`

	// issuerURL is an OIDC issuer, such as
	// https://keycloak.example/realms/vantage: the token endpoint and the
	// auth methods it takes are read from its discovery document
	// (/.well-known/openid-configuration, else RFC 8414's). Overrides
	// issuer_url from the key. Not with tokenURL.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('https://') || (self.startsWith('http://') && url(self).getHostname() in ['localhost', '127.0.0.1', '::1']))",message="issuerURL must be an https URL (http only to localhost, 127.0.0.1 or [::1]), such as https://keycloak.example/realms/vantage"
	IssuerURL *string `json:"issuerURL,omitempty"`

	// expectedIssuer is the issuer the discovery document must name when
	// it is not issuerURL itself: Keycloak reached through an in-cluster
	// URL names its public one. Only with issuerURL.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	ExpectedIssuer *string `json:"expectedIssuer,omitempty"`

	// apiURL is the Vantage API written as VANTAGE_API_URL. Overrides api_url
	// from the key. Default https://api.vantage.omnivector.solutions.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('https://') || (self.startsWith('http://') && url(self).getHostname() in ['localhost', '127.0.0.1', '::1']))",message="apiURL must be an https URL (http only to localhost, 127.0.0.1 or [::1]), such as https://api.vantage.omnivector.solutions"
	APIURL *string `json:"apiURL,omitempty"`

	// organization is written as VANTAGE_ORG. Overrides organization from the key.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Organization *string `json:"organization,omitempty"`

	// audience is sent as the audience parameter of the token request.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Audience *string `json:"audience,omitempty"`

	// clientAuthMethod says how the client authenticates: Auto (for a
	// client secret HTTP Basic, then the form body once if the server
	// refuses the client; for a private key or serviceAccountRef PrivateKeyJWT),
	// ClientSecretBasic, ClientSecretPost or PrivateKeyJWT. Default Auto.
	// +optional
	// +kubebuilder:default=Auto
	ClientAuthMethod *ClientAuthMethod `json:"clientAuthMethod,omitempty"`

	// refreshBefore is how long before expiry the token is refreshed, such as
	// 10m. Default: one third of the token's lifetime.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="refreshBefore must be a positive duration such as 10m"
	RefreshBefore *metav1.Duration `json:"refreshBefore,omitempty"`

	// suspend stops all token requests and Secret writes while true.
	// +optional
	Suspend *bool `json:"suspend,omitempty"`

	// verifyToken makes the operator check each new token with the Vantage
	// API (GET <apiURL>/v1/auth/test) before writing it: a token the API
	// refuses is not written (Ready=False, reason TokenRejectedByAPI), so a
	// wrong apiURL or audience shows at once, not in the workload.
	// +optional
	VerifyToken *bool `json:"verifyToken,omitempty"`

	// target describes the Secret the token is written to.
	// +optional
	Target *TargetSpec `json:"target,omitempty"`

	// tls configures verification of the token server's certificate (for
	// an API key, the Vantage API's).
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`

	// rolloutRestart restarts the workloads that read the token through
	// environment variables (envFrom, secretKeyRef) when it changes. It
	// needs the operator to run with --enable-rollout-restart.
	// +optional
	RolloutRestart *RolloutRestartSpec `json:"rolloutRestart,omitempty"`
}

// VantageCredentialStatus defines the observed state of VantageCredential.
type VantageCredentialStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling and Stalled, with kstatus semantics.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// expiresAt is when the token in the target Secret expires; absent for
	// an API key that never expires.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// lastRefreshTime is when the token in the target Secret was issued.
	// +optional
	LastRefreshTime *metav1.Time `json:"lastRefreshTime,omitempty"`

	// nextRefreshTime is when the next exchange is due.
	// +optional
	NextRefreshTime *metav1.Time `json:"nextRefreshTime,omitempty"`

	// lastValidationTime is when the Vantage API last accepted the API key
	// (apiKeySecretRef); the next check is validateInterval later.
	// +optional
	LastValidationTime *metav1.Time `json:"lastValidationTime,omitempty"`

	// expiryWarningTime is when the last APIKeyExpiringSoon event was
	// emitted, so that it comes at most once a day.
	// +optional
	ExpiryWarningTime *metav1.Time `json:"expiryWarningTime,omitempty"`

	// lastFailureTime is when the last exchange failed.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`

	// consecutiveFailures counts failed exchanges since the last success; it
	// drives the retry backoff and survives a restart of the operator.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`

	// failedSourceVersion is the resourceVersion of the service-account
	// Secret used by the last failed exchange, so a terminal failure is
	// retried at once when that Secret changes.
	// +optional
	FailedSourceVersion string `json:"failedSourceVersion,omitempty"`

	// grantedScopes are the scopes the token server granted.
	// +optional
	// +listType=atomic
	GrantedScopes []string `json:"grantedScopes,omitempty"`

	// userID is whom the Vantage API says the token or API key
	// authenticates, as checked with verifyToken or for an API key.
	// +optional
	UserID string `json:"userID,omitempty"`

	// targetSecretName is the Secret holding the token.
	// +optional
	TargetSecretName string `json:"targetSecretName,omitempty"`

	// tokenURL is the token endpoint the last token came from: spec.tokenURL
	// or the key's, or the one the issuer's discovery document named.
	// +optional
	TokenURL string `json:"tokenURL,omitempty"`

	// lastSourceChangeTime is when the first token made from the current
	// key and spec was issued: what rolloutRestart on SourceChange
	// restarts for.
	// +optional
	LastSourceChangeTime *metav1.Time `json:"lastSourceChangeTime,omitempty"`

	// lastRolloutRestartTime is when spec.rolloutRestart last restarted a
	// workload.
	// +optional
	LastRolloutRestartTime *metav1.Time `json:"lastRolloutRestartTime,omitempty"`

	// lastHandledRefreshRequest is the last value of the
	// vantage.omnivector.solutions/refresh-requested-at annotation acted on.
	// +optional
	LastHandledRefreshRequest string `json:"lastHandledRefreshRequest,omitempty"`
}

// VantageCredential turns a Vantage service-account key into a fresh access
// token kept in a Secret, or checks a Vantage API key and keeps it there.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=vcred,categories=vantage
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.targetSecretName`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(self.spec.target) || !(has(self.spec.target.namespaceSelector) || has(self.spec.target.namespaces))",message="spec.target.namespaceSelector and spec.target.namespaces belong to ClusterVantageCredential: a VantageCredential writes its target Secret into its own namespace"
// +kubebuilder:validation:XValidation:rule="[has(self.spec.target) && has(self.spec.target.name) ? self.spec.target.name : self.metadata.name].all(t, (!has(self.spec.serviceAccountSecretRef) || self.spec.serviceAccountSecretRef.name != t) && (!has(self.spec.apiKeySecretRef) || self.spec.apiKeySecretRef.name != t))",message="the target Secret must differ from the Secret holding the key: set spec.target.name to another name"
type VantageCredential struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec defines the desired state of VantageCredential.
	// +required
	Spec VantageCredentialSpec `json:"spec"`

	// status defines the observed state of VantageCredential.
	// +optional
	Status VantageCredentialStatus `json:"status,omitempty"`
}

// VantageCredentialList contains a list of VantageCredential.
// +kubebuilder:object:root=true
type VantageCredentialList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VantageCredential `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VantageCredential{}, &VantageCredentialList{})
}
