package proxy

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldproj/herald/fanout/hub"
)

// TestFanoutFiguresFollowStatus: each fan-out metric shows its own figure
// of the snapshot, and moves when that figure moves; a herald without
// fan-out exports none of them.
func TestFanoutFiguresFollowStatus(t *testing.T) {
	cases := []struct {
		metric string
		set    func(*hub.Stats)
		want   float64
	}{
		{"herald_fanout_revision", func(s *hub.Stats) { s.Rev = 41 }, 41},
		{"herald_fanout_window_start_revision", func(s *hub.Stats) { s.WindowStart = 17 }, 17},
		{"herald_fanout_compact_revision", func(s *hub.Stats) { s.CompactRev = 9 }, 9},
		{"herald_fanout_window_events", func(s *hub.Stats) { s.WindowEvents = 120 }, 120},
		{"herald_fanout_window_bytes", func(s *hub.Stats) { s.WindowBytes = 4096 }, 4096},
		{"herald_fanout_held_batches", func(s *hub.Stats) { s.HeldBatches = 3 }, 3},
		{"herald_fanout_streams", func(s *hub.Stats) { s.Streams = 5 }, 5},
		{"herald_fanout_watchers", func(s *hub.Stats) { s.Watchers = 8 }, 8},
		{"herald_fanout_lag_revisions", func(s *hub.Stats) { s.LagRevisions = 6 }, 6},
		{"herald_fanout_seconds_since_advance", func(s *hub.Stats) { s.SinceAdvance = 2500 * time.Millisecond }, 2.5},
		{"herald_fanout_slow_cancels_total", func(s *hub.Stats) { s.SlowCancels = 2 }, 2},
		{"herald_fanout_gaps_total", func(s *hub.Stats) { s.Gaps = 4 }, 4},
	}
	if len(cases) != len(fanoutFigures) {
		t.Fatalf("%d cases for %d figures", len(cases), len(fanoutFigures))
	}
	var st Status
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(newFanoutCollector(func() *hub.Stats { return st.Fanout }))
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Fatalf("without fan-out: %d metrics (%v), want none", n, err)
	}
	for _, tc := range cases {
		var fs hub.Stats
		tc.set(&fs)
		st = Status{Fanout: &fs}
		got := gatherValues(t, reg)
		if len(got) != len(fanoutFigures) {
			t.Fatalf("%d metrics, want %d: %v", len(got), len(fanoutFigures), got)
		}
		for name, v := range got {
			want := 0.0
			if name == tc.metric {
				want = tc.want
			}
			if v != want {
				t.Errorf("with only %s's figure set: %s = %v, want %v", tc.metric, name, v, want)
			}
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// gatherValues gathers reg's unlabelled metrics by name.
func gatherValues(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
