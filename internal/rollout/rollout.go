// Package rollout decides which workloads spec.rolloutRestart restarts, and
// when: a workload restarts when its pods may hold an older token than the
// target Secret, at most once per minInterval, with later changes coalesced
// into one restart at the interval's end. The decisions are pure functions
// of the workload's state and the time; the controller reads the workloads,
// patches them and reports.
//
// What a workload's pods hold is recorded on the workload itself, as the
// hash of the change each credential last restarted it for
// (RestartedForAnnotation, see Record), so a restart of the operator, a
// second reconcile or a second replica restarts nothing twice, and two
// credentials restarting one workload do not restart it in turn forever.
package rollout

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Trigger is the change the pods must hold: its hash, and when it reached
// the target Secret (the token's issue time).
type Trigger struct {
	Hash  string
	Since time.Time
}

// Hash is the trigger hash of a change: on is TokenChange or SourceChange,
// and change identifies it (the target's data hash, or the inputs hash).
func Hash(on, change string) string {
	sum := sha256.Sum256([]byte(on + "\x00" + change))
	return hex.EncodeToString(sum[:8])
}

// Workload is a Deployment, StatefulSet or DaemonSet as the decision needs
// it.
type Workload struct {
	Kind      string
	Namespace string
	Name      string
	// Missing: spec.rolloutRestart.targets names it but it does not exist.
	Missing bool
	// Created is its creation time.
	Created time.Time
	// RestartedFor is what this credential last restarted it for (its
	// entry in the annotation), RestartedAt when it was last restarted by
	// any credential.
	RestartedFor string
	RestartedAt  time.Time
	// Paused: a Deployment with spec.paused, which kubectl rollout restart
	// refuses too.
	Paused bool
}

// Action is what to do with one workload.
type Action string

const (
	// Current: its pods hold the trigger; nothing to do.
	Current Action = "Current"
	// Restart it now.
	Restart Action = "Restart"
	// Wait until At: it restarted less than minInterval ago.
	Wait Action = "Wait"
	// Paused: it needs a restart but is paused.
	Paused Action = "Paused"
	// Missing: it is named but does not exist.
	Missing Action = "Missing"
	// Refused: the API server would not let the operator read or patch
	// it, for RBAC or an admission policy (set by the controller).
	Refused Action = "Refused"
)

// Step is the decision for one workload.
type Step struct {
	Workload Workload
	Action   Action
	// At is when a waiting workload is due.
	At time.Time
}

// Decide is what to do with w at now for trigger t. The rules, first match
// wins:
//   - a named workload that does not exist is Missing (a warning: creating
//     it later needs no restart, since its pods start with the token);
//   - a workload restarted for t already holds it;
//   - a workload never restarted by the operator, created no earlier than
//     the token reached the Secret, started with it (so the first token
//     restarts nothing that was created with or after it);
//   - a paused Deployment is left alone (kubectl rollout restart refuses
//     it too) until it is resumed;
//   - one restarted less than minInterval ago waits for the interval's
//     end, when it restarts for the newest trigger then;
//   - anything else restarts now.
//
// Hashes, not times, say whether a workload holds a change: two tokens
// issued in one second are two restarts, not one.
func Decide(now time.Time, t Trigger, minInterval time.Duration, w Workload) Step {
	s := Step{Workload: w}
	switch {
	case w.Missing:
		s.Action = Missing
	case w.RestartedFor == t.Hash:
		s.Action = Current
	case w.RestartedFor == "" && !w.Created.Before(t.Since.Truncate(time.Second)):
		s.Action = Current
	case w.Paused:
		s.Action = Paused
	case minInterval > 0 && !w.RestartedAt.IsZero() && now.Before(w.RestartedAt.Add(minInterval)):
		s.Action, s.At = Wait, w.RestartedAt.Add(minInterval)
	default:
		s.Action = Restart
	}
	return s
}
