package plumtree

import (
	"slices"
)

// View is an immutable membership view: the sorted, de-duplicated set of
// members including the local one. Trees are computed from positions in it,
// so members whose views agree compute the same trees. A View may be shared
// by any number of Nodes (the simulator gives one View to 50k Nodes).
type View struct {
	members []NodeID
	index   map[NodeID]int32
}

// NewView returns a view of members (sorted and de-duplicated; the slice is
// not retained).
func NewView(members []NodeID) *View {
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	v := &View{members: ms, index: make(map[NodeID]int32, len(ms))}
	for i, m := range ms {
		v.index[m] = int32(i)
	}
	return v
}

// Len is the number of members.
func (v *View) Len() int { return len(v.members) }

// Member returns the member at position i of the sorted view.
func (v *View) Member(i int) NodeID { return v.members[i] }

// Index returns the position of id in the sorted view.
func (v *View) Index(id NodeID) (int, bool) {
	i, ok := v.index[id]
	return int(i), ok
}

// Contains reports whether id is a member.
func (v *View) Contains(id NodeID) bool {
	_, ok := v.index[id]
	return ok
}

// with returns a view of v's members plus extra, minus drop.
func (v *View) with(extra []NodeID, drop NodeID) *View {
	ms := make([]NodeID, 0, len(v.members)+len(extra))
	for _, m := range v.members {
		if m != drop {
			ms = append(ms, m)
		}
	}
	return NewView(append(ms, extra...))
}
