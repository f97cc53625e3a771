package relay

import "testing"

// TestRule walks the switching rule through probe outcomes; each step is
// a probe ("ok" or "fail"), whether a peer is known, and the path after it.
func TestRule(t *testing.T) {
	type step struct {
		ok, peer, relaying, changed bool
	}
	const (
		ok   = true
		fail = false
		peer = true
		none = false
	)
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"one failure is not enough", []step{
			{fail, peer, false, false}, {ok, peer, false, false}, {fail, peer, false, false}, {ok, peer, false, false},
		}},
		{"two failures relay, two successes return", []step{
			{fail, peer, false, false}, {fail, peer, true, true}, {fail, peer, true, false},
			{ok, peer, true, false}, {ok, peer, false, true}, {ok, peer, false, false},
		}},
		{"a success between successes restarts the count", []step{
			{fail, peer, false, false}, {fail, peer, true, true},
			{ok, peer, true, false}, {fail, peer, true, false}, {ok, peer, true, false}, {ok, peer, false, true},
		}},
		{"no peer, no relay; the first failure after one appears relays", []step{
			{fail, none, false, false}, {fail, none, false, false}, {fail, none, false, false},
			{fail, peer, true, true},
		}},
		{"a success resets failures counted without a peer", []step{
			{fail, none, false, false}, {fail, none, false, false}, {ok, peer, false, false}, {fail, peer, false, false},
		}},
		{"losing the peers does not leave the relay", []step{
			{fail, peer, false, false}, {fail, peer, true, true}, {fail, none, true, false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rule{failuresToRelay: 2, successesToDirect: 2}
			for i, s := range tc.steps {
				relaying, changed := r.observe(s.ok, func() bool { return s.peer })
				if relaying != s.relaying || changed != s.changed {
					t.Fatalf("step %d (ok=%v peer=%v): relaying=%v changed=%v, want %v %v", i, s.ok, s.peer, relaying, changed, s.relaying, s.changed)
				}
			}
		})
	}
}
