package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// wantStamp is the refresh request made at now.
const wantStamp = "2026-11-22T15:00:00.000000000Z"

// operator answers each refresh request as the operator would: it echoes
// the annotation in status.lastHandledRefreshRequest, with the Ready
// condition outcome names (nil: leave the status alone, so the request is
// never handled).
func operator(outcome map[string]*metav1.Condition) interceptor.Funcs {
	return interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
		if err := c.Patch(ctx, obj, patch, opts...); err != nil {
			return err
		}
		ready, ok := outcome[obj.GetName()]
		if !ok {
			return nil
		}
		cred := obj.(vantagev1alpha1.GenericCredential)
		st := cred.GetStatus()
		st.LastHandledRefreshRequest = obj.GetAnnotations()[vantagev1alpha1.RefreshRequestedAnnotation]
		meta.SetStatusCondition(&st.Conditions, *ready)
		return c.Status().Update(ctx, obj)
	}}
}

func TestRefreshSetsTheAnnotation(t *testing.T) {
	c := builder().Build()
	r := run(t, c, "refresh", "ci-runner", "cvcred/hpc")
	if r.err != nil {
		t.Fatal(r.err)
	}
	golden(t, "refresh", r.out)
	for _, key := range []client.ObjectKey{{Namespace: "hpc", Name: "ci-runner"}} {
		var v vantagev1alpha1.VantageCredential
		if err := c.Get(context.Background(), key, &v); err != nil {
			t.Fatal(err)
		}
		if got := v.Annotations[vantagev1alpha1.RefreshRequestedAnnotation]; got != wantStamp {
			t.Errorf("annotation = %q, want %q", got, wantStamp)
		}
	}
	var cv vantagev1alpha1.ClusterVantageCredential
	if err := c.Get(context.Background(), client.ObjectKey{Name: "hpc"}, &cv); err != nil {
		t.Fatal(err)
	}
	if got := cv.Annotations[vantagev1alpha1.RefreshRequestedAnnotation]; got != wantStamp {
		t.Errorf("cluster annotation = %q", got)
	}
}

func TestRefreshStampsAreNewEachTime(t *testing.T) {
	a := time.Date(2026, 11, 22, 15, 0, 0, 1, time.UTC).Format(requestStamp)
	b := time.Date(2026, 11, 22, 15, 0, 0, 2, time.UTC).Format(requestStamp)
	if a == b || a != "2026-11-22T15:00:00.000000001Z" {
		t.Errorf("stamps %q and %q", a, b)
	}
}

func TestRefreshSelects(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"refresh-all", []string{"refresh", "--all"}},
		{"refresh-selector-all-namespaces", []string{"refresh", "-l", "team=hpc", "-A"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := run(t, builder().Build(), tc.args...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			golden(t, tc.golden, r.out)
		})
	}
}

func TestRefreshWait(t *testing.T) {
	c := withInterceptor(operator(map[string]*metav1.Condition{
		"ci-runner": {Type: "Ready", Status: "True", Reason: "TokenValid", Message: "token valid until 2026-11-22T16:00:00Z"},
	}))
	r := run(t, c, "refresh", "ci-runner", "--wait")
	if r.err != nil {
		t.Fatal(r.err)
	}
	golden(t, "refresh-wait", r.out)
}

func TestRefreshWaitFails(t *testing.T) {
	c := withInterceptor(operator(map[string]*metav1.Condition{
		"ci-runner": {Type: "Ready", Status: "True", Reason: "TokenValid", Message: "token valid until 2026-11-22T16:00:00Z"},
		"nightly":   {Type: "Ready", Status: "False", Reason: "InvalidClient", Message: "the token server refused the client (invalid_client)"},
	}))
	r := run(t, c, "refresh", "ci-runner", "nightly", "--wait")
	if r.err == nil {
		t.Fatal("a failed refresh exits non-zero")
	}
	golden(t, "refresh-wait-fails", r.out+"error: "+r.err.Error()+"\n")
}

func TestRefreshWaitTimesOut(t *testing.T) {
	c := withInterceptor(operator(nil))
	r := run(t, c, "refresh", "ci-runner", "--wait", "--timeout", "300ms")
	if r.err == nil || !strings.Contains(r.err.Error(), "did not handle the refresh request within 300ms") {
		t.Fatalf("got %v", r.err)
	}
}

func TestRefreshRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"refresh"}, {"refresh", "ci-runner", "--all"}, {"refresh", "-A", "ci-runner"},
	} {
		if r := run(t, builder().Build(), args...); r.err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if r := run(t, builder().Build(), "refresh", "-l", "team=nobody"); r.err == nil || r.err.Error() != "no credential matches" {
		t.Errorf("empty selection: %v", r.err)
	}
}
