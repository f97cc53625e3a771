package plumtree

import (
	"slices"
	"sort"
)

// View is an immutable membership view: the sorted, de-duplicated set of
// members including the local one. Trees are computed from positions in it,
// so members whose views agree compute the same trees. A View may be shared
// by any number of Nodes driven from one goroutine (the simulator gives one
// View to 50k Nodes): the ring layout caches its orders in it on first use.
//
// A view derived with Without shares its base's members and stores only the
// positions it lacks, so that 50k Nodes can each have their own, slightly
// different view (the simulator's -view-miss and -view-lag) in a few
// kilobytes each rather than a copy of the membership each.
type View struct {
	base *viewBase
	drop []int32 // sorted base positions absent from this view
}

type viewBase struct {
	members []NodeID
	index   map[NodeID]int32
	rings   ringCache // the ring layout's orders, built on first use
}

// NewView returns a view of members (sorted and de-duplicated; the slice is
// not retained).
func NewView(members []NodeID) *View {
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	b := &viewBase{members: ms, index: make(map[NodeID]int32, len(ms))}
	for i, m := range ms {
		b.index[m] = int32(i)
	}
	return &View{base: b}
}

// Without returns v minus the given members (those not in v are ignored).
// The result shares v's base: it costs four bytes per absent member.
func (v *View) Without(absent []NodeID) *View {
	drop := slices.Clone(v.drop)
	for _, id := range absent {
		if b, ok := v.base.index[id]; ok {
			drop = append(drop, b)
		}
	}
	slices.Sort(drop)
	return &View{base: v.base, drop: slices.Compact(drop)}
}

// Len is the number of members.
func (v *View) Len() int { return len(v.base.members) - len(v.drop) }

// Member returns the member at position i of the sorted view.
func (v *View) Member(i int) NodeID {
	if len(v.drop) == 0 {
		return v.base.members[i]
	}
	// drop[j]−j base positions before drop[j] are present; the first j
	// with more than i present before it says how many absent ones
	// precede the i-th present member.
	j := sort.Search(len(v.drop), func(j int) bool { return int(v.drop[j])-j > i })
	return v.base.members[i+j]
}

// Index returns the position of id in the sorted view.
func (v *View) Index(id NodeID) (int, bool) {
	b, ok := v.base.index[id]
	if !ok {
		return 0, false
	}
	if len(v.drop) == 0 {
		return int(b), true
	}
	j, absent := slices.BinarySearch(v.drop, b)
	if absent {
		return 0, false
	}
	return int(b) - j, true
}

// hasBase reports whether the base member at position b is in this view.
func (v *View) hasBase(b int32) bool {
	if len(v.drop) == 0 {
		return true
	}
	_, absent := slices.BinarySearch(v.drop, b)
	return !absent
}

// insertionIndex is where id would be inserted in the sorted view.
func (v *View) insertionIndex(id NodeID) int {
	b, _ := slices.BinarySearch(v.base.members, id)
	j, _ := slices.BinarySearch(v.drop, int32(b))
	return b - j
}

// Contains reports whether id is a member.
func (v *View) Contains(id NodeID) bool {
	_, ok := v.Index(id)
	return ok
}

// plus returns v with id added; cheap when id is in v's base.
func (v *View) plus(id NodeID) *View {
	b, ok := v.base.index[id]
	if !ok {
		return v.with([]NodeID{id}, "")
	}
	j, absent := slices.BinarySearch(v.drop, b)
	if !absent {
		return v
	}
	return &View{base: v.base, drop: slices.Delete(slices.Clone(v.drop), j, j+1)}
}

// with returns a view of v's members plus extra, minus drop.
func (v *View) with(extra []NodeID, drop NodeID) *View {
	ms := make([]NodeID, 0, v.Len()+len(extra))
	for i := range v.Len() {
		if m := v.Member(i); m != drop {
			ms = append(ms, m)
		}
	}
	return NewView(append(ms, extra...))
}
