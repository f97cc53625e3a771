package feed

import "context"

// Bus is one topic of the fleet's broadcast tree, as a Feed uses it
// (gossip.Bus's Topic satisfies it). A nil Bus is a herald on its own: it
// is its own feeder.
type Bus interface {
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
