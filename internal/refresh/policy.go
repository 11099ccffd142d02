package refresh

import "time"

// Policy holds the tuning knobs of renewal and retry.
type Policy struct {
	// JitterFraction is the largest share of a token's lifetime by which a
	// refresh is brought forward, so credentials created together spread out.
	JitterFraction float64
	// MaxJitter caps the jitter for long-lived tokens.
	MaxJitter time.Duration
	// MinInterval is the shortest time between an issue and the next refresh,
	// so a token server handing out near-expired tokens is not hammered.
	MinInterval time.Duration
	// BackoffBase is the delay after the first transient failure; it doubles
	// with each further failure up to BackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// StalledBase and StalledMax bound the slow retry of terminal failures,
	// which only an input change is expected to fix.
	StalledBase time.Duration
	StalledMax  time.Duration
}

// DefaultPolicy returns the policy the operator runs with.
func DefaultPolicy() Policy {
	return Policy{
		JitterFraction: 0.1,
		MaxJitter:      5 * time.Minute,
		MinInterval:    time.Second,
		BackoffBase:    5 * time.Second,
		BackoffMax:     5 * time.Minute,
		StalledBase:    10 * time.Minute,
		StalledMax:     time.Hour,
	}
}
