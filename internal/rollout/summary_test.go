package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/rollout"
)

func step(kind, name string, a rollout.Action) rollout.Step {
	return rollout.Step{Workload: rollout.Workload{Kind: kind, Namespace: "team-a", Name: name}, Action: a}
}

func waitStep(name string, at time.Time) rollout.Step {
	s := step("Deployment", name, rollout.Wait)
	s.At = at
	return s
}

// TestSummarize has a row per reason, the priority between reasons when
// steps mix, and the wording edges of the message. Exact messages are
// asserted where given, so a change of wording is deliberate.
func TestSummarize(t *testing.T) {
	const interval = 10 * time.Minute
	t1 := time.Date(2025, 3, 1, 12, 10, 0, 0, time.UTC)
	current := func(name string) rollout.Step { return step("Deployment", name, rollout.Current) }

	tests := []struct {
		name       string
		steps      []rollout.Step
		wantOK     bool
		wantReason string
		// wantMsg is the exact message; if empty, wantParts must appear.
		wantMsg   string
		wantParts []string
		wantWake  time.Time
	}{
		{
			name:       "no steps",
			steps:      nil,
			wantOK:     true,
			wantReason: rollout.ReasonCurrent,
			wantMsg:    "no workload matches spec.rolloutRestart",
		},
		{
			name:       "all current",
			steps:      []rollout.Step{current("api"), step("StatefulSet", "db", rollout.Current)},
			wantOK:     true,
			wantReason: rollout.ReasonCurrent,
			wantMsg:    "2 of 2 workloads hold the current token",
		},
		{
			// The earliest At is last, so a "first Wait wins" bug shows;
			// the pending condition stays True (nothing is wrong).
			name: "waiting: earliest WakeAt among several",
			steps: []rollout.Step{
				waitStep("api", t1.Add(5*time.Minute)),
				current("web"),
				waitStep("worker", t1.Add(2*time.Minute)),
				waitStep("cron", t1),
			},
			wantOK:     true,
			wantReason: rollout.ReasonPending,
			wantMsg: "Deployment team-a/api, Deployment team-a/worker and Deployment team-a/cron restarted less than minInterval (10m0s) ago: " +
				"the next restart, for the newest token, is due at 2025-03-01T12:10:00Z; 1 of 4 workloads hold the current token",
			wantWake: t1,
		},
		{
			// The due time is written in UTC whatever the zone of At, so
			// the message does not depend on the operator's TZ.
			name:       "waiting: due time is UTC",
			steps:      []rollout.Step{waitStep("api", t1.In(time.FixedZone("X", 3600)))},
			wantOK:     true,
			wantReason: rollout.ReasonPending,
			wantParts:  []string{"due at 2025-03-01T12:10:00Z;", "0 of 1 workloads"},
			wantWake:   t1,
		},
		{
			name:       "paused, singular",
			steps:      []rollout.Step{step("Deployment", "api", rollout.Paused), current("web")},
			wantReason: rollout.ReasonPaused,
			wantMsg: "Deployment team-a/api is paused, so not restarted: once resumed (kubectl rollout resume), it restarts for the current token" +
				"; 1 of 2 workloads hold the current token",
		},
		{
			name:       "paused, plural",
			steps:      []rollout.Step{step("Deployment", "api", rollout.Paused), step("Deployment", "web", rollout.Paused)},
			wantReason: rollout.ReasonPaused,
			wantParts:  []string{"Deployment team-a/api and Deployment team-a/web are paused", "0 of 2 workloads"},
		},
		{
			name:       "missing, singular",
			steps:      []rollout.Step{step("StatefulSet", "db", rollout.Missing)},
			wantReason: rollout.ReasonNotFound,
			wantMsg: "StatefulSet team-a/db is not found: create it or remove it from spec.rolloutRestart.targets; " +
				"0 of 1 workloads hold the current token",
		},
		{
			name:       "missing, plural",
			steps:      []rollout.Step{step("StatefulSet", "db", rollout.Missing), step("DaemonSet", "agent", rollout.Missing), current("api")},
			wantReason: rollout.ReasonNotFound,
			wantParts:  []string{"StatefulSet team-a/db and DaemonSet team-a/agent are not found", "1 of 3 workloads"},
		},
		{
			name:       "refused",
			steps:      []rollout.Step{step("DaemonSet", "agent", rollout.Refused), current("api")},
			wantReason: rollout.ReasonRefused,
			wantMsg: "the API server refused to let the operator read or patch DaemonSet team-a/agent: the Warning event " +
				"RolloutRestartRefused says why (RBAC: the config/rollout-restart component grants get, list, watch and patch on " +
				"deployments, statefulsets and daemonsets; or an admission policy); 1 of 2 workloads hold the current token",
		},
		// Priority: Refused > Missing > Paused > Wait > Current, each
		// row dropping the worst action of the one before. WakeAt is set
		// whenever a workload waits, even when a worse reason shows, so
		// the controller still looks again when it is due.
		{
			name: "priority: refused over all",
			steps: []rollout.Step{
				current("a"), waitStep("b", t1), step("Deployment", "c", rollout.Paused),
				step("Deployment", "d", rollout.Missing), step("Deployment", "e", rollout.Refused),
			},
			wantReason: rollout.ReasonRefused,
			wantParts:  []string{"patch Deployment team-a/e:", "1 of 5 workloads"},
			wantWake:   t1,
		},
		{
			name: "priority: missing over paused and wait",
			steps: []rollout.Step{
				current("a"), waitStep("b", t1), step("Deployment", "c", rollout.Paused), step("Deployment", "d", rollout.Missing),
			},
			wantReason: rollout.ReasonNotFound,
			wantParts:  []string{"Deployment team-a/d is not found", "1 of 4 workloads"},
			wantWake:   t1,
		},
		{
			name:       "priority: paused over wait",
			steps:      []rollout.Step{current("a"), waitStep("b", t1), step("Deployment", "c", rollout.Paused)},
			wantReason: rollout.ReasonPaused,
			wantParts:  []string{"Deployment team-a/c is paused", "1 of 3 workloads"},
			wantWake:   t1,
		},
		{
			name:       "priority: wait over current",
			steps:      []rollout.Step{current("a"), waitStep("b", t1)},
			wantOK:     true,
			wantReason: rollout.ReasonPending,
			wantParts:  []string{"Deployment team-a/b restarted less", "1 of 2 workloads"},
			wantWake:   t1,
		},
		// Names: three at most, then how many more.
		{
			name: "names: three listed in full",
			steps: []rollout.Step{
				step("Deployment", "a", rollout.Missing), step("Deployment", "b", rollout.Missing), step("Deployment", "c", rollout.Missing),
			},
			wantReason: rollout.ReasonNotFound,
			wantMsg: "Deployment team-a/a, Deployment team-a/b and Deployment team-a/c are not found: " +
				"create them or remove them from spec.rolloutRestart.targets; 0 of 3 workloads hold the current token",
		},
		{
			name: "names: four is three and 1 more",
			steps: []rollout.Step{
				step("Deployment", "a", rollout.Missing), step("Deployment", "b", rollout.Missing),
				step("Deployment", "c", rollout.Missing), step("Deployment", "d", rollout.Missing),
			},
			wantReason: rollout.ReasonNotFound,
			wantParts:  []string{"Deployment team-a/a, Deployment team-a/b, Deployment team-a/c and 1 more are not found:"},
		},
		{
			name: "names: five is three and 2 more",
			steps: []rollout.Step{
				step("Deployment", "a", rollout.Refused), step("Deployment", "b", rollout.Refused),
				step("Deployment", "c", rollout.Refused), step("Deployment", "d", rollout.Refused),
				step("Deployment", "e", rollout.Refused),
			},
			wantReason: rollout.ReasonRefused,
			wantParts:  []string{"patch Deployment team-a/a, Deployment team-a/b, Deployment team-a/c and 2 more:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rollout.Summarize(tt.steps, interval)
			if got.OK != tt.wantOK {
				t.Errorf("OK = %v, want %v", got.OK, tt.wantOK)
			}
			if got.Reason != tt.wantReason {
				t.Errorf("Reason = %q, want %q", got.Reason, tt.wantReason)
			}
			if tt.wantMsg != "" && got.Message != tt.wantMsg {
				t.Errorf("Message =\n  %q\nwant\n  %q", got.Message, tt.wantMsg)
			}
			for _, p := range tt.wantParts {
				if !strings.Contains(got.Message, p) {
					t.Errorf("Message %q does not contain %q", got.Message, p)
				}
			}
			if !got.WakeAt.Equal(tt.wantWake) {
				t.Errorf("WakeAt = %v, want %v", got.WakeAt, tt.wantWake)
			}
		})
	}
}
