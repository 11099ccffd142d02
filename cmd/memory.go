package main

import (
	"fmt"
	"math"
	"runtime/debug"

	"k8s.io/apimachinery/pkg/api/resource"
)

// gcSettings is what the manager tells the Go garbage collector.
type gcSettings struct {
	// percent is GOGC: the heap grows by this much between collections;
	// 0 leaves the runtime's own setting.
	percent int
	// limit is the soft memory limit in bytes (GOMEMLIMIT); 0: none.
	limit int64
}

// chooseGC turns the flags into collector settings. GOGC and GOMEMLIMIT in
// the environment win over the flags, as Go's own settings. memoryLimit is
// the container's memory limit, a quantity such as 128Mi or a byte count
// (the downward API's limits.memory); the soft limit is ratio of it, the
// rest left for what Go does not manage (the binary's pages, about 27 MiB).
func chooseGC(lookupEnv func(string) (string, bool), gcPercent int, memoryLimit string, ratio float64) (gcSettings, error) {
	var s gcSettings
	if _, set := lookupEnv("GOGC"); !set {
		s.percent = gcPercent
	}
	if _, set := lookupEnv("GOMEMLIMIT"); set || memoryLimit == "" || ratio <= 0 {
		return s, nil
	}
	if ratio > 1 {
		return s, fmt.Errorf("--memory-limit-ratio %v: not above 1", ratio)
	}
	q, err := resource.ParseQuantity(memoryLimit)
	if err != nil {
		return s, fmt.Errorf("--memory-limit %q: %w", memoryLimit, err)
	}
	limit, ok := q.AsInt64()
	if !ok || limit <= 0 {
		return s, fmt.Errorf("--memory-limit %q: not a positive number of bytes", memoryLimit)
	}
	s.limit = int64(math.Floor(float64(limit) * ratio))
	return s, nil
}

// apply sets the settings in the runtime.
func (s gcSettings) apply() {
	if s.percent > 0 {
		debug.SetGCPercent(s.percent)
	}
	if s.limit > 0 {
		debug.SetMemoryLimit(s.limit)
	}
}
