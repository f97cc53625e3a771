package lease

import (
	"fmt"
	"slices"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

func TestSuccessorsRestartedOwnerFirst(t *testing.T) {
	candidates := []string{"h0", "h1", "h2", "h3", "h4"}
	for c := ID(1); c <= 200; c++ {
		for _, old := range candidates {
			got := Successors(c, old, candidates)
			if got[0] != old {
				t.Fatalf("carrier %d of %s: successors %v do not start with the restarted owner", c, old, got)
			}
			if !slices.Equal(got[1:], Successors(c, "gone", without(candidates, old))) {
				t.Fatalf("carrier %d: the others are not ranked as without the owner: %v", c, got)
			}
		}
	}
}

func without(names []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == drop })
}

func TestSuccessorsDeterministic(t *testing.T) {
	candidates := []string{"rack1-h1", "rack1-h2", "rack2-h1", "rack2-h2", "rack3-h1"}
	for c := ID(1000); c < 1100; c++ {
		want := Successors(c, "dead", candidates)
		if len(want) != len(candidates) {
			t.Fatalf("Successors dropped or added candidates: %v", want)
		}
		if !slices.Equal(slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(candidates))) {
			t.Fatalf("Successors is not a permutation: %v", want)
		}
		// Every herald computes the same order, whatever order its index
		// lists the candidates in.
		shuffled := []string{candidates[3], candidates[0], candidates[4], candidates[2], candidates[1]}
		if got := Successors(c, "dead", shuffled); !slices.Equal(got, want) {
			t.Fatalf("carrier %d: order depends on input order: %v vs %v", c, got, want)
		}
		slices.Reverse(shuffled)
		if got := Successors(c, "dead", shuffled); !slices.Equal(got, want) {
			t.Fatalf("carrier %d: order depends on input order: %v vs %v", c, got, want)
		}
	}
}

func TestSuccessorsDoesNotModifyInput(t *testing.T) {
	in := []string{"c", "b", "a"}
	Successors(7, "a", in)
	if !slices.Equal(in, []string{"c", "b", "a"}) {
		t.Fatalf("input modified: %v", in)
	}
	if got := Successors(7, "a", nil); len(got) != 0 {
		t.Fatalf("no candidates: %v", got)
	}
}

// TestSuccessorsSpread: a dead herald's carriers go to many successors, not
// one: over 1000 carriers every one of 10 candidates is first for some, and
// none is first for more than twice its share.
func TestSuccessorsSpread(t *testing.T) {
	var candidates []string
	for i := range 10 {
		candidates = append(candidates, fmt.Sprintf("herald-%d", i))
	}
	first := map[string]int{}
	for i := range 1000 {
		c := InternalID(0x7fff, uint64(i+1))
		first[Successors(c, "herald-dead", candidates)[0]]++
	}
	for _, n := range candidates {
		if first[n] == 0 || first[n] > 200 {
			t.Errorf("%s is first for %d of 1000 carriers", n, first[n])
		}
	}
}

func TestTakeoverTxn(t *testing.T) {
	ks := testKS
	seen := Carrier{CarrierRecord: CarrierRecord{Owner: "h1", Session: 77}, Rev: 6}
	got := ks.TakeoverTxn(1001, seen, "h2", 88)
	want := &pb.TxnRequest{
		Compare: []*pb.Compare{
			{Key: []byte(testPrefix + "carriers/00000000000003e9"), Target: pb.Compare_MOD, Result: pb.Compare_EQUAL,
				TargetUnion: &pb.Compare_ModRevision{ModRevision: 6}},
			{Key: []byte(testPrefix + "heralds/h1"), Target: pb.Compare_LEASE, Result: pb.Compare_NOT_EQUAL,
				TargetUnion: &pb.Compare_Lease{Lease: 77}},
		},
		Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{
			Key: []byte(testPrefix + "carriers/00000000000003e9"), Value: CarrierRecord{Owner: "h2", Session: 88}.Encode(), Lease: 1001,
		}}}},
	}
	if !proto.Equal(got, want) {
		t.Fatalf("TakeoverTxn =\n%v\nwant\n%v", got, want)
	}
	// A restarted owner takes its own carrier back under its new session.
	self := ks.TakeoverTxn(1001, seen, "h1", 99)
	if put := self.Success[0].GetRequestPut(); string(put.Key) != string(ks.CarrierKey(1001)) {
		t.Fatalf("self takeover writes %q", put.Key)
	} else if rec, err := DecodeCarrierRecord(put.Value); err != nil || rec != (CarrierRecord{Owner: "h1", Session: 99}) {
		t.Fatalf("self takeover writes %+v, %v", rec, err)
	}
	if cmp := self.Compare[1]; cmp.GetLease() != 77 || cmp.Result != pb.Compare_NOT_EQUAL {
		t.Fatalf("self takeover compares %v", cmp)
	}
}

func TestClaimNewTxn(t *testing.T) {
	got := testKS.ClaimNewTxn(0x7fff_0000_0000_0001, "h1", 77)
	want := &pb.TxnRequest{
		Compare: []*pb.Compare{{Key: []byte(testPrefix + "carriers/7fff000000000001"), Target: pb.Compare_VERSION, Result: pb.Compare_EQUAL,
			TargetUnion: &pb.Compare_Version{Version: 0}}},
		Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{
			Key: []byte(testPrefix + "carriers/7fff000000000001"), Value: CarrierRecord{Owner: "h1", Session: 77}.Encode(), Lease: 0x7fff_0000_0000_0001,
		}}}},
	}
	if !proto.Equal(got, want) {
		t.Fatalf("ClaimNewTxn =\n%v\nwant\n%v", got, want)
	}
}

func TestCompareBuilders(t *testing.T) {
	k := []byte("/k")
	tests := []struct {
		name string
		got  *pb.Compare
		want *pb.Compare
	}{
		{"ModIs", ModIs(k, 9), &pb.Compare{Key: k, Target: pb.Compare_MOD, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_ModRevision{ModRevision: 9}}},
		{"ModIs 0", ModIs(k, 0), &pb.Compare{Key: k, Target: pb.Compare_MOD, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_ModRevision{}}},
		{"Exists", Exists(k), &pb.Compare{Key: k, Target: pb.Compare_VERSION, Result: pb.Compare_GREATER, TargetUnion: &pb.Compare_Version{}}},
		{"Absent", Absent(k), &pb.Compare{Key: k, Target: pb.Compare_VERSION, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_Version{}}},
	}
	for _, tc := range tests {
		if !proto.Equal(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if op := OpPut(k, []byte("v"), 5).GetRequestPut(); string(op.Key) != "/k" || string(op.Value) != "v" || op.Lease != 5 {
		t.Errorf("OpPut = %v", op)
	}
	if op := OpDelete(k, []byte("/l")).GetRequestDeleteRange(); string(op.Key) != "/k" || string(op.RangeEnd) != "/l" || op.PrevKv {
		t.Errorf("OpDelete = %v", op)
	}
}
