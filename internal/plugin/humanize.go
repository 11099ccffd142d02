package plugin

import (
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// until says how far t is from now as kubectl says ages: "59m", "3d4h";
// past times as "3m ago".
func until(t, now time.Time) string {
	d := t.Sub(now)
	if d < 0 {
		return duration.HumanDuration(-d) + " ago"
	}
	return "in " + duration.HumanDuration(d)
}

// expiresIn is the table's "expires in": "59m", "expired 3m ago", or
// "never" for an API key the Vantage API gave no expiry.
func expiresIn(c credential, now time.Time) string {
	st := c.obj.GetStatus()
	if st.ExpiresAt == nil {
		if c.obj.GetSpec().APIKeySecretRef != nil && st.LastValidationTime != nil {
			return "never"
		}
		return "-"
	}
	d := st.ExpiresAt.Sub(now)
	if d <= 0 {
		return "expired " + duration.HumanDuration(-d) + " ago"
	}
	return duration.HumanDuration(d)
}

// nextRefresh is the table's "next refresh": "in 39m", "due 2s ago" when
// overdue, "-" when none is planned (suspended, stalled).
func nextRefresh(c credential, now time.Time) string {
	st := c.obj.GetStatus()
	at := st.NextRefreshTime
	if at == nil {
		return "-"
	}
	if d := at.Sub(now); d < 0 {
		return "due " + duration.HumanDuration(-d) + " ago"
	}
	return until(at.Time, now)
}
