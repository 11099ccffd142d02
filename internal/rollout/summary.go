package rollout

import (
	"fmt"
	"strings"
	"time"
)

// Reasons of the RolloutRestart condition. The first two are the
// controller's; Summarize gives the others.
const (
	// ReasonDisabled (False): the operator runs without
	// --enable-rollout-restart.
	ReasonDisabled = "RolloutRestartDisabled"
	// ReasonRefused (False): the API server refused to let the operator
	// read or patch a workload (RBAC, or an admission policy).
	ReasonRefused = "RolloutRestartRefused"
	// ReasonNotFound (False): a workload spec.rolloutRestart.targets names
	// does not exist.
	ReasonNotFound = "WorkloadNotFound"
	// ReasonPaused (False): a Deployment that needs a restart is paused.
	ReasonPaused = "WorkloadPaused"
	// ReasonPending (True): a workload waits for its minInterval to pass.
	ReasonPending = "RestartPending"
	// ReasonCurrent (True): every workload holds the current token.
	ReasonCurrent = "WorkloadsCurrent"
)

// Summary is the RolloutRestart condition after a reconcile, and when to
// look again.
type Summary struct {
	// OK is the condition's status: True unless a workload cannot be
	// restarted as asked.
	OK      bool
	Reason  string
	Message string
	// WakeAt is when the first waiting workload is due; zero for none.
	WakeAt time.Time
}

// Summarize turns the steps taken (restarted workloads count as Current)
// into the condition. The worst action decides the reason; the message
// names its workloads (three at most) and counts those holding the
// current token. It holds no time that changes from one reconcile to the
// next, so an unchanged state writes no status.
func Summarize(steps []Step, minInterval time.Duration) Summary {
	by := map[Action][]Step{}
	for _, s := range steps {
		by[s.Action] = append(by[s.Action], s)
	}
	current := len(by[Current])
	held := fmt.Sprintf("%d of %d workloads hold the current token", current, len(steps))
	if len(steps) == 0 {
		held = "no workload matches spec.rolloutRestart"
	}
	var sum Summary
	for _, s := range by[Wait] {
		if sum.WakeAt.IsZero() || s.At.Before(sum.WakeAt) {
			sum.WakeAt = s.At
		}
	}
	switch {
	case len(by[Refused]) > 0:
		sum.Reason = ReasonRefused
		sum.Message = fmt.Sprintf("the API server refused to let the operator read or patch %s: the Warning event %s says why (RBAC: the config/rollout-restart component grants get, list, watch and patch on deployments, statefulsets and daemonsets; or an admission policy); %s",
			names(by[Refused]), ReasonRefused, held)
	case len(by[Missing]) > 0:
		sum.Reason = ReasonNotFound
		sum.Message = fmt.Sprintf("%s %s not found: create %s or remove %[3]s from spec.rolloutRestart.targets; %s",
			names(by[Missing]), isAre(by[Missing]), itThem(by[Missing]), held)
	case len(by[Paused]) > 0:
		sum.Reason = ReasonPaused
		sum.Message = fmt.Sprintf("%s %s paused, so not restarted: once resumed (kubectl rollout resume), %s restarts for the current token; %s",
			names(by[Paused]), isAre(by[Paused]), itEach(by[Paused]), held)
	case len(by[Wait]) > 0:
		sum.OK, sum.Reason = true, ReasonPending
		sum.Message = fmt.Sprintf("%s restarted less than minInterval (%s) ago: the next restart, for the newest token, is due at %s; %s",
			names(by[Wait]), minInterval, sum.WakeAt.UTC().Format(time.RFC3339), held)
	default:
		sum.OK, sum.Reason, sum.Message = true, ReasonCurrent, held
	}
	return sum
}

// names lists the steps' workloads as "Deployment team-a/api", three at
// most, saying how many more there are.
func names(steps []Step) string {
	var list []string
	for i, s := range steps {
		if i == 3 {
			list = append(list, fmt.Sprintf("%d more", len(steps)-3))
			break
		}
		list = append(list, fmt.Sprintf("%s %s/%s", s.Workload.Kind, s.Workload.Namespace, s.Workload.Name))
	}
	if len(list) == 1 {
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " and " + list[len(list)-1]
}

func itThem(steps []Step) string {
	if len(steps) == 1 {
		return "it"
	}
	return "them"
}

func itEach(steps []Step) string {
	if len(steps) == 1 {
		return "it"
	}
	return "each"
}

func isAre(steps []Step) string {
	if len(steps) == 1 {
		return "is"
	}
	return "are"
}
