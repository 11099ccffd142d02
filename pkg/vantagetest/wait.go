package vantagetest

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// WaitReady waits up to timeout for the VantageCredential key to be Ready,
// and returns it then. The target Secret (status.targetSecretName) holds
// the token by that time. On timeout the error carries the last Ready
// condition, which says why.
func WaitReady(ctx context.Context, c client.Reader, key types.NamespacedName, timeout time.Duration) (*vantagev1alpha1.VantageCredential, error) {
	cred := &vantagev1alpha1.VantageCredential{}
	last := "no status yet"
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, cred); err != nil {
			last = err.Error()
			return false, nil
		}
		ready := meta.FindStatusCondition(cred.Status.Conditions, vantagev1alpha1.ConditionReady)
		if ready == nil {
			return false, nil
		}
		last = fmt.Sprintf("Ready=%s %s: %s", ready.Status, ready.Reason, ready.Message)
		return ready.Status == "True" && ready.ObservedGeneration == cred.Generation, nil
	})
	if err != nil {
		return nil, fmt.Errorf("VantageCredential %s not Ready within %s (%s): %w", key, timeout, last, err)
	}
	return cred, nil
}
