package vantagetest

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

// IssuerDiscoveryBinding is the ClusterRoleBinding AddServiceAccountClient
// creates: it lets anyone read the cluster's service-account issuer and its
// public keys, as a token server must.
const IssuerDiscoveryBinding = "vantagetest-service-account-issuer-discovery"

// issuerReadyTimeout bounds the wait for the binding to take effect in the
// API server's RBAC cache.
const issuerReadyTimeout = 30 * time.Second

// clusterIssuer is a cluster's service-account issuer as a token server
// trusts it: the iss of its tokens, where its keys are served, and the CAs
// that serve them.
type clusterIssuer struct {
	issuer, jwksURL string
	caPEM           []byte
}

// publishIssuer makes the service-account issuer of the cluster cfg reaches
// readable without credentials, as Keycloak reads it, and returns it.
func publishIssuer(ctx context.Context, cfg *rest.Config) (clusterIssuer, error) {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return clusterIssuer{}, err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: IssuerDiscoveryBinding},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}},
	}
	if err := c.Create(ctx, binding); err != nil && !apierrors.IsAlreadyExists(err) {
		return clusterIssuer{}, fmt.Errorf("binding system:service-account-issuer-discovery for the token server: %w", err)
	}
	// The token server trusts the CAs of the rest config, inline or in files.
	tlsCfg := rest.CopyConfig(cfg)
	if err := rest.LoadTLSFiles(tlsCfg); err != nil {
		return clusterIssuer{}, err
	}
	anonymous, err := rest.HTTPClientFor(rest.AnonymousClientConfig(tlsCfg))
	if err != nil {
		return clusterIssuer{}, err
	}
	base := strings.TrimSuffix(tlsCfg.Host, "/")
	var doc struct {
		Issuer string `json:"issuer"`
	}
	last := "no answer yet"
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, issuerReadyTimeout, true, func(ctx context.Context) (bool, error) {
		if err := getJSON(ctx, anonymous, base+"/.well-known/openid-configuration", &doc); err != nil {
			last = err.Error()
			return false, nil
		}
		return doc.Issuer != "", nil
	})
	if err != nil {
		return clusterIssuer{}, fmt.Errorf("the cluster's service-account issuer is not readable without credentials (%s): %w", last, err)
	}
	// The document's jwks_uri is built on the issuer URL, which names the
	// cluster as its workloads see it; the token server reaches the API
	// server where the test does.
	return clusterIssuer{issuer: doc.Issuer, jwksURL: base + "/openid/v1/jwks", caPEM: tlsCfg.CAData}, nil
}

// getJSON decodes the JSON document at url.
func getJSON(ctx context.Context, hc *http.Client, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
