package lease

import "testing"

func TestInternalPrefix(t *testing.T) {
	tests := []struct {
		name    string
		members []uint64
		want    uint16
	}{
		{"no members", nil, 0x7fff},
		{"members elsewhere", []uint64{0x8e9e05c52164694d, 0x91bc3c398fb3c146}, 0x7fff},
		{"a member takes 0x7fff", []uint64{0x7fff}, 0x7ffe},
		{"members take 0x7fff and 0x7ffe", []uint64{0x7ffe, 0x7fff}, 0x7ffd},
		{"order does not matter", []uint64{0x7fff, 0x7ffd, 0x7ffe}, 0x7ffc},
		{"only the low 15 bits count", []uint64{0xabcd_0000_0000_ffff}, 0x7ffe},
		{"bit 15 is masked", []uint64{0x8000 | 0x7fff, 0x7ffe}, 0x7ffd},
		{"a gap is not used if a higher one is free", []uint64{0x7ffe}, 0x7fff},
		{"duplicates", []uint64{0x7fff, 0x7fff, 0x1_7fff}, 0x7ffe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := InternalPrefix(tc.members)
			if got != tc.want {
				t.Fatalf("InternalPrefix = %#x, want %#x", got, tc.want)
			}
			for _, m := range tc.members {
				if MemberPrefix(m) == got {
					t.Fatalf("internal prefix %#x is member %#x's", got, m)
				}
			}
		})
	}
}

// TestInternalPrefixIgnoresOrder: every herald of a fleet must compute the
// same prefix from the same member list, however etcd lists the members.
func TestInternalPrefixIgnoresOrder(t *testing.T) {
	members := []uint64{0x7fff, 0x3_7ffe, 0x91bc3c398fb3c146, 0x7ffc}
	want := InternalPrefix(members)
	rev := []uint64{members[3], members[2], members[1], members[0]}
	if got := InternalPrefix(rev); got != want || want != 0x7ffd {
		t.Fatalf("InternalPrefix = %#x and %#x, want 0x7ffd both", got, want)
	}
}

func TestInternalID(t *testing.T) {
	tests := []struct {
		name   string
		prefix uint16
		suffix uint64
		want   ID
	}{
		{"typical", 0x7fff, 5, 0x7fff_0000_0000_0005},
		{"suffix 0 is made 1", 0x7fff, 0, 0x7fff_0000_0000_0001},
		{"suffix masked to 48 bits", 0x7fff, 0xffff_0000_0000_0007, 0x7fff_0000_0000_0007},
		{"suffix masking to 0 is made 1", 0x7ffe, 1 << 48, 0x7ffe_0000_0000_0001},
		{"largest suffix", 0x7ffe, 1<<48 - 1, 0x7ffe_ffff_ffff_ffff},
		{"prefix masked to 15 bits", 0xffff, 2, 0x7fff_0000_0000_0002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := InternalID(tc.prefix, tc.suffix)
			if got != tc.want {
				t.Fatalf("InternalID(%#x, %#x) = %#x, want %#x", tc.prefix, tc.suffix, got, tc.want)
			}
			if got <= 0 {
				t.Fatalf("InternalID %#x is not a positive lease ID", got)
			}
			if !IsInternal(got, tc.prefix) {
				t.Fatalf("IsInternal(%#x, %#x) = false", got, tc.prefix)
			}
		})
	}
}

func TestIsInternal(t *testing.T) {
	tests := []struct {
		name   string
		id     ID
		prefix uint16
		want   bool
	}{
		{"internal", 0x7fff_0000_0000_0001, 0x7fff, true},
		{"other prefix", 0x7ffe_0000_0000_0001, 0x7fff, false},
		{"no lease", NoLease, 0, false},
		{"prefix 0 is unset, never internal", 7, 0, false},
		{"negative id", -1, 0x7fff, false},
		{"negative id with the prefix's bits", ID(-0x0001_0000_0000_0000 + 1), 0x7fff, false},
		{"prefix argument masked", 0x7fff_0000_0000_0001, 0xffff, true},
		{"etcd-granted lease", 0x694d_0000_1234_5678, 0x7fff, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsInternal(tc.id, tc.prefix); got != tc.want {
				t.Fatalf("IsInternal(%#x, %#x) = %v, want %v", tc.id, tc.prefix, got, tc.want)
			}
		})
	}
}

// TestIDAllocatorAvoidsInternalPrefix: "Virtual lease IDs never use [the
// internal prefix]" (docs/fleet-leases.md). An allocator whose identity
// hashes onto the internal prefix, with nothing else said, must still not
// take it, or its virtual lease IDs look like carriers.
func TestIDAllocatorAvoidsInternalPrefix(t *testing.T) {
	for _, members := range [][]uint64{nil, {0x7fff}, {0x8e9e05c52164694d, 0x7fff, 0x7ffe}} {
		internal := InternalPrefix(members)
		a, err := NewIDAllocator(IDConfig{MemberIDs: members, Identity: identityFor(t, internal)}, idEpoch)
		if err != nil {
			t.Fatal(err)
		}
		if a.Prefix() == internal {
			t.Errorf("members %#x: the virtual ID allocator took the internal prefix %#x", members, internal)
		}
	}
}
