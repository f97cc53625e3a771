package lease

import (
	"fmt"
	"testing"
)

func keysN(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/%03d", prefix, i)
	}
	return keys
}

func TestBatches(t *testing.T) {
	tests := []struct {
		name    string
		expired []Expired
		maxOps  int
		sizes   []int
	}{
		{name: "nothing", sizes: nil},
		{name: "lease without keys", expired: []Expired{{ID: 1}}, sizes: []int{1}},
		{name: "default is 128", expired: []Expired{{ID: 1, Keys: keysN("a", 200)}}, sizes: []int{128, 73}},
		{name: "negative means default", maxOps: -1, expired: []Expired{{ID: 1, Keys: keysN("a", 127)}}, sizes: []int{128}},
		{name: "record spills when the last key fills", maxOps: 3, expired: []Expired{{ID: 1, Keys: keysN("a", 3)}}, sizes: []int{3, 1}},
		{name: "leases share transactions", maxOps: 4, expired: []Expired{{ID: 1, Keys: keysN("a", 1)}, {ID: 2, Keys: keysN("b", 1)}, {ID: 3}}, sizes: []int{4, 1}},
		{name: "rack of 5000 one-key leases", expired: rack(5000), sizes: append(repeat(128, 78), 16)},
		{name: "one op per txn", maxOps: 1, expired: []Expired{{ID: 1, Keys: keysN("a", 2)}}, sizes: []int{1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Batches(tc.expired, tc.maxOps)
			var sizes []int
			for _, b := range got {
				sizes = append(sizes, len(b))
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.sizes) {
				t.Fatalf("batch sizes %v, want %v", sizes, tc.sizes)
			}
			checkBatchOrder(t, tc.expired, got)
		})
	}
}

// checkBatchOrder: every key exactly once, in input order, each lease's
// record op right after its last key.
func checkBatchOrder(t *testing.T, expired []Expired, batches [][]DeleteOp) {
	t.Helper()
	var want []DeleteOp
	for _, e := range expired {
		for _, k := range e.Keys {
			want = append(want, DeleteOp{Lease: e.ID, Key: k})
		}
		want = append(want, DeleteOp{Lease: e.ID, Record: true})
	}
	var got []DeleteOp
	for _, b := range batches {
		got = append(got, b...)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ops %v, want %v", got, want)
	}
}

func rack(n int) []Expired {
	out := make([]Expired, n)
	for i := range out {
		out[i] = Expired{ID: ID(i + 1), Keys: []string{fmt.Sprintf("/svc/n%d", i)}}
	}
	return out
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}
