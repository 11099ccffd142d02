package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"

	vantagev1alpha1 "github.com/omnivector-solutions/vantage-credential-operator/api/v1alpha1"
)

// printData writes v as JSON or YAML.
func printData(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// printTable writes one row per credential, as kubectl get does.
func printTable(out io.Writer, reports []*Report, withNamespace, wide bool, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	cols := []string{"NAME", "READY", "REASON", "EXPIRES IN", "NEXT REFRESH", "TARGET", "FAILURES"}
	if withNamespace {
		cols = append([]string{"NAMESPACE"}, cols...)
	}
	if wide {
		cols = append(cols, "LAST REFRESH", "USER", "MESSAGE")
	}
	fmt.Fprintln(w, strings.Join(cols, "\t"))
	for _, r := range reports {
		row := []string{r.cred.short(), r.Ready.Status, orDash(r.Ready.Reason), r.ExpiresIn, r.NextRefresh, target(r), fmt.Sprint(r.ConsecutiveFailures)}
		if withNamespace {
			row = append([]string{orDash(r.Namespace)}, row...)
		}
		if wide {
			last := "-"
			if r.LastRefreshTime != nil {
				last = until(*r.LastRefreshTime, now)
			}
			row = append(row, last, orDash(r.UserID), oneLine(r.Ready.Message))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	return w.Flush()
}

// target is the table's TARGET: the Secret, and for a cluster credential
// in how many namespaces (and how many failed).
func target(r *Report) string {
	if r.cred.cluster == nil {
		return r.Target.Name
	}
	s := fmt.Sprintf("%s (%d ns", r.Target.Name, r.Target.Namespaces)
	if r.Target.FailedCount > 0 {
		s += fmt.Sprintf(", %d failed", r.Target.FailedCount)
	}
	return s + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a message on its table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// stamp is a time with how far it is from now.
func stamp(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", t.Format(time.RFC3339), until(*t, now))
}

// printDetail writes everything status NAME knows, in the manner of
// kubectl describe and cmctl status certificate.
func printDetail(out io.Writer, r *Report, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("Name:\t%s", r.Name)
	if r.Namespace != "" {
		p("Namespace:\t%s", r.Namespace)
	}
	p("Kind:\t%s", r.Kind)
	ready := r.Ready.Status
	if r.Ready.Reason != "" {
		ready += " (" + r.Ready.Reason + ")"
	}
	p("Ready:\t%s", ready)
	if r.Ready.Message != "" {
		p("Message:\t%s", oneLine(r.Ready.Message))
	}
	p("Conditions:")
	if len(r.Conditions) == 0 {
		p("  none yet")
	}
	for _, c := range r.Conditions {
		since := ""
		if c.Since != nil {
			since = ", since " + until(*c.Since, now)
		}
		p("  %s\t%s\t%s%s", c.Type, c.Status, orDash(c.Reason), since)
		if c.Message != "" && c.Type != "Ready" {
			p("  \t%s", oneLine(c.Message))
		}
	}
	p("Token:")
	if r.ExpiresAt == nil && r.ExpiresIn == "never" {
		p("  Expires:\tnever (the Vantage API gave the API key no expiry)")
	} else {
		p("  Expires:\t%s", stamp(r.ExpiresAt, now))
	}
	p("  Last refresh:\t%s", stamp(r.LastRefreshTime, now))
	p("  Next refresh:\t%s", stamp(r.NextRefreshTime, now))
	p("  Consecutive failures:\t%d", r.ConsecutiveFailures)
	if r.LastFailureTime != nil {
		p("  Last failure:\t%s", stamp(r.LastFailureTime, now))
	}
	if len(r.GrantedScopes) > 0 {
		p("  Granted scopes:\t%s", strings.Join(r.GrantedScopes, " "))
	}
	if r.UserID != "" {
		p("  User (Vantage API):\t%s", r.UserID)
	}
	if r.TokenURL != "" {
		p("  Token URL:\t%s", r.TokenURL)
	}
	if r.LastRefreshRequest != "" {
		p("  Last refresh request:\t%s", r.LastRefreshRequest)
	}
	if rr := r.RolloutRestart; rr != nil {
		printRolloutRestart(p, rr, now)
	}
	if s := r.Source; s != nil {
		p("Key Secret:\t%s/%s", s.Namespace, s.Secret)
		switch {
		case s.Error != "":
			p("  \tcannot tell: %s", s.Error)
		case !s.Exists:
			p("  \tdoes not exist")
		case s.KeyExists:
			p("  \texists, with %s %s", plural("key", len(s.Keys)), strings.Join(s.Keys, " and "))
		default:
			p("  \texists, but without %s %s", plural("key", len(s.Keys)), strings.Join(s.Keys, " and "))
		}
	}
	if s := r.ServiceAccount; s != nil {
		p("ServiceAccount:\t%s/%s", s.Namespace, s.Name)
		switch {
		case s.Error != "":
			p("  \tcannot tell: %s", s.Error)
		case !s.Exists:
			p("  \tdoes not exist")
		case s.OptedIn:
			p("  \texists, lends its tokens (%s=true)", vantagev1alpha1.TokenSourceLabel)
		default:
			p("  \texists, but lends no token: it lacks the label %s=true", vantagev1alpha1.TokenSourceLabel)
		}
		if s.Audiences != nil {
			p("  \tonly for the audiences of its annotation %s: %q", vantagev1alpha1.TokenAudiencesAnnotation, *s.Audiences)
		}
	}
	t := r.Target
	if r.cred.cluster != nil {
		p("Target Secret:\t%s in %d namespaces (%d failed)", t.Name, t.Namespaces, t.FailedCount)
		for _, f := range t.FailedNamespaces {
			p("  failed in %s:\t%s: %s", f.Namespace, f.Reason, oneLine(f.Message))
		}
		if t.Inspected != "" {
			p("  Inspected copy:\t%s/%s", t.Inspected, t.Name)
		}
	} else {
		p("Target Secret:\t%s/%s", r.Namespace, t.Name)
	}
	if t.Error != "" {
		p("  \t%s", t.Error)
	} else {
		p("  Keys:\t%s (values not shown)", strings.Join(t.Keys, ", "))
	}
	if r.Claims != nil {
		p("Token claims (decoded from the JWT, signature not verified):")
		printClaims(p, r.Claims, now)
	} else if r.ClaimsError != "" && t.Error == "" {
		p("Token claims:\t%s", r.ClaimsError)
	}
	w.Flush()
	// The events table has its own columns.
	fmt.Fprintln(out, "Events:")
	switch {
	case r.EventsError != "":
		fmt.Fprintf(out, "  cannot list: %s\n", r.EventsError)
	case len(r.Events) == 0:
		fmt.Fprintln(out, "  none")
	default:
		ew := printers.GetNewTabWriter(out)
		fmt.Fprintln(ew, "  LAST\tTYPE\tREASON\tMESSAGE")
		for _, ev := range r.Events {
			last := "-"
			if ev.Last != nil {
				last = until(*ev.Last, now)
			}
			fmt.Fprintf(ew, "  %s\t%s\t%s\t%s\n", last, ev.Type, ev.Reason, oneLine(ev.Message))
		}
		ew.Flush()
	}
	_, err := fmt.Fprintf(out, "What to do:\n  %s\n", r.WhatToDo)
	return err
}

// printRolloutRestart writes what spec.rolloutRestart restarts, on what,
// and when it last did.
func printRolloutRestart(p func(string, ...any), rr *RolloutRestartReport, now time.Time) {
	on := "on " + rr.On
	if rr.MinInterval != "" && rr.MinInterval != "0s" {
		on += ", at most once per " + rr.MinInterval
	}
	p("Rollout restart:\t%s", on)
	var workloads []string
	if len(rr.Workloads) > 0 {
		workloads = append(workloads, strings.Join(rr.Workloads, ", "))
	}
	if rr.Selector != "" {
		workloads = append(workloads, "selector "+rr.Selector)
	}
	p("  Workloads:\t%s", orDash(strings.Join(workloads, "; ")))
	if rr.LastRestartTime == nil {
		p("  Last restart:\tnever")
	} else {
		p("  Last restart:\t%s", stamp(rr.LastRestartTime, now))
	}
}

// printClaims writes the claims status and whoami show.
func printClaims(p func(string, ...any), c *Claims, now time.Time) {
	p("  Subject (sub):\t%s", orDash(c.Subject))
	p("  Client (azp):\t%s", orDash(c.Client))
	p("  Scopes:\t%s", orDash(strings.Join(c.Scopes, " ")))
	p("  Organization:\t%s", orDash(c.Organization))
	if c.Issuer != "" {
		p("  Issuer (iss):\t%s", c.Issuer)
	}
	if len(c.Audience) > 0 {
		p("  Audience (aud):\t%s", strings.Join(c.Audience, " "))
	}
	if c.IssuedAt != nil {
		p("  Issued (iat):\t%s", stamp(c.IssuedAt, now))
	}
	p("  Expires (exp):\t%s", stamp(c.ExpiresAt, now))
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
