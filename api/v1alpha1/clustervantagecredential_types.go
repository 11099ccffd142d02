package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ClusterCredentialLabel on a target Secret names the
// ClusterVantageCredential that wrote it (in place of CredentialLabel).
const ClusterCredentialLabel = "vantage.omnivector.solutions/cluster-credential"

// MaxFailedNamespaces is how many failed namespaces status lists; failedCount
// counts them all.
const MaxFailedNamespaces = 20

// GenericCredential is what both kinds share, so that one engine serves
// them: the spec, and the status fields of VantageCredential.
// +kubebuilder:object:generate=false
type GenericCredential interface {
	runtime.Object
	metav1.Object
	GetSpec() *VantageCredentialSpec
	GetStatus() *VantageCredentialStatus
}

// GetSpec is the credential's spec.
func (c *VantageCredential) GetSpec() *VantageCredentialSpec { return &c.Spec }

// GetStatus is the credential's status.
func (c *VantageCredential) GetStatus() *VantageCredentialStatus { return &c.Status }

// GetSpec is the credential's spec.
func (c *ClusterVantageCredential) GetSpec() *VantageCredentialSpec { return &c.Spec }

// GetStatus is the part of the status both kinds share.
func (c *ClusterVantageCredential) GetStatus() *VantageCredentialStatus {
	return &c.Status.VantageCredentialStatus
}

// NamespaceFailure is a namespace a ClusterVantageCredential could not
// write its target Secret into.
type NamespaceFailure struct {
	// namespace is the namespace's name.
	// +required
	Namespace string `json:"namespace"`

	// reason is a CamelCase word, such as TargetConflict.
	// +required
	Reason string `json:"reason"`

	// message says what to fix.
	// +optional
	Message string `json:"message,omitempty"`
}

// ClusterVantageCredentialStatus defines the observed state of
// ClusterVantageCredential.
type ClusterVantageCredentialStatus struct {
	VantageCredentialStatus `json:",inline"`

	// targetNamespaces counts the namespaces whose target Secret holds the
	// current token.
	// +optional
	TargetNamespaces int32 `json:"targetNamespaces,omitempty"`

	// failedNamespaces lists (at most 20) namespaces the target selects but
	// whose Secret could not be written, with why.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	// +kubebuilder:validation:MaxItems=20
	FailedNamespaces []NamespaceFailure `json:"failedNamespaces,omitempty"`

	// failedCount counts every failed namespace, listed or not.
	// +optional
	FailedCount int32 `json:"failedCount,omitempty"`
}

// ClusterVantageCredential is a VantageCredential for many namespaces: its
// key lives in the operator's namespace (--cluster-credential-namespace),
// and one token, requested once per refresh, is written into the target
// Secret of every namespace spec.target selects.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cvcred,categories=vantage
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`
// +kubebuilder:printcolumn:name="Namespaces",type=integer,JSONPath=`.status.targetNamespaces`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failedCount`,priority=1
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.targetSecretName`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="has(self.spec.target) && (has(self.spec.target.namespaceSelector) || has(self.spec.target.namespaces))",message="set spec.target.namespaceSelector or spec.target.namespaces (or both): they pick the namespaces the token is written into"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.target) || !has(self.spec.target.creationPolicy) || self.spec.target.creationPolicy == 'Owner'",message="a ClusterVantageCredential owns the Secrets it writes and deletes them when a namespace stops matching: spec.target.creationPolicy must be Owner"
// +kubebuilder:validation:XValidation:rule="[has(self.spec.target) && has(self.spec.target.name) ? self.spec.target.name : self.metadata.name].all(t, (!has(self.spec.serviceAccountSecretRef) || self.spec.serviceAccountSecretRef.name != t) && (!has(self.spec.apiKeySecretRef) || self.spec.apiKeySecretRef.name != t))",message="the target Secret must differ from the Secret holding the key: set spec.target.name to another name"
type ClusterVantageCredential struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is that of VantageCredential, with spec.target naming the
	// namespaces.
	// +required
	Spec VantageCredentialSpec `json:"spec"`

	// status defines the observed state of ClusterVantageCredential.
	// +optional
	Status ClusterVantageCredentialStatus `json:"status,omitempty"`
}

// ClusterVantageCredentialList contains a list of ClusterVantageCredential.
// +kubebuilder:object:root=true
type ClusterVantageCredentialList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterVantageCredential `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterVantageCredential{}, &ClusterVantageCredentialList{})
}
