package plugin

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// statusOptions are status's flags.
type statusOptions struct {
	listOptions
	output string
}

func newStatusCommand(e *env) *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [NAME | vcred/NAME | cvcred/NAME | vcred | cvcred]",
		Short: "Show whether credentials are Ready, when they expire and refresh; with NAME, everything to debug one",
		Long: `Show whether credentials are Ready, when their tokens expire and are
refreshed next, their target Secrets and consecutive failures.

Without NAME: the VantageCredentials of the namespace (-A: of every
namespace, and every ClusterVantageCredential). With NAME: its conditions,
the workloads it restarts (spec.rolloutRestart) and when it last did,
whether its key Secret and key exist, the target's key names (never their
values), the token's claims, the latest events, and what to do next.`,
		Example: `  kubectl vantage status -n hpc
  kubectl vantage status -A -o wide
  kubectl vantage status ci-runner -n hpc
  kubectl vantage status cvcred/hpc -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runStatus(cmd, o, args)
		},
	}
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list the credentials of every namespace, and every ClusterVantageCredential")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector, such as team=hpc")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: wide, json or yaml")
	return cmd
}

func (e *env) runStatus(cmd *cobra.Command, o *statusOptions, args []string) error {
	switch o.output {
	case "", "wide", "json", "yaml":
	default:
		return fmt.Errorf("--output %q: use wide, json or yaml", o.output)
	}
	ctx := ctxOf(cmd)
	k := anyKind
	if len(args) == 1 {
		if kd, ok := kindAliases[strings.ToLower(args[0])]; ok {
			k, args = kd, nil
		}
	}
	if len(args) == 1 {
		if o.allNamespaces || o.selector != "" {
			return fmt.Errorf("NAME and -A or -l exclude each other: name one credential, or select many")
		}
		r, err := parseRef(args[0])
		if err != nil {
			return err
		}
		c, err := e.getCredential(ctx, r)
		if err != nil {
			return err
		}
		rep := e.inspect(ctx, c)
		if o.output == "json" || o.output == "yaml" {
			return printData(e.streams.Out, o.output, rep)
		}
		return printDetail(e.streams.Out, rep, e.deps.Clock.Now())
	}
	creds, err := e.listCredentials(ctx, k, o.listOptions)
	if err != nil {
		return err
	}
	reports := make([]*Report, 0, len(creds))
	for _, c := range creds {
		reports = append(reports, e.summarize(c))
	}
	if o.output == "json" || o.output == "yaml" {
		return printData(e.streams.Out, o.output, map[string]any{"items": reports})
	}
	if len(reports) == 0 {
		where := fmt.Sprintf("in namespace %q", e.deps.Namespace)
		if o.allNamespaces || k == clusterKind {
			where = "in the cluster"
		}
		_, err := fmt.Fprintf(e.streams.ErrOut, "No credentials found %s.\n", where)
		return err
	}
	return printTable(e.streams.Out, reports, o.allNamespaces, o.output == "wide", e.deps.Clock.Now())
}
