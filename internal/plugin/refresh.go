package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// requestStamp formats a refresh request: RFC 3339 with all nine digits
// of the nanoseconds, so two requests never carry the same value (the
// operator acts on a value it has not handled yet) and values sort as times.
const requestStamp = "2006-01-02T15:04:05.000000000Z07:00"

// pollInterval is how often refresh --wait reads the credential.
const pollInterval = 250 * time.Millisecond

type refreshOptions struct {
	listOptions
	all     bool
	wait    bool
	timeout time.Duration
}

func newRefreshCommand(e *env) *cobra.Command {
	o := &refreshOptions{}
	cmd := &cobra.Command{
		Use:   "refresh (NAME... | --all | -l SELECTOR) [--wait [--timeout DURATION]]",
		Short: "Ask the operator for a new token now",
		Long: `Ask the operator for a new token now, by setting the annotation
` + vantagev1alpha1.RefreshRequestedAnnotation + ` to the current time.

With --wait, return once the operator has handled the request
(status.lastHandledRefreshRequest echoes it): exit 0 when the credential is
Ready, non-zero with its Ready message when the refresh failed.`,
		Example: `  kubectl vantage refresh ci-runner -n hpc --wait
  kubectl vantage refresh --all -n hpc
  kubectl vantage refresh -l team=hpc -A --wait --timeout 2m
  kubectl vantage refresh cvcred/hpc --wait`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runRefresh(cmd, o, args)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "every VantageCredential of the namespace (with -A: of every namespace, and every ClusterVantageCredential)")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "with --all or -l: in every namespace")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "refresh the credentials with these labels")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "wait until the operator has handled the request")
	cmd.Flags().DurationVar(&o.timeout, "timeout", time.Minute, "with --wait: how long to wait for each credential")
	return cmd
}

func (e *env) runRefresh(cmd *cobra.Command, o *refreshOptions, args []string) error {
	ctx := ctxOf(cmd)
	selecting := o.all || o.selector != ""
	switch {
	case len(args) == 0 && !selecting:
		return errors.New("name the credentials to refresh, or select them with --all or -l")
	case len(args) > 0 && selecting:
		return errors.New("NAME and --all or -l exclude each other")
	case o.allNamespaces && !selecting:
		return errors.New("-A needs --all or -l")
	}
	var creds []credential
	if selecting {
		var err error
		if creds, err = e.listCredentials(ctx, anyKind, o.listOptions); err != nil {
			return err
		}
		if len(creds) == 0 {
			return errors.New("no credential matches")
		}
	}
	for _, a := range args {
		r, err := parseRef(a)
		if err != nil {
			return err
		}
		c, err := e.getCredential(ctx, r)
		if err != nil {
			return err
		}
		creds = append(creds, c)
	}

	stamp := e.deps.Clock.Now().UTC().Format(requestStamp)
	for _, c := range creds {
		if err := e.requestRefresh(ctx, c, stamp); err != nil {
			return err
		}
		fmt.Fprintf(e.streams.Out, "%s: refresh requested (%s)\n", name(c), stamp)
	}
	if !o.wait {
		return nil
	}
	var failed []error
	for _, c := range creds {
		done, err := e.awaitRefresh(ctx, c, stamp, o.timeout)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(e.streams.Out, "%s: refreshed: Ready %s (%s), token expires %s\n", name(done), done.condition(vantagev1alpha1.ConditionReady).Status,
			done.condition(vantagev1alpha1.ConditionReady).Reason, expiresText(done, e.deps.Clock.Now()))
	}
	return errors.Join(failed...)
}

// name is the credential as the messages name it: vcred/NAME -n NAMESPACE,
// which pastes back into a command.
func name(c credential) string {
	if c.obj.GetNamespace() == "" {
		return c.short()
	}
	return c.short() + " -n " + c.obj.GetNamespace()
}

func expiresText(c credential, now time.Time) string {
	s := expiresIn(c, now)
	if s == "never" || s == "-" || len(s) > 7 && s[:7] == "expired" {
		return s
	}
	return "in " + s
}

// requestRefresh sets the annotation with a merge patch, which touches
// nothing else of the object.
func (e *env) requestRefresh(ctx context.Context, c credential, stamp string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		vantagev1alpha1.RefreshRequestedAnnotation: stamp}}})
	if err != nil {
		return err
	}
	k := namespacedKind
	if c.cluster != nil {
		k = clusterKind
	}
	if err := e.deps.Client.Patch(ctx, c.obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return explain(err, "patch", resource(k), c.obj.GetName(), c.obj.GetNamespace())
	}
	return nil
}

// awaitRefresh waits until the credential's status echoes stamp and says
// whether the refresh worked: Ready True is done; Ready False or Stalled
// True is a failure, returned with the Ready message and what to do.
func (e *env) awaitRefresh(ctx context.Context, c credential, stamp string, timeout time.Duration) (credential, error) {
	key := client.ObjectKeyFromObject(c.obj)
	var last credential
	var failure error
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		obj := c.obj.DeepCopyObject().(vantagev1alpha1.GenericCredential)
		if err := e.deps.Client.Get(ctx, key, obj); err != nil {
			return false, explain(err, "get", c.kindName(), key.Name, key.Namespace)
		}
		last = credential{obj: obj}
		if cv, ok := obj.(*vantagev1alpha1.ClusterVantageCredential); ok {
			last.cluster = cv
		}
		if obj.GetStatus().LastHandledRefreshRequest != stamp {
			return false, nil
		}
		ready, stalled := last.condition(vantagev1alpha1.ConditionReady), last.condition(vantagev1alpha1.ConditionStalled)
		switch {
		case stalled != nil && stalled.Status == "True", ready != nil && ready.Status == "False":
			reason, message := "", ""
			if ready != nil {
				reason, message = ready.Reason, oneLine(ready.Message)
			}
			failure = fmt.Errorf("%s: the refresh failed: Ready False (%s): %s\n  what to do: %s", name(last), reason, message, whatToDo(reason))
			return true, nil
		case ready != nil && ready.Status == "True":
			return true, nil
		}
		return false, nil
	})
	if failure != nil {
		return last, failure
	}
	if err != nil {
		handled := "nothing yet"
		if last.obj != nil && last.obj.GetStatus().LastHandledRefreshRequest != "" {
			handled = last.obj.GetStatus().LastHandledRefreshRequest
		}
		if wait.Interrupted(err) {
			return last, fmt.Errorf("%s: the operator did not handle the refresh request within %s (status.lastHandledRefreshRequest: %s): is it running, and does it watch this credential?", name(c), timeout, handled)
		}
		return last, err
	}
	return last, nil
}
