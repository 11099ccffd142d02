package cachesync

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllertest"
)

var (
	secrets    = schema.GroupResource{Resource: "secrets"}
	configMaps = schema.GroupResource{Resource: "configmaps"}
)

// twoInformers is a Tracker of an unsynced Secret and ConfigMap informer,
// and those informers.
func twoInformers(t *testing.T) (*Tracker, *controllertest.FakeInformer, *controllertest.FakeInformer) {
	t.Helper()
	secretInf, cmInf := controllertest.NewFakeInformer(), controllertest.NewFakeInformer()
	c := &informertest.FakeInformers{InformersByGVK: map[schema.GroupVersionKind]toolscache.SharedIndexInformer{
		corev1.SchemeGroupVersion.WithKind("Secret"):    secretInf,
		corev1.SchemeGroupVersion.WithKind("ConfigMap"): cmInf,
	}}
	tr := NewTracker()
	tr.Add("secrets", secrets, c, &corev1.Secret{})
	tr.Add("configmaps (metadata)", configMaps, c, &corev1.ConfigMap{})
	return tr, secretInf, cmInf
}

func forbidden(resource schema.GroupResource) error {
	return apierrors.NewForbidden(resource, "", errors.New(`User "system:serviceaccount:op:op" cannot list resource "`+resource.Resource+`"`))
}

func TestUnsyncedNamesEachInformerWithTheErrorOfItsResource(t *testing.T) {
	tr, secretInf, cmInf := twoInformers(t)
	ctx := context.Background()

	err := tr.Unsynced(ctx)
	if err == nil || err.Error() != "secrets not synced; configmaps (metadata) not synced" {
		t.Fatalf("before any error: got %v", err)
	}

	tr.WatchErrorHandler(ctx, &toolscache.Reflector{}, errors.New("connection refused"))
	tr.WatchErrorHandler(ctx, &toolscache.Reflector{}, forbidden(secrets))
	err = tr.Unsynced(ctx)
	if err == nil {
		t.Fatal("unsynced informers must give an error")
	}
	parts := strings.Split(err.Error(), "; ")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "secrets not synced: ") || !strings.Contains(parts[0], `secrets is forbidden`) {
		t.Errorf("the Secret informer is named with its own error: %q", err)
	}
	if len(parts) == 2 && parts[1] != "configmaps (metadata) not synced: connection refused" {
		t.Errorf("an informer with no error of its own gets the last error naming no resource: %q", parts[1])
	}

	secretInf.Synced()
	if err := tr.Unsynced(ctx); err == nil || strings.Contains(err.Error(), "secrets") {
		t.Errorf("only the ConfigMap informer is left: %v", err)
	}
	cmInf.Synced()
	if err := tr.Unsynced(ctx); err != nil {
		t.Errorf("all synced: %v", err)
	}
}

func TestCheckAndSyncedFailUntilSynced(t *testing.T) {
	tr, secretInf, cmInf := twoInformers(t)
	req := httptest.NewRequest("GET", "/readyz", nil)
	if err := tr.Check(req); err == nil || tr.Synced() {
		t.Fatal("not ready before the informers sync")
	}
	secretInf.Synced()
	cmInf.Synced()
	if err := tr.Check(req); err != nil || !tr.Synced() {
		t.Fatalf("ready once synced: %v", err)
	}
}

func TestUnsyncedReportsAnInformerThatCannotBeHad(t *testing.T) {
	tr := NewTracker()
	tr.Add("secrets", secrets, &informertest.FakeInformers{Error: errors.New("no matches for kind")}, &corev1.Secret{})
	if err := tr.Unsynced(context.Background()); err == nil || err.Error() != "secrets: no matches for kind" {
		t.Fatalf("got %v", err)
	}
}

// waitResult runs WaitSynced in the background.
func waitResult(ctx context.Context, tr *Tracker, clk *clocktesting.FakeClock, timeout time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() { done <- tr.WaitSynced(ctx, clk, timeout, logr.Discard()) }()
	return done
}

// stepUntilWaiting advances clk by d once WaitSynced waits on its timers.
func stepUntilWaiting(t *testing.T, clk *clocktesting.FakeClock, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !clk.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("WaitSynced never waited")
		}
		time.Sleep(time.Millisecond)
	}
	clk.Step(d)
}

func TestWaitSyncedFailsAtTheDeadlineNamingTheInformer(t *testing.T) {
	tr, secretInf, _ := twoInformers(t)
	secretInf.Synced()
	tr.WatchErrorHandler(context.Background(), &toolscache.Reflector{}, forbidden(configMaps))
	clk := clocktesting.NewFakeClock(time.Now())
	done := waitResult(context.Background(), tr, clk, 5*time.Minute)

	stepUntilWaiting(t, clk, 4*time.Minute)
	select {
	case err := <-done:
		t.Fatalf("returned before the deadline: %v", err)
	default:
	}
	stepUntilWaiting(t, clk, time.Minute)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "within 5m0s") || !strings.Contains(err.Error(), "configmaps (metadata) not synced: configmaps is forbidden") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error at the deadline")
	}
}

func TestWaitSyncedReturnsOnceSynced(t *testing.T) {
	tr, secretInf, cmInf := twoInformers(t)
	clk := clocktesting.NewFakeClock(time.Now())
	done := waitResult(context.Background(), tr, clk, time.Minute)
	secretInf.Synced()
	cmInf.Synced()
	stepUntilWaiting(t, clk, pollInterval)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("synced before the deadline: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not return once synced")
	}
}

func TestWaitSyncedGivesUpQuietlyOnShutdown(t *testing.T) {
	tr, _, _ := twoInformers(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	select {
	case err := <-waitResult(ctx, tr, clocktesting.NewFakeClock(time.Now()), time.Minute):
		if err != nil {
			t.Fatalf("a shutdown is no sync failure: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not return on shutdown")
	}
}
