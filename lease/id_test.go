package lease

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.etcd.io/etcd/pkg/v3/idutil"
)

var idEpoch = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)

// TestMemberPrefixMatchesEtcd checks our reading of etcd's layout against
// etcd's own generator, masked as EtcdServer.LeaseGrant masks it.
func TestMemberPrefixMatchesEtcd(t *testing.T) {
	for _, member := range []uint64{0, 1, 0x7fff, 0x8000, 0xffff, 0x8e9e05c52164694d, 0xfd422379fda50e48} {
		g := idutil.NewGenerator(uint16(member), idEpoch)
		for range 1000 {
			id := ID(g.Next() & (1<<63 - 1))
			if got, want := Prefix(id), MemberPrefix(member); got != want {
				t.Fatalf("member %#x: etcd lease %#x has prefix %#x, MemberPrefix says %#x", member, id, got, want)
			}
		}
	}
}

func TestIDAllocatorAvoidsTakenPrefixes(t *testing.T) {
	members := []uint64{0x8e9e05c52164694d, 0x91bc3c398fb3c146, 0xfd422379fda50e48}
	tests := []struct {
		name string
		cfg  IDConfig
	}{
		{"no members", IDConfig{Identity: 42}},
		{"three members", IDConfig{MemberIDs: members, Identity: 42}},
		{"identity hashing onto a member", IDConfig{MemberIDs: members, Identity: identityFor(t, MemberPrefix(members[1]))}},
		{"identity hashing onto prefix 0", IDConfig{Identity: identityFor(t, 0)}},
		{"peer prefixes", IDConfig{MemberIDs: members, AvoidPrefixes: []uint16{uint16(mix64(7) & prefixMask)}, Identity: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewIDAllocator(tc.cfg, idEpoch)
			if err != nil {
				t.Fatal(err)
			}
			forbidden := map[uint16]bool{0: true}
			for _, m := range tc.cfg.MemberIDs {
				forbidden[MemberPrefix(m)] = true
			}
			for _, p := range tc.cfg.AvoidPrefixes {
				forbidden[p] = true
			}
			if forbidden[a.Prefix()] {
				t.Fatalf("chose forbidden prefix %#x", a.Prefix())
			}
			for range 10000 {
				id := a.Next()
				if id <= 0 || Prefix(id) != a.Prefix() {
					t.Fatalf("id %#x: want positive with prefix %#x", id, a.Prefix())
				}
			}
		})
	}
}

// identityFor finds an identity whose hash starts the probe at prefix p.
func identityFor(t *testing.T, p uint16) uint64 {
	for i := uint64(0); i < 1<<24; i++ {
		if uint16(mix64(i)&prefixMask) == p {
			return i
		}
	}
	t.Fatalf("no identity hashes to %#x", p)
	return 0
}

func TestIDAllocatorSameIdentitySamePrefix(t *testing.T) {
	cfg := IDConfig{MemberIDs: []uint64{1, 2, 3}, Identity: 0xdecafbad}
	a, _ := NewIDAllocator(cfg, idEpoch)
	b, _ := NewIDAllocator(cfg, idEpoch.Add(time.Hour))
	if a.Prefix() != b.Prefix() {
		t.Fatalf("restart changed prefix %#x → %#x", a.Prefix(), b.Prefix())
	}
	c, _ := NewIDAllocator(IDConfig{MemberIDs: []uint64{1, 2, 3}, Identity: 0xdecafbae}, idEpoch)
	if c.Prefix() == a.Prefix() {
		t.Fatalf("neighbouring identities share prefix %#x", a.Prefix())
	}
}

func TestIDAllocatorNoFreePrefix(t *testing.T) {
	all := make([]uint16, prefixCount)
	for i := range all {
		all[i] = uint16(i)
	}
	if _, err := NewIDAllocator(IDConfig{AvoidPrefixes: all}, idEpoch); !errors.Is(err, ErrNoFreePrefix) {
		t.Fatalf("got %v, want ErrNoFreePrefix", err)
	}
	// The internal prefix (0x7fff with no members) is never free: leave one
	// other prefix.
	left := slices.Delete(slices.Clone(all), 5, 6)
	a, err := NewIDAllocator(IDConfig{AvoidPrefixes: left}, idEpoch)
	if err != nil || a.Prefix() != 5 {
		t.Fatalf("one prefix left: %v, %v", a, err)
	}
	if _, err := NewIDAllocator(IDConfig{AvoidPrefixes: all[:prefixCount-1]}, idEpoch); !errors.Is(err, ErrNoFreePrefix) {
		t.Fatalf("only the internal prefix left: got %v, want ErrNoFreePrefix", err)
	}
}

// TestIDAllocatorNoRepeatsAcrossRestart draws 1e6 IDs, "restarts" one
// second later (256k IDs' worth of clock) and checks the new process
// starts above everything the old one issued.
func TestIDAllocatorNoRepeatsAcrossRestart(t *testing.T) {
	cfg := IDConfig{MemberIDs: []uint64{0x8e9e05c52164694d}, Identity: 99}
	a, err := NewIDAllocator(cfg, idEpoch)
	if err != nil {
		t.Fatal(err)
	}
	const draws = 1_000_000
	seen := make(map[ID]struct{}, draws)
	var last ID
	for range draws {
		id := a.Next()
		if _, dup := seen[id]; dup {
			t.Fatalf("repeat %#x", id)
		}
		if id <= last {
			t.Fatalf("not increasing: %#x after %#x", id, last)
		}
		seen[id] = struct{}{}
		last = id
	}
	// 1e6 draws take ceil(1e6/256) ms of counter space: restart after it.
	b, _ := NewIDAllocator(cfg, idEpoch.Add(4*time.Second))
	first := b.Next()
	if first <= last {
		t.Fatalf("after restart first %#x ≤ last before %#x", first, last)
	}
	for range draws {
		id := b.Next()
		if _, dup := seen[id]; dup {
			t.Fatalf("restart repeated %#x", id)
		}
	}
}

// TestIDAllocatorSuffixWraps checks the counter stays in 48 bits and never
// spills into the prefix.
func TestIDAllocatorSuffixWraps(t *testing.T) {
	a, _ := NewIDAllocator(IDConfig{Identity: 5}, idEpoch)
	a.suffix = suffixMask - 1
	for range 3 {
		if id := a.Next(); Prefix(id) != a.Prefix() || id <= 0 {
			t.Fatalf("id %#x left prefix %#x", id, a.Prefix())
		}
	}
}
