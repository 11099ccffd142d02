package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// frontDoor is what sets the two kinds apart; the engine (gather, decide,
// exchange, write) is the same for both. A VantageCredential reads its key
// in its own namespace and writes one target there; a
// ClusterVantageCredential reads its key in the operator's namespace and
// writes a target into every namespace its target selects.
type frontDoor interface {
	// sourceNamespace is where cred's key Secret and CA bundle live, or a
	// problem when there is none.
	sourceNamespace(cred credential) (string, *problem)
	// targets lists the namespaces cred writes its target into, and the
	// Secrets it wrote into namespaces it no longer selects (to delete), or
	// a problem when there is no namespace to write into.
	targets(ctx context.Context, cred credential) (namespaces []string, stale []*corev1.Secret, p *problem, err error)
	// setTargetStatus records the targets' state in cred's status, beyond
	// the fields both kinds share.
	setTargetStatus(cred credential, f *facts)
}

// ownNamespace is the VantageCredential's front door.
type ownNamespace struct{}

func (ownNamespace) sourceNamespace(cred credential) (string, *problem) {
	return cred.GetNamespace(), nil
}

func (ownNamespace) targets(_ context.Context, cred credential) ([]string, []*corev1.Secret, *problem, error) {
	return []string{cred.GetNamespace()}, nil, nil, nil
}

func (ownNamespace) setTargetStatus(credential, *facts) {}
