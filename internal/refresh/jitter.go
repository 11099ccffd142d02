package refresh

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"
)

// fraction maps a seed to a stable number in [0, 1). Seeding with the
// object's UID keeps an object's refresh time the same across restarts of
// the operator while spreading different objects apart.
func fraction(seed string) float64 {
	// SHA-256 rather than a cheaper hash: UIDs differ in few characters, and
	// only a well-mixed hash spreads them evenly.
	sum := sha256.Sum256([]byte(seed))
	// The top 53 bits fill a float64 mantissa exactly.
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// Jitter returns how far ahead of schedule the object with this UID
// refreshes a token of the given lifetime: at most JitterFraction of the
// lifetime and at most MaxJitter.
func (p Policy) Jitter(uid string, lifetime time.Duration) time.Duration {
	if lifetime <= 0 {
		return 0
	}
	span := time.Duration(float64(lifetime) * p.JitterFraction)
	if span > p.MaxJitter {
		span = p.MaxJitter
	}
	return time.Duration(fraction(uid) * float64(span))
}

// attemptFraction is a stable number in [0, 1) for one retry attempt of one
// object, so backoff jitter is reproducible yet differs between objects.
func attemptFraction(uid string, attempt int32) float64 {
	return fraction(uid + "/" + strconv.Itoa(int(attempt)))
}
