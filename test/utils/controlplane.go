// Package utils starts what the end-to-end tests and `make demo` run the
// operator against: a local control plane from the envtest binaries that
// hack/envtest-binaries.sh builds, and child processes (the manager, the
// fake Vantage server) whose output goes to log files.
package utils

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/clusterissuer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a kube-apiserver and etcd on loopback with RBAC enforced,
// and an admin kubeconfig on disk for kubectl.
type ControlPlane struct {
	env *envtest.Environment
	// Config is the admin's (system:masters) client configuration.
	Config *rest.Config
	// Kubeconfig is the path of the admin's kubeconfig.
	Kubeconfig string
	dir        string
	// logs hold kube-apiserver's and etcd's output.
	logs []*os.File
}

// StartControlPlane starts kube-apiserver and etcd from assets (a directory
// with both binaries) and writes an admin kubeconfig into dir. No CRDs are
// installed: callers apply config/ as a user would.
//
// The API server's certificates (serving, client CA, service-account key)
// and etcd's data live in dir/control-plane, kept across
// StopAPIServer/StartAPIServer and StopEtcd/StartEtcd, and both come back on
// their first ports: clients, kubeconfigs and ServiceAccount tokens made
// before a restart work after it. (envtest's default, a fresh temporary
// directory per start, gives a restarted API server a new CA.)
func StartControlPlane(assets, dir string) (*ControlPlane, error) {
	kept := filepath.Join(dir, "control-plane")
	// An earlier run's certificates would be reused without their CA.
	if err := os.RemoveAll(kept); err != nil {
		return nil, err
	}
	certDir, dataDir := filepath.Join(kept, "apiserver"), filepath.Join(kept, "etcd")
	for _, d := range []string{certDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	// Their output, for a test that needs to know why one was slow to stop.
	apiLog, err := os.Create(filepath.Join(kept, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	etcdLog, err := os.Create(filepath.Join(kept, "etcd.log"))
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{CertDir: certDir, Out: apiLog, Err: apiLog},
			Etcd:      &envtest.Etcd{DataDir: dataDir, Out: etcdLog, Err: etcdLog},
		},
	}
	// Watches end 1 s into a shutdown instead of holding the process until
	// its 60 s shutdown timeout: StopAPIServer returns soon after the
	// server stops listening, which it does at once.
	env.ControlPlane.APIServer.Configure().Set("shutdown-watch-termination-grace-period", "1s")
	cfg, err := env.Start()
	if err != nil {
		_, _ = apiLog.Close(), etcdLog.Close()
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	cp := &ControlPlane{env: env, Config: cfg, dir: dir, logs: []*os.File{apiLog, etcdLog}}
	admin, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err == nil {
		cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
		var kc []byte
		if kc, err = admin.KubeConfig(); err == nil {
			err = os.WriteFile(cp.Kubeconfig, kc, 0o600)
		}
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("writing the admin kubeconfig: %w", err), cp.Stop())
	}
	return cp, nil
}

// Stop stops the API server and etcd.
func (c *ControlPlane) Stop() error {
	err := c.env.Stop()
	for _, f := range c.logs {
		_ = f.Close()
	}
	return err
}

// StopAPIServer stops kube-apiserver (SIGTERM, then SIGKILL after envtest's
// stop timeout); etcd keeps running.
func (c *ControlPlane) StopAPIServer() error { return c.env.ControlPlane.APIServer.Stop() }

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the
// same address with the same certificates and keys, and returns once it
// reports healthy.
func (c *ControlPlane) StartAPIServer() error { return c.env.ControlPlane.APIServer.Start() }

// StopEtcd stops etcd; the API server keeps running and fails what needs
// storage until StartEtcd.
func (c *ControlPlane) StopEtcd() error { return c.env.ControlPlane.Etcd.Stop() }

// StartEtcd starts etcd again after StopEtcd, on the same client address
// with the same data, and returns once it reports healthy.
func (c *ControlPlane) StartEtcd() error { return c.env.ControlPlane.Etcd.Start() }

// WriteTokenKubeconfig writes a kubeconfig that authenticates with a bearer
// token (a ServiceAccount's, from the TokenRequest API), so a program run
// with it has exactly that account's permissions.
func (c *ControlPlane) WriteTokenKubeconfig(name, token string) (string, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name}
	kc.CurrentContext = name
	path := filepath.Join(c.dir, name+".kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// Kubectl runs kubectl with the admin kubeconfig and returns its combined
// output; the error carries the output too.
func (c *ControlPlane) Kubectl(stdin []byte, args ...string) (string, error) {
	return kubectlWith(c.Kubeconfig, stdin, args...)
}

// kubectlWith runs kubectl with the given kubeconfig.
func kubectlWith(kubeconfig string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(kubectlPath(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// kubectlPath is $KUBECTL when set (the Makefile sets it), else kubectl on
// the PATH.
func kubectlPath() string {
	if k := os.Getenv("KUBECTL"); k != "" {
		return k
	}
	return "kubectl"
}

// ProjectDir is the repository's root: the nearest directory upwards with a
// go.mod.
func ProjectDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// ServiceAccountIssuer is the API server's service-account issuer and
// where its keys are on the address the tests reach it at. caFile is
// written with the API server's serving CA, which a token server fetching
// the keys must trust.
func (c *ControlPlane) ServiceAccountIssuer(caFile string) (issuer, jwksURL string, err error) {
	iss, err := clusterissuer.Read(context.Background(), c.Config)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(caFile, iss.CAPEM, 0o600); err != nil {
		return "", "", err
	}
	return iss.URL, iss.JWKSURL, nil
}
