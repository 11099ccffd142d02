package plugin

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth"
)

// DefaultClusterCredentialNamespace is where a ClusterVantageCredential's
// key Secret lives unless the manager's --cluster-credential-namespace says
// otherwise; the plugin's flag of the same name mirrors it.
const DefaultClusterCredentialNamespace = "vantage-credential-operator-system"

// Deps is what the commands need from outside. Zero fields are filled from
// the kubeconfig flags and the real clock, so only tests set them.
type Deps struct {
	// Client reads and patches the credentials, Secrets and Events.
	Client client.Client
	// Namespace stands in for the kubeconfig context's namespace; -n wins.
	Namespace string
	// Clock tells "expires in" and stamps refresh requests.
	Clock clock.PassiveClock
	// Checker asks the Vantage API whom a token authenticates (whoami --verify).
	Checker oauth.Checker
}

// env is what every command runs with once the flags are parsed.
type env struct {
	deps    Deps
	streams genericiooptions.IOStreams
	flags   *genericclioptions.ConfigFlags
	// clusterNamespace is --cluster-credential-namespace.
	clusterNamespace string
	// namespaceSet says -n was given (or the kubeconfig context names a
	// namespace), so a ClusterVantageCredential's target is looked for there.
	namespaceSet bool
}

// NewCommand is the root command. argv0 is the program's name as run:
// kubectl runs a plugin as kubectl-vantage, and its help then reads
// "kubectl vantage".
func NewCommand(argv0 string, streams genericiooptions.IOStreams, deps Deps) *cobra.Command {
	e := &env{deps: deps, streams: streams, flags: genericclioptions.NewConfigFlags(true)}
	root := &cobra.Command{
		Use:   "kubectl-vantage",
		Short: "Inspect and refresh Vantage credentials",
		Long: `Inspect and refresh VantageCredentials and ClusterVantageCredentials.

A credential is named NAME (a VantageCredential in the namespace, else a
ClusterVantageCredential of that name), vcred/NAME or cvcred/NAME.
No command prints a token or a secret.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return e.complete()
		},
	}
	if strings.HasPrefix(filepath.Base(argv0), "kubectl-") {
		root.Use = "vantage"
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl vantage"}
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	e.flags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&e.clusterNamespace, "cluster-credential-namespace", DefaultClusterCredentialNamespace,
		"namespace of ClusterVantageCredentials' key Secrets (the manager's --cluster-credential-namespace)")
	root.AddCommand(newStatusCommand(e), newRefreshCommand(e), newWhoamiCommand(e))
	return root
}

// complete fills the Deps a test did not set from the kubeconfig flags.
func (e *env) complete() error {
	if e.deps.Clock == nil {
		e.deps.Clock = clock.RealClock{}
	}
	if e.deps.Checker == nil {
		e.deps.Checker = oauth.NewClient(oauth.Options{UserAgent: "kubectl-vantage"})
	}
	switch {
	case e.flags.Namespace != nil && *e.flags.Namespace != "":
		e.deps.Namespace, e.namespaceSet = *e.flags.Namespace, true
	case e.deps.Namespace == "":
		ns, explicit, err := e.flags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading the kubeconfig: %w", err)
		}
		e.deps.Namespace, e.namespaceSet = ns, explicit
	}
	if e.deps.Client == nil {
		cfg, err := e.flags.ToRESTConfig()
		if err != nil {
			return fmt.Errorf("reading the kubeconfig: %w", err)
		}
		c, err := client.New(cfg, client.Options{Scheme: Scheme()})
		if err != nil {
			return fmt.Errorf("connecting to the cluster: %w", err)
		}
		e.deps.Client = c
	}
	return nil
}

// ctxOf is the context of one command run (Execute without a context has none).
func ctxOf(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}
