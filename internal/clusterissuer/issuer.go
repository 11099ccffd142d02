// Package clusterissuer reads a Kubernetes cluster's service-account issuer
// as a token server trusts it: the iss of its ServiceAccount tokens, where
// its public keys are served, and the CAs that serve them. The envtest
// suites, the benchmark and pkg/vantagetest point fake token servers at it.
package clusterissuer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Issuer is a cluster's service-account issuer.
type Issuer struct {
	// URL is the iss of the cluster's tokens.
	URL string
	// JWKSURL serves its public keys on the address the rest config
	// reaches the API server at: the discovery document's jwks_uri is built
	// on the issuer URL, which names the cluster as its workloads see it.
	JWKSURL string
	// CAPEM holds the CAs the API server's certificate is checked against.
	CAPEM []byte
}

// AnonymousBinding is the ClusterRoleBinding Publish creates, named as the
// README's kubectl command names it.
const AnonymousBinding = "service-account-issuer-discovery-anonymous"

// publishTimeout bounds the wait for the binding to take effect in the API
// server's RBAC cache.
const publishTimeout = 30 * time.Second

// Read reads the issuer of the cluster cfg reaches, with cfg's credentials.
func Read(ctx context.Context, cfg *rest.Config) (Issuer, error) {
	loaded, err := withTLSFiles(cfg)
	if err != nil {
		return Issuer{}, err
	}
	return read(ctx, loaded)
}

// Publish lets anyone read the issuer and its keys, as a token server
// outside the cluster must, by binding system:unauthenticated to the
// built-in system:service-account-issuer-discovery role (AnonymousBinding);
// it returns the issuer once a read without credentials succeeds.
func Publish(ctx context.Context, cfg *rest.Config) (Issuer, error) {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return Issuer{}, err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: AnonymousBinding},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}},
	}
	if err := c.Create(ctx, binding); err != nil && !apierrors.IsAlreadyExists(err) {
		return Issuer{}, fmt.Errorf("binding system:service-account-issuer-discovery for system:unauthenticated: %w", err)
	}
	loaded, err := withTLSFiles(cfg)
	if err != nil {
		return Issuer{}, err
	}
	anonymous := rest.AnonymousClientConfig(loaded)
	var iss Issuer
	last := "no answer yet"
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, publishTimeout, true, func(ctx context.Context) (bool, error) {
		if iss, err = read(ctx, anonymous); err != nil {
			last = err.Error()
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return Issuer{}, fmt.Errorf("the cluster's service-account issuer is not readable without credentials (%s): %w", last, err)
	}
	return iss, nil
}

// withTLSFiles is a copy of cfg with its CA (and client certificate) files
// read into it, so CAPEM holds the CAs however cfg names them.
func withTLSFiles(cfg *rest.Config) (*rest.Config, error) {
	c := rest.CopyConfig(cfg)
	if err := rest.LoadTLSFiles(c); err != nil {
		return nil, err
	}
	return c, nil
}

// read decodes the issuer's discovery document as cfg's client may.
func read(ctx context.Context, cfg *rest.Config) (Issuer, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return Issuer{}, err
	}
	base := strings.TrimSuffix(cfg.Host, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/.well-known/openid-configuration", nil)
	if err != nil {
		return Issuer{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Issuer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return Issuer{}, fmt.Errorf("GET /.well-known/openid-configuration: %s", resp.Status)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return Issuer{}, fmt.Errorf("the service-account issuer's discovery document: %w", err)
	}
	if doc.Issuer == "" {
		return Issuer{}, fmt.Errorf("the service-account issuer's discovery document names no issuer")
	}
	return Issuer{URL: doc.Issuer, JWKSURL: base + "/openid/v1/jwks", CAPEM: cfg.CAData}, nil
}
