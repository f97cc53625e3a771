package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func simOptions() options {
	return options{
		n: 600, profile: "wan", loss: -1, seed: 7, seeds: 2, broadcasts: 3,
		spacing: 5 * time.Millisecond, payload: 16, geR: 0.3, geLoss: 0.5,
		redundancy: -1, partial: -1, lazy: -1,
	}
}

// TestDeterministic runs the same lossy, bursty, crashy scenario twice: the
// tables must be byte for byte the same, and a different seed must change
// them (or the seed is not reaching the randomness).
func TestDeterministic(t *testing.T) {
	o := simOptions()
	o.crashed, o.geP = 0.02, 0.05
	render := func(o options) string {
		var b bytes.Buffer
		if err := run(o, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	a, b := render(o), render(o)
	if a != b {
		t.Fatalf("same seed, different output:\n%s\n%s", a, b)
	}
	o.seed++
	if c := render(o); c == a {
		t.Fatalf("seed %d and %d gave the same output:\n%s", o.seed-1, o.seed, c)
	}
}

// TestFullCoverageWithoutLoss checks that, with no loss and no crash,
// every member delivers every broadcast, with both algorithms and profiles,
// and that the tree's latency stays within its depth: three hops of at most
// 20 ms for 600 members at fanout 37 (wan), two of 0.5 ms at fanout 32 (dc).
func TestFullCoverageWithoutLoss(t *testing.T) {
	for profile, maxT := range map[string]time.Duration{"wan": 40 * time.Millisecond, "dc": time.Millisecond} {
		o := simOptions()
		o.profile, o.loss = profile, 0
		sc := newScenario(o, o.seed)
		st := runHerald(sc, profiles[profile].config, o.seed)
		if st.missed != 0 || len(st.latencies) != (o.n-1)*o.broadcasts {
			t.Errorf("%s: herald missed %d of %d deliveries", profile, st.missed, (o.n-1)*o.broadcasts)
		}
		for _, l := range st.latencies {
			if l > maxT {
				t.Errorf("%s: a delivery took %v, more than depth × max delay = %v", profile, l, maxT)
				break
			}
		}
		if fl := runFlood(sc, o.seed); fl.missed != 0 {
			t.Errorf("%s: flooding missed %d deliveries without loss", profile, fl.missed)
		}
		if st.payload == 0 || st.control == 0 {
			t.Errorf("%s: payload %d, control %d: expected both eager and lazy traffic", profile, st.payload, st.control)
		}
		var b bytes.Buffer
		if err := run(o, &b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "| herald tree |") || !strings.Contains(b.String(), "| flooding") {
			t.Errorf("%s: table lacks a row:\n%s", profile, b.String())
		}
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	for _, mod := range []func(*options){
		func(o *options) { o.n = 1 },
		func(o *options) { o.profile = "moon" },
		func(o *options) { o.loss = 2 },
		func(o *options) { o.crashed = 1 },
		func(o *options) { o.seeds = 0 },
		func(o *options) { o.fanout = 1 },
	} {
		o := simOptions()
		mod(&o)
		if err := run(o, new(bytes.Buffer)); err == nil {
			t.Errorf("run(%+v) accepted", o)
		}
	}
}
