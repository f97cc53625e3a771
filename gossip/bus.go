package gossip

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/internal/fleet"
)

// Bus carries several topics over one broadcast tree: each payload is
// framed with its topic's name, and one goroutine owned by the Bus hands
// what the Node delivers to the topic it names. Membership changes reach
// every topic. The fan-out's feed and the lease index's each use a topic
// (a fleet.Topic): a *Bus is the fleet.Bus that proxy.Options.Fleet takes.
//
// A topic whose consumer falls behind holds the others back, then the Node
// (which pushes back on its peers): deliveries are never dropped, as the
// Node never drops them. A payload for a topic nobody opened here, or that
// does not decode, is counted (Stats) and dropped.
type Bus struct {
	node  busNode
	peers Peers
	log   *slog.Logger

	mu     sync.Mutex // guards topics and closed
	topics map[string]*Topic
	closed bool // run has ended: every topic's Deliveries is closed

	unknown, malformed atomic.Uint64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	cancelSub func()
}

// busNode is the part of a Node that a Bus uses.
type busNode interface {
	Broadcast(ctx context.Context, payload []byte) (plumtree.MessageID, error)
	Deliveries() <-chan plumtree.Delivery
}

// BusStats are a Bus's counters of dropped deliveries.
type BusStats struct {
	Unknown   uint64 // for a topic not opened on this herald
	Malformed uint64 // whose topic frame did not decode
}

// NewBus starts a Bus on the fleet's Node and membership. The Bus takes
// every delivery of the Node: nothing else may read Fleet.Deliveries. Close
// the Bus before the Fleet.
func NewBus(f *Fleet) *Bus {
	return newBus(f.Node, MembershipPeers(f.Membership), f.Node.log)
}

func newBus(node busNode, peers Peers, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{
		node: node, peers: peers, log: log,
		topics: map[string]*Topic{},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	events, cancel := peers.Subscribe()
	b.cancelSub = cancel
	go b.run(events)
	return b
}

// Topic returns the topic called name, opening it on first use: its
// deliveries are kept from then on (earlier ones were counted as Unknown).
// Topic names are constants of the program: Topic panics on a name that is
// not 1..MaxTopicLen bytes of [a-z0-9._-].
func (b *Bus) Topic(name string) fleet.Topic {
	if !validTopic([]byte(name)) {
		panic("gossip: invalid bus topic name " + name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics[name]; t != nil {
		return t
	}
	t := &Topic{
		bus: b, name: name, header: frameHeader(name),
		deliveries: make(chan []byte, 1024),
		changes:    make(chan struct{}, 1),
	}
	if b.closed {
		close(t.deliveries)
	}
	b.topics[name] = t
	return t
}

// Stats returns the counters of dropped deliveries.
func (b *Bus) Stats() BusStats {
	return BusStats{Unknown: b.unknown.Load(), Malformed: b.malformed.Load()}
}

// Close stops the Bus's goroutine, waits for it and closes every topic's
// Deliveries. It is idempotent.
func (b *Bus) Close() {
	b.closeOnce.Do(func() {
		close(b.stop)
		b.cancelSub()
	})
	<-b.done
}

// run hands deliveries to their topics and membership changes to every
// topic, until Close or the end of the Node's deliveries.
func (b *Bus) run(events <-chan membership.Event) {
	defer close(b.done)
	defer b.closeTopics()
	deliveries := b.node.Deliveries()
	for {
		select {
		case <-b.stop:
			return
		case d, ok := <-deliveries:
			if !ok {
				return
			}
			if !b.deliver(d.Payload) {
				return
			}
		case _, ok := <-events:
			if !ok {
				events = nil // membership shut down; the Node's end follows
				continue
			}
			b.changed()
		}
	}
}

// deliver hands one frame to its topic, waiting for the topic's consumer
// if need be; false when the Bus stopped meanwhile.
func (b *Bus) deliver(frame []byte) bool {
	name, payload, err := decodeFrame(frame)
	if err != nil {
		b.malformed.Add(1)
		b.log.Debug("dropping a malformed bus frame", "err", err)
		return true
	}
	b.mu.Lock()
	t := b.topics[string(name)]
	b.mu.Unlock()
	if t == nil {
		b.unknown.Add(1)
		b.log.Debug("dropping a payload for a topic not open here", "topic", string(name))
		return true
	}
	select {
	case t.deliveries <- payload:
		return true
	case <-b.stop:
		return false
	}
}

// changed tells every topic that membership changed (coalesced).
func (b *Bus) changed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.topics {
		select {
		case t.changes <- struct{}{}:
		default:
		}
	}
}

func (b *Bus) closeTopics() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, t := range b.topics {
		close(t.deliveries)
	}
}

// members names the live heralds, leaving ones excluded.
func (b *Bus) members() []string {
	var names []string
	for _, m := range b.peers.Members() {
		if !m.Meta.Leaving {
			names = append(names, m.Name)
		}
	}
	return names
}

// Topic is one topic of a Bus. It satisfies fanout/feed's Bus; its methods
// are safe for concurrent use.
type Topic struct {
	bus        *Bus
	name       string
	header     []byte
	deliveries chan []byte
	changes    chan struct{}
}

// Name is the topic's name.
func (t *Topic) Name() string { return t.name }

// Broadcast sends payload to every herald of the fleet on this topic, this
// one included. It blocks as Node.Broadcast does. The payload is copied.
func (t *Topic) Broadcast(ctx context.Context, payload []byte) error {
	_, err := t.bus.node.Broadcast(ctx, encodeFrame(t.header, payload))
	return err
}

// Deliveries yields the topic's payloads, each once per broadcast; it is
// closed when the Bus closes (or its Node does). A payload belongs to the
// receiver but shares memory with the frame it came in.
func (t *Topic) Deliveries() <-chan []byte { return t.deliveries }

// Members names the live heralds of the fleet (those leaving excluded),
// this one included. It does not block on the network.
func (t *Topic) Members() []string { return t.bus.members() }

// Changes fires (coalesced) when membership changes; it is never closed.
func (t *Topic) Changes() <-chan struct{} { return t.changes }
