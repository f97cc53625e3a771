package tests

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// LeaseReport is what a lease workload observed, from Report.
type LeaseReport struct {
	Nodes   int
	Live    int // kept alive now
	Stopped int // by Stop
	Ended   int // by RevokeAll
	Failed  int // keepalive channel closed by itself
	// Errors counts the failed operations by op: grant, put, keepalive,
	// timetolive, leases, verify, revoke, opmix.
	Errors map[string]int
	// ErrorSamples are the first errors, "node: op: error".
	ErrorSamples []string
	// KeysLost lists the nodes whose key was deleted or absent while their
	// lease was kept alive, with why.
	KeysLost []string
	// WatchErrors are the DELETE observer's errors: with any, a DELETE may
	// have been missed.
	WatchErrors []string
	// Expiry has one entry per stopped node.
	Expiry []NodeExpiry
}

// NodeExpiry is the life end of one stopped node.
type NodeExpiry struct {
	Node          int
	LastKeepAlive time.Time // last keepalive response (zero: none)
	Stopped       time.Time // Stop
	Deleted       time.Time // DELETE seen by the watch (zero: not yet)
}

// reportSamples is how many errors a report quotes.
const reportSamples = 10

// Report gathers what the workload observed so far.
func (r *LeaseLoadRun) Report() LeaseReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := LeaseReport{Nodes: len(r.nodes), Errors: map[string]int{}, WatchErrors: r.watcher.errors()}
	for _, n := range r.nodes {
		switch {
		case n.live:
			rep.Live++
		case !n.stoppedAt.IsZero():
			rep.Stopped++
			rep.Expiry = append(rep.Expiry, NodeExpiry{Node: n.idx, LastKeepAlive: n.lastKA, Stopped: n.stoppedAt, Deleted: n.deletedAt})
		case !n.endedAt.IsZero():
			rep.Ended++
		case !n.failedAt.IsZero():
			rep.Failed++
		}
		for _, e := range n.errs {
			rep.Errors[e.op]++
			if len(rep.ErrorSamples) < reportSamples {
				rep.ErrorSamples = append(rep.ErrorSamples, fmt.Sprintf("%s: %s: %s", NodeName(n.idx), e.op, e.err))
			}
		}
		// lostWhy is set only while the node is live (never stopped or
		// ended); a node whose keepalive failed afterwards counts as a
		// keepalive error, not as a lost key, but the sample says so.
		switch {
		case n.lostWhy == "":
		case n.failedAt.IsZero():
			rep.KeysLost = append(rep.KeysLost, NodeName(n.idx)+": "+n.lostWhy)
		case len(rep.ErrorSamples) < reportSamples:
			rep.ErrorSamples = append(rep.ErrorSamples, fmt.Sprintf("%s: keepalive failed later; before that: %s", NodeName(n.idx), n.lostWhy))
		}
	}
	return rep
}

// ErrorCount is the number of failed operations.
func (rep LeaseReport) ErrorCount() int {
	total := 0
	for _, k := range rep.Errors {
		total += k
	}
	return total
}

// Check describes every error, lost key and watch error, or returns "" when
// there is none: what a test asserts is empty.
func (rep LeaseReport) Check() string {
	if rep.ErrorCount() == 0 && len(rep.KeysLost) == 0 && len(rep.WatchErrors) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "lease load: %d errors %v, %d keys lost, %d watch errors (%s)",
		rep.ErrorCount(), rep.Errors, len(rep.KeysLost), len(rep.WatchErrors), rep.counts())
	for _, s := range rep.ErrorSamples {
		fmt.Fprintf(&b, "\n\terror %s", s)
	}
	for i, s := range rep.KeysLost {
		if i == reportSamples {
			fmt.Fprintf(&b, "\n\t... and %d more keys lost", len(rep.KeysLost)-i)
			break
		}
		fmt.Fprintf(&b, "\n\tlost %s", s)
	}
	for _, s := range rep.WatchErrors {
		fmt.Fprintf(&b, "\n\twatch %s", s)
	}
	return b.String()
}

func (rep LeaseReport) counts() string {
	return fmt.Sprintf("%d nodes: %d live, %d stopped, %d ended, %d failed", rep.Nodes, rep.Live, rep.Stopped, rep.Ended, rep.Failed)
}

// ExpirySummary describes how long the stopped nodes' keys took to go, from
// the last keepalive response and from the stop: figures to log, never to
// assert.
func (rep LeaseReport) ExpirySummary() string {
	var fromKA, fromStop []time.Duration
	pending := 0
	for _, e := range rep.Expiry {
		if e.Deleted.IsZero() {
			pending++
			continue
		}
		fromStop = append(fromStop, e.Deleted.Sub(e.Stopped))
		if !e.LastKeepAlive.IsZero() {
			fromKA = append(fromKA, e.Deleted.Sub(e.LastKeepAlive))
		}
	}
	return fmt.Sprintf("%d stopped nodes, %d keys deleted, %d not yet; DELETE after the last keepalive response: %s; after the stop: %s",
		len(rep.Expiry), len(fromStop), pending, spread(fromKA), spread(fromStop))
}

// spread is "min / p50 / p99 / max" of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	at := func(q float64) string {
		return ds[int(q*float64(len(ds)-1))].Round(time.Millisecond).String()
	}
	return fmt.Sprintf("min %s / p50 %s / p99 %s / max %s", at(0), at(0.5), at(0.99), at(1))
}
