package bench

import (
	"slices"
	"time"
)

// percentile returns the q-quantile (0 ≤ q ≤ 1) of sorted by the
// nearest-rank method: the smallest sample with at least q of the samples at
// or below it. It returns 0 for no samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.999999999)
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// distribution summarises a set of durations.
type distribution struct {
	n                     int
	first, p50, p99, last time.Duration
}

// summarise sorts samples in place and returns their distribution.
func summarise(samples []time.Duration) distribution {
	slices.Sort(samples)
	d := distribution{n: len(samples)}
	if len(samples) == 0 {
		return d
	}
	d.first, d.last = samples[0], samples[len(samples)-1]
	d.p50, d.p99 = percentile(samples, 0.50), percentile(samples, 0.99)
	return d
}
