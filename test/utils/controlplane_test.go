package utils

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestControlPlaneRestartsOnTheSamePortsAndData stops and starts the API
// server, then etcd, and reads with clients made before each restart what
// was written before it.
func TestControlPlaneRestartsOnTheSamePortsAndData(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS must name the envtest binaries; make test sets it")
	}
	cp, err := StartControlPlane(assets, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readBack := func(after string) {
		t.Helper()
		got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("after %s, with the client made before it: %v", after, err)
		}
		if got.Data["k"] != "v" {
			t.Fatalf("after %s: data %v", after, got.Data)
		}
	}

	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{}); err == nil {
		t.Fatal("the API server answered while stopped")
	}
	if err := cp.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	readBack("an API server restart")
	if _, err := cp.Kubectl(nil, "get", "configmap", "kept"); err != nil {
		t.Fatalf("the admin kubeconfig written before the restart: %v", err)
	}

	if err := cp.StopEtcd(); err != nil {
		t.Fatal(err)
	}
	if err := cp.StartEtcd(); err != nil {
		t.Fatal(err)
	}
	// The API server reconnects to etcd on its own, within its retry period.
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API server did not reach etcd again within a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	readBack("an etcd restart")
}
