package membership

import (
	"slices"
	"strings"
	"sync"
)

// view is this member's copy of the live members, kept from memberlist's
// events. memberlist's own Members() hands out pointers to nodes that it
// keeps mutating (a data race under -race); its event callbacks, in
// contrast, run under its node lock, so copying there is safe.
type view struct {
	mu      sync.Mutex
	members map[string]Member
}

func (v *view) set(m Member) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.members == nil {
		v.members = make(map[string]Member)
	}
	v.members[m.Name] = m
}

func (v *view) remove(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.members, name)
}

func (v *view) list() []Member {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]Member, 0, len(v.members))
	for _, m := range v.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (v *view) len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.members)
}
