package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// Report is what status says of one credential, and what -o json/yaml
// prints. It holds the names of the target's keys and the token's
// claims, never a value from a Secret.
type Report struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`

	Ready      ConditionReport   `json:"ready"`
	Conditions []ConditionReport `json:"conditions,omitempty"`

	ExpiresAt           *time.Time `json:"expiresAt,omitempty"`
	ExpiresIn           string     `json:"expiresIn"`
	LastRefreshTime     *time.Time `json:"lastRefreshTime,omitempty"`
	NextRefreshTime     *time.Time `json:"nextRefreshTime,omitempty"`
	NextRefresh         string     `json:"nextRefresh"`
	ConsecutiveFailures int32      `json:"consecutiveFailures"`
	LastFailureTime     *time.Time `json:"lastFailureTime,omitempty"`
	GrantedScopes       []string   `json:"grantedScopes,omitempty"`
	UserID              string     `json:"userID,omitempty"`
	TokenURL            string     `json:"tokenURL,omitempty"`
	LastRefreshRequest  string     `json:"lastHandledRefreshRequest,omitempty"`
	// RolloutRestart is spec.rolloutRestart; absent without it.
	RolloutRestart *RolloutRestartReport `json:"rolloutRestart,omitempty"`

	Target TargetReport  `json:"target"`
	Source *SourceReport `json:"source,omitempty"`
	// ServiceAccount is spec.serviceAccountRef's, in place of Source.
	ServiceAccount *ServiceAccountReport `json:"serviceAccount,omitempty"`
	// Claims are decoded from the target's token, unverified.
	Claims      *Claims       `json:"claims,omitempty"`
	ClaimsError string        `json:"claimsError,omitempty"`
	Events      []EventReport `json:"events,omitempty"`
	EventsError string        `json:"eventsError,omitempty"`
	WhatToDo    string        `json:"whatToDo,omitempty"`

	// cred is the credential itself, for the table.
	cred credential
}

// ConditionReport is one status condition.
type ConditionReport struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Since is when the condition last changed.
	Since *time.Time `json:"since,omitempty"`
}

// TargetReport is the target Secret: its name and where it is.
type TargetReport struct {
	Name string `json:"name"`
	// Namespaces a ClusterVantageCredential serves (status.targetNamespaces),
	// and those it failed in.
	Namespaces       int32                              `json:"namespaces,omitempty"`
	FailedCount      int32                              `json:"failedCount,omitempty"`
	FailedNamespaces []vantagev1alpha1.NamespaceFailure `json:"failedNamespaces,omitempty"`
	// Inspected is the namespace whose copy the keys and claims come from.
	Inspected string `json:"inspected,omitempty"`
	// Keys are the target's data keys; their values are never read out.
	Keys  []string `json:"keys,omitempty"`
	Error string   `json:"error,omitempty"`
}

// RolloutRestartReport says which workloads the credential restarts,
// on what, and when it last did.
type RolloutRestartReport struct {
	// On is TokenChange (the default) or SourceChange.
	On string `json:"on"`
	// MinInterval is the least time between two restarts of one
	// workload; empty when unset (every change restarts at once).
	MinInterval string `json:"minInterval,omitempty"`
	// Workloads are spec.rolloutRestart.targets, as Kind/name.
	Workloads []string `json:"workloads,omitempty"`
	// Selector picks more workloads by their labels; empty for none.
	Selector string `json:"selector,omitempty"`
	// LastRestartTime is when the credential last restarted a workload.
	LastRestartTime *time.Time `json:"lastRestartTime,omitempty"`
}

// SourceReport says whether the Secret holding the key exists and has it.
type SourceReport struct {
	Secret    string `json:"secret"`
	Namespace string `json:"namespace"`
	// Key is the data key looked for; Keys when the plain keys are.
	Keys      []string `json:"keys"`
	Exists    bool     `json:"exists"`
	KeyExists bool     `json:"keyExists"`
	Error     string   `json:"error,omitempty"`
}

// ServiceAccountReport says whether the ServiceAccount of
// spec.serviceAccountRef exists and lends its tokens (the opt-in label),
// and for which audiences when its token-audiences annotation limits them.
type ServiceAccountReport struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Exists    bool   `json:"exists"`
	OptedIn   bool   `json:"optedIn"`
	// Audiences is the token-audiences annotation as written; nil when it
	// is absent (any audience).
	Audiences *string `json:"audiences,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// EventReport is one event about the credential.
type EventReport struct {
	Type    string     `json:"type"`
	Reason  string     `json:"reason"`
	Message string     `json:"message"`
	Count   int32      `json:"count,omitempty"`
	Last    *time.Time `json:"last,omitempty"`
}

// maxEvents is how many of the latest events status NAME shows.
const maxEvents = 8

// summarize is the part of a Report that needs only the credential: the
// table's row.
func (e *env) summarize(c credential) *Report {
	now := e.deps.Clock.Now()
	st := c.obj.GetStatus()
	r := &Report{
		Kind: c.kindName(), Name: c.obj.GetName(), Namespace: c.obj.GetNamespace(),
		Ready:               ConditionReport{Type: vantagev1alpha1.ConditionReady, Status: "Unknown"},
		ExpiresAt:           timeOf(st.ExpiresAt),
		ExpiresIn:           expiresIn(c, now),
		LastRefreshTime:     timeOf(st.LastRefreshTime),
		NextRefreshTime:     timeOf(st.NextRefreshTime),
		NextRefresh:         nextRefresh(c, now),
		ConsecutiveFailures: st.ConsecutiveFailures,
		LastFailureTime:     timeOf(st.LastFailureTime),
		GrantedScopes:       st.GrantedScopes,
		UserID:              st.UserID,
		TokenURL:            st.TokenURL,
		LastRefreshRequest:  st.LastHandledRefreshRequest,
		Target:              TargetReport{Name: c.targetName()},
		cred:                c,
	}
	if ready := c.condition(vantagev1alpha1.ConditionReady); ready != nil {
		r.Ready = conditionReport(*ready)
	}
	r.RolloutRestart = rolloutRestartReport(c.obj.GetSpec().RolloutRestart, st)
	if c.cluster != nil {
		r.Target.Namespaces = c.cluster.Status.TargetNamespaces
		r.Target.FailedCount = c.cluster.Status.FailedCount
		r.Target.FailedNamespaces = c.cluster.Status.FailedNamespaces
	}
	return r
}

// inspect is the full Report of one credential: summarize, and what a
// person needs to debug it.
func (e *env) inspect(ctx context.Context, c credential) *Report {
	r := e.summarize(c)
	for _, cond := range c.obj.GetStatus().Conditions {
		r.Conditions = append(r.Conditions, conditionReport(cond))
	}
	r.Source = e.inspectSource(ctx, c)
	r.ServiceAccount = e.inspectServiceAccount(ctx, c)
	e.inspectTarget(ctx, c, r)
	r.Events, r.EventsError = e.events(ctx, c)
	r.WhatToDo = whatToDo(r.Ready.Reason)
	if r.Ready.Reason == "" {
		r.WhatToDo = "the operator has not reported on it yet: is it running, and does it watch this namespace?"
	}
	return r
}

// rolloutRestartReport is what spec.rolloutRestart restarts and when it
// last did; nil without it.
func rolloutRestartReport(spec *vantagev1alpha1.RolloutRestartSpec, st *vantagev1alpha1.VantageCredentialStatus) *RolloutRestartReport {
	if spec == nil {
		return nil
	}
	r := &RolloutRestartReport{
		On:              string(vantagev1alpha1.RolloutRestartOnTokenChange),
		LastRestartTime: timeOf(st.LastRolloutRestartTime),
	}
	if spec.On != nil && *spec.On != "" {
		r.On = string(*spec.On)
	}
	if spec.MinInterval != nil {
		r.MinInterval = spec.MinInterval.Duration.String()
	}
	for _, t := range spec.Targets {
		r.Workloads = append(r.Workloads, string(t.Kind)+"/"+t.Name)
	}
	if spec.Selector != nil {
		r.Selector = metav1.FormatLabelSelector(spec.Selector)
	}
	return r
}

func conditionReport(c metav1.Condition) ConditionReport {
	return ConditionReport{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message,
		Since: timeOf(&c.LastTransitionTime)}
}

func timeOf(t *metav1.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// sourceNamespace is where the key Secret lives.
func (e *env) sourceNamespace(c credential) string {
	if c.cluster != nil {
		return e.clusterNamespace
	}
	return c.obj.GetNamespace()
}

// inspectSource looks at the key Secret's key names, as the operator would
// look for them (README, spec reference).
func (e *env) inspectSource(ctx context.Context, c credential) *SourceReport {
	spec := c.obj.GetSpec()
	s := &SourceReport{Namespace: e.sourceNamespace(c)}
	var keys [][]string // alternatives, in the operator's order
	switch {
	case spec.APIKeySecretRef != nil:
		s.Secret = spec.APIKeySecretRef.Name
		keys = [][]string{{deref(spec.APIKeySecretRef.Key, "api-key")}}
	case spec.ServiceAccountSecretRef != nil:
		s.Secret = spec.ServiceAccountSecretRef.Name
		if k := spec.ServiceAccountSecretRef.Key; k != nil {
			keys = [][]string{{*k}}
		} else {
			keys = [][]string{{"service-account.json"}, {"client_id", "client_secret"}}
		}
	default:
		return nil
	}
	s.Keys = keys[0]
	var sec corev1.Secret
	err := e.deps.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Secret}, &sec)
	switch {
	case apierrors.IsNotFound(err):
		return s
	case err != nil:
		s.Error = explain(err, "get", "secrets", s.Secret, s.Namespace).Error()
		return s
	}
	s.Exists = true
	for _, alt := range keys {
		all := true
		for _, k := range alt {
			if _, ok := sec.Data[k]; !ok {
				all = false
			}
		}
		if all {
			s.Keys, s.KeyExists = alt, true
			break
		}
	}
	return s
}

// inspectServiceAccount looks at the ServiceAccount of
// spec.serviceAccountRef as the operator does: whether it exists and has
// opted in; nil without one.
func (e *env) inspectServiceAccount(ctx context.Context, c credential) *ServiceAccountReport {
	ref := c.obj.GetSpec().ServiceAccountRef
	if ref == nil {
		return nil
	}
	s := &ServiceAccountReport{Name: ref.Name, Namespace: e.sourceNamespace(c)}
	var sa corev1.ServiceAccount
	err := e.deps.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Name}, &sa)
	switch {
	case apierrors.IsNotFound(err):
		return s
	case err != nil:
		s.Error = explain(err, "get", "serviceaccounts", s.Name, s.Namespace).Error()
		return s
	}
	s.Exists = true
	s.OptedIn = sa.Labels[vantagev1alpha1.TokenSourceLabel] == "true"
	if v, ok := sa.Annotations[vantagev1alpha1.TokenAudiencesAnnotation]; ok {
		s.Audiences = &v
	}
	return s
}

// inspectTarget lists the target's keys and decodes its token's claims.
// A ClusterVantageCredential's copy is read from -n's namespace when
// given, else from the first namespace holding one.
func (e *env) inspectTarget(ctx context.Context, c credential, r *Report) {
	ns := c.obj.GetNamespace()
	if c.cluster != nil {
		var err error
		if ns, err = e.clusterTargetNamespace(ctx, c); err != nil {
			r.Target.Error = err.Error()
			return
		}
		if ns == "" {
			r.Target.Error = "no namespace holds a copy yet"
			return
		}
	}
	r.Target.Inspected = ns
	sec, token, err := e.readTarget(ctx, ns, r.Target.Name)
	if err != nil {
		r.Target.Error = err.Error()
		return
	}
	for k := range sec.Data {
		r.Target.Keys = append(r.Target.Keys, k)
	}
	sort.Strings(r.Target.Keys)
	if token == "" {
		r.ClaimsError = "the target holds no access_token or VANTAGE_API_KEY key (a template names its own keys)"
		return
	}
	r.Claims, err = decodeClaims(token)
	if err != nil {
		r.ClaimsError = err.Error()
	}
}

// errNoToken: the target Secret does not exist yet, or holds no token.
var errNoToken = errors.New("no token yet")

// readTarget reads the target Secret and the token in it (access_token,
// else VANTAGE_API_KEY), with errors a person can act on.
func (e *env) readTarget(ctx context.Context, namespace, name string) (*corev1.Secret, string, error) {
	var sec corev1.Secret
	err := e.deps.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec)
	if apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("the target Secret %s/%s does not exist: %w (the operator writes it with the first token)", namespace, name, errNoToken)
	}
	if err != nil {
		return nil, "", explain(err, "get", "secrets", name, namespace)
	}
	for _, k := range []string{"access_token", "VANTAGE_API_KEY"} {
		if v := sec.Data[k]; len(v) > 0 {
			return &sec, string(v), nil
		}
	}
	return &sec, "", nil
}

// clusterTargetNamespace picks the namespace whose copy of a
// ClusterVantageCredential's target is inspected: -n's, else the first
// holding one (found by the label the operator puts on them).
func (e *env) clusterTargetNamespace(ctx context.Context, c credential) (string, error) {
	if e.namespaceSet {
		return e.deps.Namespace, nil
	}
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := e.deps.Client.List(ctx, &list, client.MatchingLabels{vantagev1alpha1.ClusterCredentialLabel: c.obj.GetName()}); err != nil {
		return "", explain(err, "list", "secrets", "", "")
	}
	var nss []string
	for _, s := range list.Items {
		nss = append(nss, s.Namespace)
	}
	if len(nss) == 0 {
		return "", nil
	}
	sort.Strings(nss)
	return nss[0], nil
}

// eventsNamespace is where events about the credential are: a
// cluster-scoped object's go to "default", as client-go records them.
func eventsNamespace(c credential) string {
	if c.cluster != nil {
		return metav1.NamespaceDefault
	}
	return c.obj.GetNamespace()
}

// events are the latest events about the credential, newest last.
func (e *env) events(ctx context.Context, c credential) ([]EventReport, string) {
	var list corev1.EventList
	ns := eventsNamespace(c)
	err := e.deps.Client.List(ctx, &list, client.InNamespace(ns),
		client.MatchingFields{"involvedObject.uid": string(c.obj.GetUID())})
	if err != nil {
		return nil, explain(err, "list", "events", "", ns).Error()
	}
	sort.SliceStable(list.Items, func(i, j int) bool { return eventTime(list.Items[i]).Before(eventTime(list.Items[j])) })
	items := list.Items
	if len(items) > maxEvents {
		items = items[len(items)-maxEvents:]
	}
	var out []EventReport
	for _, ev := range items {
		t := eventTime(ev)
		count := ev.Count
		if ev.Series != nil {
			count = ev.Series.Count
		}
		out = append(out, EventReport{Type: ev.Type, Reason: ev.Reason, Message: ev.Message, Count: count, Last: &t})
	}
	return out, ""
}

// eventTime is when an event last happened, whichever API wrote it.
func eventTime(ev corev1.Event) time.Time {
	switch {
	case ev.Series != nil && !ev.Series.LastObservedTime.IsZero():
		return ev.Series.LastObservedTime.UTC()
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.UTC()
	case !ev.EventTime.IsZero():
		return ev.EventTime.UTC()
	}
	return ev.CreationTimestamp.UTC()
}

func deref(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}
