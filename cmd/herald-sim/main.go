package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// options are the command's flags; zero protocol fields keep the profile's
// values.
type options struct {
	n          int
	profile    string
	minDelay   time.Duration
	maxDelay   time.Duration
	loss       float64
	geP, geR   float64
	geLoss     float64
	crashed    float64
	viewMiss   float64
	viewLag    time.Duration
	churn      float64
	sendCost   time.Duration
	link       string
	dial       string
	carriers   float64
	pbWait     time.Duration
	rate       float64
	seed       uint64
	seeds      int
	broadcasts int
	spacing    time.Duration
	payload    int
	noFlood    bool
	warm       bool

	layout                            string
	fanout, redundancy, partial, lazy int
	ihave, graftTimeout               time.Duration
	aeInterval                        time.Duration
	aeRounds                          int
}

// profile presets: link delays and the plumtree preset tuned for them.
var profiles = map[string]struct {
	minDelay, maxDelay time.Duration
	loss               float64
	config             func(plumtree.NodeID, *rand.Rand) plumtree.Config
}{
	"wan": {10 * time.Millisecond, 20 * time.Millisecond, 0.10, plumtree.WANConfig},
	"dc":  {100 * time.Microsecond, 500 * time.Microsecond, 0, plumtree.DefaultConfig},
}

func main() {
	var o options
	fs := flag.NewFlagSet("herald-sim", flag.ExitOnError)
	fs.IntVar(&o.n, "n", 1000, "number of members")
	fs.StringVar(&o.profile, "profile", "wan", "preset: wan (links U[10,20] ms, 10 % loss, WANConfig) or dc (U[0.1,0.5] ms, no loss, DefaultConfig)")
	fs.DurationVar(&o.minDelay, "delay-min", 0, "minimum link delay (0: profile's)")
	fs.DurationVar(&o.maxDelay, "delay-max", 0, "maximum link delay (0: profile's)")
	fs.Float64Var(&o.loss, "loss", -1, "i.i.d. loss rate per message (−1: profile's)")
	fs.Float64Var(&o.geP, "burst-p", 0, "bursty loss: per-message probability that a receiver's link turns bad (0: off)")
	fs.Float64Var(&o.geR, "burst-r", 0.3, "bursty loss: per-message probability that a bad link recovers")
	fs.Float64Var(&o.geLoss, "burst-loss", 0.5, "bursty loss: loss rate while a link is bad")
	fs.Float64Var(&o.crashed, "crash", 0, "share of members crashed: they receive nothing and forward nothing (without -view-lag no member has noticed yet)")
	fs.Float64Var(&o.crashed, "crashed", 0, "old name of -crash")
	fs.Float64Var(&o.viewMiss, "view-miss", 0, "each member's view lacks its own random share F of the members")
	fs.DurationVar(&o.viewLag, "view-lag", 0, "membership changes (the crashes, and -churn joins) happened in the D before the broadcast and reach members over D, spreading as memberlist spreads them")
	fs.Float64Var(&o.churn, "churn", 0.01, "with -view-lag: share of members that joined within it")
	fs.DurationVar(&o.sendCost, "send-cost", 0, "a member's sends are serialised, D each")
	fs.StringVar(&o.link, "link", "datagram", "datagram (independent packets, may overtake) or tcp (connection per pair set up on first use, in-order, loss repaired after an RTO)")
	fs.StringVar(&o.dial, "dial", "ahead", "with -link tcp: ahead (each member holds connections to its links open, as the daemon does: predial.go) or on-use (every connection is set up by its first message)")
	fs.Float64Var(&o.carriers, "carriers", 0, "packets each member sends anyway per second, each to a random member (memberlist's gossip and probes; UDP); the tree's IHave and Digest ride on them (carrier.go). 0: they go in messages of their own")
	fs.DurationVar(&o.pbWait, "piggyback-wait", 500*time.Millisecond, "with -carriers: how long an IHave or Digest waits for a carrier before it goes in a message of its own (plumtree.Config.PiggybackWait)")
	fs.Float64Var(&o.rate, "rate", 0, "broadcasts per second (sets -spacing to 1/R)")
	fs.Uint64Var(&o.seed, "seed", 1, "first seed; runs use seed, seed+1, …")
	fs.IntVar(&o.seeds, "seeds", 1, "number of runs, each with its own seed, overlay and origin")
	fs.IntVar(&o.broadcasts, "broadcasts", 1, "broadcasts per run, from one origin (a feeder)")
	fs.DurationVar(&o.spacing, "spacing", 10*time.Millisecond, "time between a run's broadcasts")
	fs.IntVar(&o.payload, "payload", 256, "payload bytes (the model has no bandwidth: informational)")
	fs.BoolVar(&o.noFlood, "no-flood", false, "skip the flooding baseline")
	fs.BoolVar(&o.warm, "warm", false, "one unmeasured broadcast 2 s before the measured ones, from the same origin: the steady state of a fleet that has broadcast before (TCP connections along the links it used are open)")
	fs.StringVar(&o.layout, "layout", "", "override Layout: heap (positions in the sorted view) or ring (hashed positions, absolute arcs)")
	fs.IntVar(&o.fanout, "fanout", 0, "override EagerFanout")
	fs.IntVar(&o.redundancy, "redundancy", -1, "override EagerRedundancy")
	fs.IntVar(&o.partial, "partial", -1, "override PartialCopyPermille")
	fs.IntVar(&o.lazy, "lazy", -1, "override MaxLazy")
	fs.DurationVar(&o.ihave, "ihave-interval", 0, "override IHaveInterval")
	fs.DurationVar(&o.graftTimeout, "graft-timeout", 0, "override GraftTimeout")
	fs.DurationVar(&o.aeInterval, "ae-interval", 0, "override AntiEntropyInterval")
	fs.IntVar(&o.aeRounds, "ae-rounds", -1, "override AntiEntropyRounds (0: no anti-entropy)")
	_ = fs.Parse(os.Args[1:])
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "herald-sim:", err)
		os.Exit(2)
	}
}

func run(o options, w io.Writer) error {
	p, ok := profiles[o.profile]
	if !ok {
		return fmt.Errorf("unknown profile %q (wan, dc)", o.profile)
	}
	if o.minDelay == 0 {
		o.minDelay = p.minDelay
	}
	if o.maxDelay == 0 {
		o.maxDelay = p.maxDelay
	}
	if o.loss < 0 {
		o.loss = p.loss
	}
	switch {
	case o.n < 2:
		return errors.New("-n must be at least 2")
	case o.seeds < 1 || o.broadcasts < 1:
		return errors.New("-seeds and -broadcasts must be at least 1")
	case o.maxDelay < o.minDelay || o.minDelay < 0:
		return errors.New("need 0 <= -delay-min <= -delay-max")
	case o.n > 1_000_000:
		return errors.New("-n must be at most 1000000")
	case o.loss > 1 || o.crashed < 0 || o.crashed >= 1:
		return errors.New("-loss must be in [0,1] and -crash in [0,1)")
	case o.viewMiss < 0 || o.viewMiss >= 1 || o.churn < 0 || o.churn >= 1:
		return errors.New("-view-miss and -churn must be in [0,1)")
	case o.viewLag < 0 || o.sendCost < 0 || o.rate < 0 || o.carriers < 0 || o.pbWait < 0:
		return errors.New("-view-lag, -send-cost, -rate, -carriers and -piggyback-wait must not be negative")
	case o.carriers > 0 && o.pbWait == 0:
		return errors.New("-carriers needs a positive -piggyback-wait")
	case o.link != "datagram" && o.link != "tcp" && o.link != "":
		return fmt.Errorf("unknown -link %q (datagram, tcp)", o.link)
	case o.dial != "ahead" && o.dial != "on-use" && o.dial != "":
		return fmt.Errorf("unknown -dial %q (ahead, on-use)", o.dial)
	}
	if o.rate > 0 {
		o.spacing = time.Duration(float64(time.Second) / o.rate)
	}
	layouts := map[string]plumtree.Layout{"heap": plumtree.LayoutHeap, "ring": plumtree.LayoutRing}
	if _, ok := layouts[o.layout]; !ok && o.layout != "" {
		return fmt.Errorf("unknown -layout %q (heap, ring)", o.layout)
	}
	config := func(id plumtree.NodeID, r *rand.Rand) plumtree.Config {
		c := p.config(id, r)
		if o.layout != "" {
			c.Layout = layouts[o.layout]
		}
		if o.fanout > 0 {
			c.EagerFanout = o.fanout
		}
		if o.redundancy >= 0 {
			c.EagerRedundancy = o.redundancy
		}
		if o.partial >= 0 {
			c.PartialCopyPermille = o.partial
		}
		if o.lazy >= 0 {
			c.MaxLazy = o.lazy
		}
		if o.ihave > 0 {
			c.IHaveInterval = o.ihave
		}
		if o.graftTimeout > 0 {
			c.GraftTimeout = o.graftTimeout
		}
		if o.aeInterval > 0 {
			c.AntiEntropyInterval = o.aeInterval
		}
		if o.aeRounds >= 0 {
			c.AntiEntropyRounds = o.aeRounds
		}
		if o.carriers > 0 {
			c.PiggybackWait = o.pbWait
		}
		return c
	}
	sample := config("m0", rand.New(rand.NewPCG(0, 0)))
	if err := sample.Validate(); err != nil {
		return err
	}

	fmt.Fprintf(w, "members=%d profile=%s delay=U[%v,%v] loss=%g bursty=%v crash=%g seeds=%d..%d broadcasts=%d spacing=%v\n",
		o.n, o.profile, o.minDelay, o.maxDelay, o.loss, burstString(o), o.crashed, o.seed, o.seed+uint64(o.seeds)-1, o.broadcasts, o.spacing)
	fmt.Fprintf(w, "link=%s send-cost=%v view-miss=%g view-lag=%v churn=%g warm=%v carriers=%s\n",
		linkName(o), o.sendCost, o.viewMiss, o.viewLag, churnFor(o), o.warm, carrierName(o))
	fmt.Fprintf(w, "herald: layout=%s fanout=%d copies=%d+%d‰ lazy=%d ihave=%v graft-timeout=%v anti-entropy=%v×%d\n\n",
		[]string{"heap", "ring"}[sample.Layout], sample.EagerFanout, 1+sample.EagerRedundancy, sample.PartialCopyPermille, sample.MaxLazy, sample.IHaveInterval, sample.GraftTimeout,
		sample.AntiEntropyInterval, sample.AntiEntropyRounds)

	herald := &result{name: "herald tree"}
	flood := &result{name: "flooding (5–6 neighbours)"}
	for s := range o.seeds {
		seed := o.seed + uint64(s)
		sc := newScenario(o, seed)
		herald.add(runHerald(sc, config, seed))
		if !o.noFlood {
			flood.add(runFlood(sc, seed))
		}
	}
	results := []*result{herald}
	if !o.noFlood {
		results = append(results, flood)
	}
	printTable(w, results)
	if herald.carried > 0 {
		fmt.Fprintf(w, "\nherald tree: %.3f IHave/Digest per member and broadcast rode on packets sent anyway (not in msgs/member)\n",
			float64(herald.carried)/float64(herald.perMember))
	}
	if herald.hello > 0 {
		fmt.Fprintf(w, "\nherald tree: joiners sent %.3f Hello per member (once per join, not per broadcast; not in msgs/member)\n",
			float64(herald.hello)/float64(o.n*o.seeds))
	}
	fmt.Fprintln(w)
	for _, r := range results {
		printSummary(w, r)
	}
	return nil
}

func carrierName(o options) string {
	if o.carriers == 0 {
		return "none"
	}
	return fmt.Sprintf("%g/s (piggyback wait %v)", o.carriers, o.pbWait)
}

func linkName(o options) string {
	switch {
	case o.link == "" || o.link == "datagram":
		return "datagram"
	case dialsAhead(o):
		return o.link + " (dial ahead)"
	default:
		return o.link + " (dial on use)"
	}
}

// dialsAhead reports whether connections along the links are held open
// (-link tcp -dial ahead, the default).
func dialsAhead(o options) bool { return o.link == "tcp" && o.dial != "on-use" }

// churnFor is the share of joins the views model: only with -view-lag.
func churnFor(o options) float64 {
	if o.viewLag == 0 {
		return 0
	}
	return o.churn
}

func burstString(o options) string {
	if o.geP == 0 {
		return "off"
	}
	return fmt.Sprintf("GE(p=%g,r=%g,loss=%g)", o.geP, o.geR, o.geLoss)
}

// newScenario draws a run's origin, crashed members and views from its seed.
func newScenario(o options, seed uint64) *scenario {
	r := rand.New(rand.NewPCG(seed, 1<<59))
	ids := memberIDs(o.n)
	sc := &scenario{
		n:             o.n,
		ids:           ids,
		base:          plumtree.NewView(ids),
		link:          linkModel{minDelay: o.minDelay, maxDelay: o.maxDelay, loss: o.loss, geP: o.geP, geR: o.geR, geLoss: o.geLoss},
		tcp:           o.link == "tcp",
		dialAhead:     dialsAhead(o),
		carriers:      o.carriers,
		piggybackWait: o.pbWait,
		lag:           o.viewLag,
		sendCost:      o.sendCost,
		crashed:       make([]bool, o.n),
		origin:        int32(r.IntN(o.n)),
		broadcasts:    o.broadcasts,
		spacing:       o.spacing,
		payload:       make([]byte, o.payload),
	}
	for _, i := range r.Perm(o.n)[:int(o.crashed*float64(o.n))] {
		if int32(i) != sc.origin {
			sc.crashed[i] = true
		}
	}
	vm := viewModel{miss: o.viewMiss, lag: o.viewLag, churn: churnFor(o)}
	sc.views, sc.joins = vm.buildViews(rand.New(rand.NewPCG(seed, 1<<58)), ids, sc.base, sc.crashed)
	sc.warmup, sc.warm = o.viewLag, o.warm
	return sc
}
