package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// result accumulates one algorithm's figures over all seeds and broadcasts.
// Latencies are pooled: t99.9 is the time by which 99.9 % of all
// (live member, broadcast) pairs had delivered, across every seed.
type result struct {
	name      string
	latencies []time.Duration // one per delivery to a live member other than the origin
	missed    int             // live members that never delivered a broadcast
	payload   int64           // payload messages sent, lost ones included
	control   int64           // control messages sent
	hello     int64           // joiners' Hello messages: per join, not per broadcast
	carried   int64           // IHave and Digest carried on packets sent anyway (-carriers)
	perMember int64           // members × broadcasts, summed over runs
	maxLoad   float64         // most sends by one member, per broadcast, worst run
	lastHop   int             // hops of the last delivery, worst run
	maxHop    int
	worstP999 time.Duration // worst single run's t99.9 (−1: not reached)
	runs      int
}

// runStats is one run's raw figures, folded into a result by add.
type runStats struct {
	latencies []time.Duration
	hops      []int
	missed    int
	payload   int64
	control   int64
	sends     []int64 // per member
	hello     int64   // Hello messages (joins), not counted per broadcast
	carried   int64   // piggyback messages carried on packets sent anyway
	// crashedDelivered counts deliveries at crashed members: always 0,
	// which a test checks.
	crashedDelivered int
	members          int
	broadcasts       int
}

// collect turns per-(broadcast, member) delivery times (0 = never, else
// time + 1) and hop counts into a run's latencies, hops and misses; the
// origin and crashed members do not count.
func (st *runStats) collect(sc *scenario, delivered []time.Duration, hops []int32) {
	for b := range sc.broadcasts {
		for i := range sc.n {
			if sc.crashed[i] || int32(i) == sc.origin {
				continue
			}
			k := b*sc.n + i
			if delivered[k] == 0 {
				st.missed++
				continue
			}
			st.latencies = append(st.latencies, delivered[k]-1)
			st.hops = append(st.hops, int(hops[k]))
		}
	}
}

func (r *result) add(s *runStats) {
	r.runs++
	r.latencies = append(r.latencies, s.latencies...)
	r.missed += s.missed
	r.payload += s.payload
	r.carried += s.carried
	r.control += s.control
	r.hello += s.hello
	r.perMember += int64(s.members * s.broadcasts)
	for _, n := range s.sends {
		r.maxLoad = max(r.maxLoad, float64(n)/float64(s.broadcasts))
	}
	last, lastHop := time.Duration(-1), 0
	for i, l := range s.latencies {
		if l > last || (l == last && s.hops[i] > lastHop) {
			last, lastHop = l, s.hops[i]
		}
		r.maxHop = max(r.maxHop, s.hops[i])
	}
	r.lastHop = max(r.lastHop, lastHop)
	sorted := slices.Clone(s.latencies)
	slices.Sort(sorted)
	p := percentile(sorted, len(sorted)+s.missed, 0.999)
	if r.runs == 1 || p < 0 || (r.worstP999 >= 0 && p > r.worstP999) {
		r.worstP999 = p
	}
}

// percentile returns the time by which share q of total had delivered, or
// −1 if fewer than that ever did.
func percentile(sorted []time.Duration, total int, q float64) time.Duration {
	k := int(math.Ceil(q * float64(total)))
	if k < 1 {
		k = 1
	}
	if k > len(sorted) {
		return -1
	}
	return sorted[k-1]
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// summary is one algorithm's pooled figures.
type summary struct {
	t50, t99, t999, t100 time.Duration // −1: never reached
	coverage, within1s   float64       // %, at the end and 1 s after each broadcast
	msgsPerMember        float64
}

func (r *result) summary() summary {
	sorted := slices.Clone(r.latencies)
	slices.Sort(sorted)
	total := len(sorted) + r.missed
	s := summary{
		t50: percentile(sorted, total, 0.50), t99: percentile(sorted, total, 0.99),
		t999: percentile(sorted, total, 0.999), t100: -1,
		coverage:      100 * float64(len(sorted)) / float64(max(total, 1)),
		msgsPerMember: float64(r.payload+r.control) / float64(max(r.perMember, 1)),
	}
	if r.missed == 0 && len(sorted) > 0 {
		s.t100 = sorted[len(sorted)-1]
	}
	in1s, _ := slices.BinarySearch(sorted, time.Second+1)
	s.within1s = 100 * float64(in1s) / float64(max(total, 1))
	return s
}

// printSummary writes the one line per algorithm that issue 11 fixes:
// NAME: t50=…ms t99=…ms t99.9=…ms t100=…ms coverage=…% msgs/member=…
func printSummary(w io.Writer, r *result) {
	s := r.summary()
	ms := func(d time.Duration) string {
		if d < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	fmt.Fprintf(w, "%s: t50=%s t99=%s t99.9=%s t100=%s coverage=%.4f%% msgs/member=%.3f\n",
		r.name, ms(s.t50), ms(s.t99), ms(s.t999), ms(s.t100), s.coverage, s.msgsPerMember)
}

// printTable writes a Markdown table, so the output can go straight into
// docs/benchmarks.md.
func printTable(w io.Writer, results []*result) {
	cols := []string{"algorithm", "t50", "t99", "t99.9", "t100", "worst-seed t99.9", "coverage", "coverage ≤ 1 s", "payload/member", "control/member", "total/member", "most loaded member", "last-delivery hop", "max hop"}
	fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(cols)))
	for _, r := range results {
		sorted := slices.Clone(r.latencies)
		slices.Sort(sorted)
		total := len(sorted) + r.missed
		t100 := time.Duration(-1)
		if r.missed == 0 && len(sorted) > 0 {
			t100 = sorted[len(sorted)-1]
		}
		per := float64(max(r.perMember, 1))
		cov := 100 * float64(len(sorted)) / float64(max(total, 1))
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.4f %% | %.4f %% | %.3f | %.3f | %.3f | %.0f | %d | %d |\n",
			r.name,
			fmtDur(percentile(sorted, total, 0.50)),
			fmtDur(percentile(sorted, total, 0.99)),
			fmtDur(percentile(sorted, total, 0.999)),
			fmtDur(t100),
			fmtDur(r.worstP999),
			cov, r.summary().within1s,
			float64(r.payload)/per, float64(r.control)/per, float64(r.payload+r.control)/per,
			r.maxLoad, r.lastHop, r.maxHop)
	}
}
