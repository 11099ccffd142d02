package utils

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// envtestScript runs hack/envtest-binaries.sh with extra environment
// variables, returning its stdout and stderr.
func envtestScript(t *testing.T, env ...string) (string, string, error) {
	t.Helper()
	root, err := ProjectDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "hack", "envtest-binaries.sh"))
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String(), stderr.String(), err
}

// fakeAssets is a directory holding executables with the given names.
func fakeAssets(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A KUBEBUILDER_ASSETS that holds the binaries (setup-envtest use, a CI
// cache) is what make test and make demo use; nothing is built.
func TestEnvtestScriptUsesKubebuilderAssets(t *testing.T) {
	dir := fakeAssets(t, "kube-apiserver", "etcd")
	// A version nobody has built: the script would try to build it.
	out, logs, err := envtestScript(t, "KUBEBUILDER_ASSETS="+dir, "KUBE_VERSION=0.0.0")
	if err != nil {
		t.Fatalf("script failed: %v\n%s", err, logs)
	}
	if strings.TrimSpace(out) != dir {
		t.Errorf("printed %q, want %q", out, dir)
	}
	if !strings.Contains(logs, "using KUBEBUILDER_ASSETS="+dir) || strings.Contains(logs, "building") {
		t.Errorf("log: %s", logs)
	}
}

// One that lacks them is an error naming what is missing, not minutes of a
// silent build.
func TestEnvtestScriptRefusesIncompleteKubebuilderAssets(t *testing.T) {
	dir := fakeAssets(t, "etcd")
	out, logs, err := envtestScript(t, "KUBEBUILDER_ASSETS="+dir, "KUBE_VERSION=0.0.0")
	if err == nil {
		t.Fatalf("script succeeded, printing %q", out)
	}
	if !strings.Contains(logs, "lacks an executable kube-apiserver and etcd") || strings.Contains(logs, "building") {
		t.Errorf("log: %s", logs)
	}
}
