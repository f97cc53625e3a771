package lease

import (
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// TestTakeoverTxnAgainstEtcd runs TakeoverTxn and ClaimNewTxn in etcd's own
// store: a takeover succeeds only once the old owner's session is gone (key
// deleted, or re-put on another lease by a restart) and nobody rewrote the
// carrier record since it was seen; ClaimNewTxn only for a new carrier.
func TestTakeoverTxnAgainstEtcd(t *testing.T) {
	setup := func(t *testing.T) (*etcdStore, *Index) {
		s := newEtcdStore(t, 77, 78, 88, 1001)
		s.mustTxn(txnOf(
			OpPut(testKS.SessionKey("h1"), SessionInfo{Name: "h1"}.Encode(), 77),
			OpPut(testKS.SessionKey("h2"), SessionInfo{Name: "h2"}.Encode(), 78),
		))
		if resp := s.mustTxn(testKS.ClaimNewTxn(1001, "h1", 77)); !resp.Succeeded {
			t.Fatal("ClaimNewTxn of a new carrier failed")
		}
		if resp := s.mustTxn(testKS.ClaimNewTxn(1001, "h2", 78)); resp.Succeeded {
			t.Fatal("ClaimNewTxn of an existing carrier succeeded")
		}
		ix := NewIndex(testKS, 0)
		ix.Apply(s.rev(), s.events())
		return s, ix
	}
	tests := []struct {
		name    string
		between []*pb.RequestOp // what happens after the index saw the carrier
		me      string
		session ID
		want    bool
	}{
		{"owner alive", nil, "h2", 78, false},
		{"owner's session gone", []*pb.RequestOp{OpDelete(testKS.SessionKey("h1"), nil)}, "h2", 78, true},
		{"owner restarted", []*pb.RequestOp{OpPut(testKS.SessionKey("h1"), SessionInfo{Name: "h1"}.Encode(), 88)}, "h1", 88, true},
		{"record rewritten since", []*pb.RequestOp{
			OpDelete(testKS.SessionKey("h1"), nil),
			OpPut(testKS.CarrierKey(1001), CarrierRecord{Owner: "h3", Session: 99}.Encode(), 1001),
		}, "h2", 78, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ix := setup(t)
			seen, ok := ix.Carrier(1001)
			if !ok {
				t.Fatal("the index did not see the claim")
			}
			if len(tc.between) > 0 {
				s.mustTxn(txnOf(tc.between...))
			}
			resp := s.mustTxn(testKS.TakeoverTxn(1001, seen, tc.me, tc.session))
			if resp.Succeeded != tc.want {
				t.Fatalf("takeover succeeded=%v, want %v", resp.Succeeded, tc.want)
			}
			ix.Apply(s.rev(), s.events())
			owner, live, _ := ix.OwnerOf(1001)
			if tc.want && (owner != tc.me || !live) {
				t.Fatalf("after the takeover the index says owner %s live=%v", owner, live)
			}
			// A second herald racing with the same view loses.
			if tc.want {
				if again := s.mustTxn(testKS.TakeoverTxn(1001, seen, "h9", 99)); again.Succeeded {
					t.Fatal("a second takeover from the same view succeeded")
				}
			}
		})
	}
}

// TestDeleteTxnsAgainstEtcd runs a DeleteTxns plan in etcd's own store: the
// records go, each key goes only if nobody wrote it since its attachment,
// every attachment goes, Guards tell which keys were left, and a stale
// fence changes nothing.
func TestDeleteTxnsAgainstEtcd(t *testing.T) {
	for _, stale := range []bool{false, true} {
		name := map[bool]string{false: "fenced", true: "stale fence"}[stale]
		t.Run(name, func(t *testing.T) {
			s := newEtcdStore(t, 77, 1001)
			claim := s.mustTxn(testKS.ClaimNewTxn(1001, "h1", 77)).Header.Revision
			put := func(ops ...*pb.RequestOp) int64 { return s.mustTxn(txnOf(ops...)).Header.Revision }
			put(OpPut(testKS.RecordKey(42), Record{ID: 42, TTL: 10}.Encode(), 1001),
				OpPut(testKS.RecordKey(43), Record{ID: 43, TTL: 10}.Encode(), 1001))
			ra := put(OpPut([]byte("/a"), []byte("v"), 1001), OpPut(testKS.AttachKey(42, []byte("/a")), nil, 1001))
			rb := put(OpPut([]byte("/b"), []byte("v"), 1001), OpPut(testKS.AttachKey(42, []byte("/b")), nil, 1001))
			rc := put(OpPut([]byte("/c"), []byte("v"), 1001), OpPut(testKS.AttachKey(43, []byte("/c")), nil, 1001))
			put(OpPut([]byte("/b"), []byte("rewritten"), 0)) // straight at etcd, after its attachment
			if stale {
				put(OpPut(testKS.CarrierKey(1001), CarrierRecord{Owner: "h2", Session: 78}.Encode(), 1001))
			}
			doomed := []Expired{
				{ID: 42, Carrier: 1001, Keys: []AttachedKey{{"/a", ra}, {"/b", rb}}},
				{ID: 43, Carrier: 1001, Keys: []AttachedKey{{"/c", rc}, {"/gone", 0}}},
			}
			fence := fenceAt(map[ID]int64{1001: claim})
			left := map[string]bool{}
			for _, d := range testKS.DeleteTxns(doomed, fence, 4) { // small txns: the order matters
				resp := s.mustTxn(d.Txn)
				if resp.Succeeded == stale {
					t.Fatalf("txn fenced at %d succeeded=%v", claim, resp.Succeeded)
				}
				if !resp.Succeeded {
					continue
				}
				for _, g := range d.Guards {
					if !resp.Responses[g.Op].GetResponseTxn().GetSucceeded() {
						left[g.Key.Key] = true
					}
				}
			}
			var keys []string
			for _, kv := range s.rangeAll() {
				keys = append(keys, fmtKey(kv.Key))
			}
			want := "[carrier(1001) /b]"
			wantLeft := map[string]bool{"/b": true, "/gone": true}
			if stale {
				want = "[carrier(1001) attach(42,/a) attach(42,/b) attach(43,/c) record(42) record(43) /a /b /c]"
				wantLeft = map[string]bool{}
			}
			if got := "[" + strings.Join(keys, " ") + "]"; got != want {
				t.Fatalf("left upstream: %s, want %s", got, want)
			}
			if len(left) != len(wantLeft) || left["/b"] != wantLeft["/b"] || left["/gone"] != wantLeft["/gone"] {
				t.Fatalf("Guards say %v were left, want %v", left, wantLeft)
			}
		})
	}
}
