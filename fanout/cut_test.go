package fanout

import (
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// TestCutter feeds a Cutter what an upstream watch stream sends and checks
// the batches it cuts. Steps: "ev k@rev k@rev…" is an events answer (an
// event per key@revision), "progress rev" etcd's answer to a progress
// request, "witness rev" a revision etcd reported on another answer
// (Cutter.Witnessed). want lists, per step, the batch cut ("-" for none) as
// "prev..rev [events]" with "p" for a progress-only batch.
func TestCutter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prefixes int
		from     int64
		steps    []string
		want     []string
	}{
		{
			name: "one prefix: each events answer is a cut", prefixes: 1, from: 10,
			steps: []string{"ev a@10 b@10", "ev a@12", "ev c@13 c@14"},
			want:  []string{"9..10 a@10 b@10", "10..12 a@12", "12..14 c@13 c@14"},
		},
		{
			name: "one prefix: progress answers are progress batches and heartbeats", prefixes: 1, from: 5,
			steps: []string{"progress 4", "progress 7", "ev a@8", "progress 8", "progress 9"},
			want:  []string{"4..4 p", "4..7 p", "7..8 a@8", "8..8 p", "8..9 p"},
		},
		{
			name: "several prefixes: events wait for progress", prefixes: 2, from: 3,
			steps: []string{"ev a@3", "ev x@3 x@4", "ev b@5", "progress 5"},
			want:  []string{"-", "-", "-", "2..5 a@3 x@3 x@4 b@5"},
		},
		{
			name: "several prefixes: order by revision, a revision's own order kept", prefixes: 2, from: 1,
			steps: []string{"ev b@2 a@4", "ev y@2 x@3", "progress 6"},
			want:  []string{"-", "-", "0..6 b@2 y@2 x@3 a@4"},
		},
		{
			name: "overlapping prefixes: an event seen twice is cut once", prefixes: 2, from: 1,
			steps: []string{"ev a@2 ab@3", "ev ab@3", "progress 3"},
			want:  []string{"-", "-", "0..3 a@2 ab@3"},
		},
		{
			name: "several prefixes: an idle stream heartbeats", prefixes: 3, from: 9,
			steps: []string{"progress 8", "progress 8", "progress 12"},
			want:  []string{"8..8 p", "8..8 p", "8..12 p"},
		},
		{
			name: "a witnessed revision the chain holds is a heartbeat", prefixes: 1, from: 5,
			steps: []string{"witness 4", "progress 6", "witness 6", "witness 3", "witness 7", "ev a@7", "witness 7"},
			want:  []string{"4..4 p", "4..6 p", "6..6 p", "6..6 p", "-", "6..7 a@7", "7..7 p"},
		},
		{
			name: "a witness does not cut pending events", prefixes: 2, from: 3,
			steps: []string{"ev a@3", "witness 2", "witness 3", "progress 3", "witness 3"},
			want:  []string{"-", "-", "-", "2..3 a@3", "3..3 p"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCutter(tc.prefixes, tc.from)
			for i, step := range tc.steps {
				verb, args, _ := strings.Cut(step, " ")
				got := "-"
				switch verb {
				case "ev":
					if b, cut := c.Events(cutterEvents(t, args)); cut {
						got = cutterBatch(t, b)
					}
				case "progress":
					var rev int64
					if _, err := fmt.Sscan(args, &rev); err != nil {
						t.Fatal(err)
					}
					got = cutterBatch(t, c.Progress(rev))
				case "witness":
					var rev int64
					if _, err := fmt.Sscan(args, &rev); err != nil {
						t.Fatal(err)
					}
					if b, ok := c.Witnessed(rev); ok {
						got = cutterBatch(t, b)
					}
				default:
					t.Fatalf("bad step %q", step)
				}
				if got != tc.want[i] {
					t.Errorf("step %d %q: cut %q, want %q", i, step, got, tc.want[i])
				}
			}
		})
	}
}

func cutterEvents(t *testing.T, s string) []*mvccpb.Event {
	t.Helper()
	var evs []*mvccpb.Event
	for _, f := range strings.Fields(s) {
		key, revs, _ := strings.Cut(f, "@")
		var rev int64
		if _, err := fmt.Sscan(revs, &rev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, &mvccpb.Event{Kv: &mvccpb.KeyValue{Key: []byte(key), ModRevision: rev, CreateRevision: rev, Version: 1}})
	}
	return evs
}

// cutterBatch renders a batch, and checks that it is a valid link.
func cutterBatch(t *testing.T, b Batch) string {
	t.Helper()
	if err := b.Validate(); err != nil {
		t.Errorf("invalid batch %+v: %v", b, err)
	}
	out := fmt.Sprintf("%d..%d", b.PrevRev, b.Rev)
	if b.ProgressOnly {
		out += " p"
	}
	for _, ev := range b.Events {
		out += fmt.Sprintf(" %s@%d", ev.Kv.Key, ev.Kv.ModRevision)
	}
	return out
}
