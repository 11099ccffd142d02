package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

// defaultAPIURL is the operator's default when neither the target nor the
// spec names the API.
const defaultAPIURL = "https://api.vantage.omnivector.solutions"

type whoamiOptions struct {
	verify bool
}

func newWhoamiCommand(e *env) *cobra.Command {
	o := &whoamiOptions{}
	cmd := &cobra.Command{
		Use:   "whoami NAME",
		Short: "Decode the claims of the token a credential's target holds; --verify asks the Vantage API",
		Long: `Decode the claims of the token in the credential's target Secret: the
JWT payload, read without checking its signature. The token itself is
never printed.

With --verify, also send the token to GET <VANTAGE_API_URL>/v1/auth/test,
as 'vantage auth whoami' does, and print whom the API says it authenticates.
A ClusterVantageCredential's copy is read in the namespace -n names.`,
		Example: `  kubectl vantage whoami ci-runner -n hpc
  kubectl vantage whoami ci-runner -n hpc --verify
  kubectl vantage whoami cvcred/hpc -n tenant-1 --verify`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runWhoami(cmd, o, args[0])
		},
	}
	cmd.Flags().BoolVar(&o.verify, "verify", false, "ask the Vantage API whom the token authenticates")
	return cmd
}

func (e *env) runWhoami(cmd *cobra.Command, o *whoamiOptions, arg string) error {
	ctx := ctxOf(cmd)
	r, err := parseRef(arg)
	if err != nil {
		return err
	}
	c, err := e.getCredential(ctx, r)
	if err != nil {
		return err
	}
	ns := c.obj.GetNamespace()
	if c.cluster != nil {
		if ns, err = e.clusterTargetNamespace(ctx, c); err != nil {
			return err
		}
		if ns == "" {
			return fmt.Errorf("%s has written no target Secret yet: %w", c.short(), errNoToken)
		}
	}
	sec, token, err := e.readTarget(ctx, ns, c.targetName())
	if err != nil {
		return err
	}
	if token == "" {
		return fmt.Errorf("the target Secret %s/%s holds no token (no access_token or VANTAGE_API_KEY key): %w", ns, sec.Name, errNoToken)
	}
	now := e.deps.Clock.Now()
	w := printers.GetNewTabWriter(e.streams.Out)
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("Credential:\t%s", name(c))
	p("Target Secret:\t%s/%s", ns, sec.Name)
	claims, claimErr := decodeClaims(token)
	if claimErr != nil {
		p("Token claims:\t%s", claimErr)
	} else {
		p("Token claims (decoded from the JWT, signature not verified):")
		printClaims(p, claims, now)
	}
	if !o.verify {
		if claimErr != nil {
			p("Use --verify to ask the Vantage API whom it authenticates.")
		}
		return w.Flush()
	}
	apiURL := apiURLOf(c, sec)
	p("Vantage API:\tGET %s%s", strings.TrimSuffix(apiURL, "/"), oauth.AuthTestPath)
	if err := w.Flush(); err != nil {
		return err
	}
	id, err := e.check(ctx, c, apiURL, token)
	if err != nil {
		return fmt.Errorf("the Vantage API did not accept the token: %w", err)
	}
	w = printers.GetNewTabWriter(e.streams.Out)
	p = func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("  Authenticated:\tyes")
	p("  User:\t%s", orDash(id.UserID))
	p("  Scopes:\t%s", orDash(strings.Join(id.Scopes, " ")))
	if id.ExpiresAt != nil {
		t := id.ExpiresAt.UTC()
		p("  Expires:\t%s", stamp(&t, now))
	} else {
		p("  Expires:\tnever")
	}
	return w.Flush()
}

// apiURLOf is VANTAGE_API_URL from the target, else spec.apiURL, else
// Vantage's.
func apiURLOf(c credential, sec *corev1.Secret) string {
	if u := strings.TrimSpace(string(sec.Data["VANTAGE_API_URL"])); u != "" {
		return u
	}
	if u := c.obj.GetSpec().APIURL; u != nil {
		return *u
	}
	return defaultAPIURL
}

// check asks the Vantage API, trusting the CA the credential names, as the
// operator does.
func (e *env) check(ctx context.Context, c credential, apiURL, token string) (*oauth.Identity, error) {
	req := oauth.CheckRequest{APIURL: apiURL, Credential: token, Caller: "kubectl-vantage"}
	if t := c.obj.GetSpec().TLS; t != nil {
		req.InsecureSkipVerify = t.InsecureSkipVerify != nil && *t.InsecureSkipVerify
		if ref := t.CABundleRef; ref != nil {
			pem, err := e.caBundle(ctx, e.sourceNamespace(c), ref)
			if err != nil {
				return nil, err
			}
			req.CAPEM = pem
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return e.deps.Checker.Check(ctx, req)
}

// caBundle reads the PEM certificates spec.tls.caBundleRef names.
func (e *env) caBundle(ctx context.Context, namespace string, ref *vantagev1alpha1.CABundleReference) ([]byte, error) {
	key := deref(ref.Key, "ca.crt")
	var pem []byte
	if ref.Kind == vantagev1alpha1.CABundleConfigMap {
		var cm corev1.ConfigMap
		if err := e.deps.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &cm); err != nil {
			return nil, explain(err, "get", "configmaps", ref.Name, namespace)
		}
		pem = []byte(cm.Data[key])
	} else {
		var s corev1.Secret
		if err := e.deps.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &s); err != nil {
			return nil, explain(err, "get", "secrets", ref.Name, namespace)
		}
		pem = s.Data[key]
	}
	if len(pem) == 0 {
		return nil, errors.New("the CA bundle of spec.tls.caBundleRef has no key " + key)
	}
	return pem, nil
}
