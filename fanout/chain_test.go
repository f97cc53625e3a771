package fanout

import (
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// chainStep is one call on a Chain: Reset when reset is set, otherwise
// Offer of the batch prev..rev with one event at each of evs; want is what
// the call returns and the chain's state after it.
type chainStep struct {
	reset     bool
	prev, rev int64
	evs       []int64
	want      string
}

func reset(rev int64, want string) chainStep { return chainStep{reset: true, rev: rev, want: want} }

func offer(prev, rev int64, evs []int64, want string) chainStep {
	return chainStep{prev: prev, rev: rev, evs: evs, want: want}
}

func chainBatch(prev, rev int64, evs []int64) Batch {
	b := Batch{PrevRev: prev, Rev: rev, ProgressOnly: len(evs) == 0}
	for _, r := range evs {
		key := fmt.Sprintf("/k/%d", r)
		b.Events = append(b.Events, &mvccpb.Event{Kv: &mvccpb.KeyValue{Key: []byte(key), ModRevision: r, CreateRevision: r}})
	}
	return b
}

// fmtChain shows batches as prev..rev[event revisions], then the state.
func fmtChain(c *Chain, ready []Batch, err error) string {
	var parts []string
	if err != nil {
		parts = append(parts, "error")
	}
	for _, b := range ready {
		var evs []string
		for _, ev := range b.Events {
			evs = append(evs, fmt.Sprint(ev.Kv.ModRevision))
		}
		parts = append(parts, fmt.Sprintf("%d..%d[%s]", b.PrevRev, b.Rev, strings.Join(evs, " ")))
	}
	parts = append(parts, fmt.Sprintf("rev=%d held=%d", c.Rev(), c.Held()))
	if g := c.Gap(); g != nil {
		parts = append(parts, fmt.Sprintf("gap=%d..%d", g.From, g.To))
	}
	return strings.Join(parts, " ")
}

func TestChain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxHeld int
		steps   []chainStep
	}{
		{"in order", 8, []chainStep{
			reset(2, "rev=2 held=0"),
			offer(2, 3, []int64{3}, "2..3[3] rev=3 held=0"),
			offer(3, 5, []int64{4, 5, 5}, "3..5[4 5 5] rev=5 held=0"),
			offer(5, 9, nil, "5..9[] rev=9 held=0"),
		}},
		{"held before reset, drained by it", 8, []chainStep{
			offer(0, 2, []int64{2}, "rev=0 held=1"),
			offer(2, 4, []int64{3, 4}, "rev=0 held=2"),
			offer(4, 5, []int64{5}, "rev=0 held=3"),
			// The snapshot covers the first and half of the second.
			reset(3, "3..4[4] 4..5[5] rev=5 held=0"),
		}},
		{"reset behind a gap keeps what is held", 8, []chainStep{
			offer(6, 7, []int64{7}, "rev=0 held=1"),
			reset(4, "rev=4 held=1 gap=5..6"),
			offer(4, 6, []int64{6}, "4..6[6] 6..7[7] rev=7 held=0"),
		}},
		{"gap then fill, in order", 8, []chainStep{
			reset(1, "rev=1 held=0"),
			offer(3, 4, []int64{4}, "rev=1 held=1 gap=2..3"),
			offer(2, 3, []int64{3}, "rev=1 held=2 gap=2..2"),
			offer(1, 2, []int64{2}, "1..2[2] 2..3[3] 3..4[4] rev=4 held=0"),
		}},
		{"duplicates change nothing", 8, []chainStep{
			reset(1, "rev=1 held=0"),
			offer(2, 3, []int64{3}, "rev=1 held=1 gap=2..2"),
			offer(2, 3, []int64{3}, "rev=1 held=1 gap=2..2"),
			offer(1, 2, nil, "1..2[] 2..3[3] rev=3 held=0"),
			offer(1, 2, nil, "rev=3 held=0"),
			offer(2, 3, []int64{3}, "rev=3 held=0"),
		}},
		{"overlap is trimmed", 8, []chainStep{
			reset(4, "rev=4 held=0"),
			// A repair from an older revision repeats 3 and 4.
			offer(2, 6, []int64{3, 4, 5, 6}, "4..6[5 6] rev=6 held=0"),
			offer(5, 8, []int64{6, 7, 8}, "6..8[7 8] rev=8 held=0"),
		}},
		{"overlapping held batches", 8, []chainStep{
			reset(2, "rev=2 held=0"),
			offer(4, 8, []int64{5, 8}, "rev=2 held=1 gap=3..4"),
			offer(3, 6, []int64{4, 6}, "rev=2 held=2 gap=3..3"),
			offer(2, 4, []int64{3, 4}, "2..4[3 4] 4..6[6] 6..8[8] rev=8 held=0"),
		}},
		{"overflow drops the farthest and remembers what was seen", 2, []chainStep{
			reset(1, "rev=1 held=0"),
			offer(3, 4, nil, "rev=1 held=1 gap=2..3"),
			offer(5, 6, nil, "rev=1 held=2 gap=2..3"),
			offer(7, 8, nil, "rev=1 held=2 gap=2..3"), // farthest: not kept
			offer(2, 3, nil, "rev=1 held=2 gap=2..2"), // nearer: 5..6 gives way
			offer(1, 2, nil, "1..2[] 2..3[] 3..4[] rev=4 held=0 gap=5..8"),
		}},
		{"heartbeats open the gap a lost last batch leaves", 8, []chainStep{
			offer(4, 4, nil, "rev=0 held=0"), // before Reset: not held
			reset(2, "rev=2 held=0 gap=3..4"),
			offer(2, 3, []int64{3}, "2..3[3] rev=3 held=0 gap=4..4"),
			offer(3, 4, []int64{4}, "3..4[4] rev=4 held=0"),
			offer(4, 4, nil, "rev=4 held=0"),
			offer(3, 3, nil, "rev=4 held=0"),
		}},
		{"invalid batches change nothing", 8, []chainStep{
			reset(3, "rev=3 held=0"),
			offer(3, 2, nil, "error rev=3 held=0"),
			offer(3, 5, []int64{6}, "error rev=3 held=0"),
			offer(3, 5, []int64{5, 4}, "error rev=3 held=0"),
			offer(3, 5, []int64{5}, "3..5[5] rev=5 held=0"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChain(tc.maxHeld)
			if c.Gap() != nil || c.Loaded() {
				t.Fatal("a new chain has a gap or is loaded")
			}
			for i, s := range tc.steps {
				var ready []Batch
				var err error
				if s.reset {
					ready = c.Reset(s.rev)
				} else {
					ready, err = c.Offer(chainBatch(s.prev, s.rev, s.evs))
				}
				if got := fmtChain(c, ready, err); got != s.want {
					t.Fatalf("step %d: got %q, want %q", i+1, got, s.want)
				}
			}
		})
	}
}

func TestChainCountsGaps(t *testing.T) {
	c := NewChain(4)
	c.Offer(chainBatch(5, 6, nil)) // before Reset: no gap yet
	c.Reset(1)
	c.Offer(chainBatch(3, 4, nil))
	c.Offer(chainBatch(1, 2, nil))
	if got := c.Gaps(); got != 1 {
		t.Fatalf("Gaps = %d, want 1", got)
	}
}

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{"a": "b", "a\xff": "b", "\xff\xff": "\x00", "/x/": "/x0", "": "\x00"} {
		if got := string(PrefixEnd([]byte(in))); got != want {
			t.Errorf("PrefixEnd(%q) = %q, want %q", in, got, want)
		}
	}
}
