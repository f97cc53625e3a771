package lease

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestLeaseKeysAgreeWithAMap: a lease's keys, as a list up to
// leaseKeysInline keys and a map beyond, behave as a map of key →
// attachment revision through growth and deletion.
func TestLeaseKeysAgreeWithAMap(t *testing.T) {
	var k leaseKeys
	want := map[string]int64{}
	check := func(step string) {
		t.Helper()
		if k.len() != len(want) {
			t.Fatalf("%s: %d keys, want %d", step, k.len(), len(want))
		}
		for key, rev := range want {
			if got := k.get(key); got != rev {
				t.Fatalf("%s: get(%s) = %d, want %d", step, key, got, rev)
			}
		}
		if k.get("absent") != 0 {
			t.Fatalf("%s: an absent key has a revision", step)
		}
		all := k.all()
		slices.SortFunc(all, func(a, b AttachedKey) int { return strings.Compare(a.Key, b.Key) })
		var keys []string
		for _, a := range all {
			keys = append(keys, a.Key)
		}
		if !slices.Equal(keys, slices.Sorted(maps.Keys(want))) {
			t.Fatalf("%s: all() = %v, want %v", step, all, want)
		}
	}
	for i := range 3 * leaseKeysInline {
		key := fmt.Sprintf("/k/%02d", i)
		k.set(key, int64(i+1))
		want[key] = int64(i + 1)
		k.set(key, int64(i+100)) // a re-put
		want[key] = int64(i + 100)
		check(fmt.Sprintf("after %d puts", i+1))
		if i == leaseKeysInline-1 && k.m != nil {
			t.Fatalf("%d keys already in a map", i+1)
		}
	}
	if k.m == nil {
		t.Fatalf("%d keys still in a list", k.len())
	}
	for i := 0; i < 3*leaseKeysInline; i += 2 {
		key := fmt.Sprintf("/k/%02d", i)
		k.delete(key)
		delete(want, key)
		check("after deleting " + key)
	}
	var small leaseKeys
	small.set("/a", 1)
	small.set("/b", 2)
	small.delete("/a")
	small.delete("/absent")
	if small.len() != 1 || small.get("/b") != 2 || small.get("/a") != 0 {
		t.Fatalf("a short list after a delete: %+v", small)
	}
}
