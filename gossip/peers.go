package gossip

import (
	"maps"
	"slices"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
)

// Peers is where a Node learns the fleet's members. *membership.Membership
// satisfies it through MembershipPeers; tests use a static list.
type Peers interface {
	// Members returns the live members, possibly including this one. It
	// must not block on the network.
	Members() []membership.Member
	// Subscribe returns a channel that receives an event after each change
	// (events may be dropped when the channel is full, as long as a later
	// one arrives: the Node re-reads Members on every event) and a cancel
	// function. The channel may be closed when the source shuts down.
	Subscribe() (events <-chan membership.Event, cancel func())
}

// MembershipPeers adapts a Membership to Peers.
func MembershipPeers(m *membership.Membership) Peers { return membershipPeers{m} }

type membershipPeers struct{ m *membership.Membership }

func (p membershipPeers) Members() []membership.Member { return p.m.Members() }

func (p membershipPeers) Subscribe() (<-chan membership.Event, func()) {
	s := p.m.Subscribe()
	return s.C, s.Cancel
}

// peerTable maps the protocol's NodeIDs to transport addresses.
type peerTable struct {
	self  plumtree.NodeID
	addrs map[plumtree.NodeID]string
}

// update replaces the table with members (skipping this node and members
// without a usable gossip address) and returns the ids that went away and
// whether the set of ids changed.
func (t *peerTable) update(members []membership.Member) (gone []plumtree.NodeID, changed bool) {
	next := make(map[plumtree.NodeID]string, len(members))
	for _, m := range members {
		id := plumtree.NodeID(m.Name)
		if id == t.self || m.MetaErr != nil || m.Meta.GossipAddr == "" || m.Meta.Leaving {
			continue
		}
		next[id] = m.Meta.GossipAddr
	}
	for id := range t.addrs {
		if _, ok := next[id]; !ok {
			gone = append(gone, id)
		}
	}
	changed = len(gone) > 0 || len(next) != len(t.addrs)
	t.addrs = next
	slices.Sort(gone)
	return gone, changed
}

func (t *peerTable) ids() []plumtree.NodeID {
	return slices.Sorted(maps.Keys(t.addrs))
}
