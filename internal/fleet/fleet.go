package fleet

import "context"

// Topic is one topic of the fleet's broadcast tree, as a feed uses it. A
// nil Topic is a herald on its own: it is its own feeder.
type Topic interface {
	// Broadcast sends payload to every herald of the fleet, this one
	// included (through Deliveries). It may block briefly, until the bus
	// takes it or ctx ends. The payload must not be modified afterwards.
	Broadcast(ctx context.Context, payload []byte) error
	// Deliveries yields every payload broadcast on the topic, at least
	// once each, in no particular order. It is closed when the bus closes.
	Deliveries() <-chan []byte
	// Members names the live heralds, this one included. It does not block
	// on the network.
	Members() []string
	// Changes fires (coalesced) when membership changes; it is never closed.
	Changes() <-chan struct{}
}

// Bus carries one Topic per feed (the fan-out's is "fanout", the lease
// index's "leases").
type Bus interface {
	// Topic opens the topic name, or returns the one already open. It does
	// not block.
	Topic(name string) Topic
}

// Member is a herald of the fleet as its clients reach it (for
// MemberList answers).
type Member struct {
	Name       string
	ClientURLs []string
}
