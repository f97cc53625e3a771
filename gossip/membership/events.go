package membership

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
)

// EventType says what happened to a member.
type EventType int

const (
	Join   EventType = iota + 1 // a member became alive (or came back)
	Leave                       // a member left gracefully (it announced Meta.Leaving first)
	Fail                        // a member was declared dead, or left without announcing it
	Update                      // a member's metadata changed (Meta.Leaving: it is about to leave)
)

func (t EventType) String() string {
	switch t {
	case Join:
		return "join"
	case Leave:
		return "leave"
	case Fail:
		return "fail"
	case Update:
		return "update"
	}
	return "event(" + strconv.Itoa(int(t)) + ")"
}

// Member is one herald of the fleet as this member sees it.
type Member struct {
	Name string // herald id
	Addr string // memberlist host:port
	Meta Meta   // zero if the member's metadata did not decode (MetaErr set)
	// MetaErr is non-nil when the member's metadata could not be decoded
	// (e.g. a newer version); such a member is listed but has no gossip address.
	MetaErr error
}

// Event is a change of one member.
type Event struct {
	Type   EventType
	Member Member
}

func memberOf(n *memberlist.Node) Member {
	m := Member{Name: n.Name, Addr: n.Address()}
	m.Meta, m.MetaErr = DecodeMeta(n.Meta)
	return m
}

// subscribers fans events out to bounded channels. memberlist calls the
// EventDelegate synchronously from its protocol goroutines, so delivery never
// blocks: an event that does not fit in a subscriber's buffer is dropped and
// counted, and the subscriber is expected to resynchronise from Members()
// (see Subscription.Dropped).
type subscribers struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// Subscription receives membership events until Cancel is called or the
// Membership shuts down, which closes C.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	dropped atomic.Uint64
	owner   *subscribers
}

// Dropped counts events that did not fit in the buffer. When it grows, the
// subscriber has missed changes and should re-read Members().
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Cancel stops delivery and closes C. It is idempotent and does not block.
func (s *Subscription) Cancel() { s.owner.remove(s) }

func (s *subscribers) add(buf int) *Subscription {
	c := make(chan Event, buf)
	sub := &Subscription{C: c, c: c, owner: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		close(c)
		return sub
	}
	if s.subs == nil {
		s.subs = make(map[*Subscription]struct{})
	}
	s.subs[sub] = struct{}{}
	return sub
}

func (s *subscribers) remove(sub *Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[sub]; ok {
		delete(s.subs, sub)
		close(sub.c)
	}
}

func (s *subscribers) publish(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		select {
		case sub.c <- e:
		default:
			sub.dropped.Add(1)
		}
	}
}

func (s *subscribers) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for sub := range s.subs {
		delete(s.subs, sub)
		close(sub.c)
	}
}

// eventDelegate adapts memberlist.EventDelegate to the view and subscribers.
type eventDelegate struct {
	view *view
	subs *subscribers
}

func (d eventDelegate) NotifyJoin(n *memberlist.Node) {
	m := memberOf(n)
	d.view.set(m)
	d.subs.publish(Event{Type: Join, Member: m})
}

func (d eventDelegate) NotifyLeave(n *memberlist.Node) {
	// n.State is not updated by memberlist before this call; the Leaving
	// flag that Close gossips first is what marks a graceful leave.
	m := memberOf(n)
	t := Fail
	if m.Meta.Leaving {
		t = Leave
	}
	d.view.remove(m.Name)
	d.subs.publish(Event{Type: t, Member: m})
}

func (d eventDelegate) NotifyUpdate(n *memberlist.Node) {
	m := memberOf(n)
	d.view.set(m)
	d.subs.publish(Event{Type: Update, Member: m})
}
