package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
	"github.com/heraldproj/herald/internal/clock"
	"github.com/heraldproj/herald/internal/lograte"
)

// ErrClosed is returned by Broadcast after Close.
var ErrClosed = errors.New("gossip: node closed")

// Config configures a Node.
type Config struct {
	// Protocol configures the broadcast tree; its ID is this node's herald
	// id (the memberlist node name) and its Rand is used only by the Node's
	// goroutine.
	Protocol  plumtree.Config
	Peers     Peers
	Transport transport.Transport
	Clock     Clock // nil: the wall clock
	// TickInterval is the shortest time between two protocol ticks
	// (default 1 ms). The Node ticks the protocol when its next timer is
	// due (plumtree.Node.NextDeadline), not periodically: a repair fires
	// on time instead of up to a tick period late, and an idle Node does
	// not wake up at all.
	TickInterval time.Duration
	// DeliveryBuffer is the capacity of the Deliveries channel (default 1024).
	DeliveryBuffer int
	// MaxPendingDeliveries bounds the deliveries held while the consumer is
	// slow; beyond it the Node stops taking input until the consumer
	// catches up, which pushes back on the peers through the transport
	// (default 65536). Deliveries are never dropped.
	MaxPendingDeliveries int
	// Piggyback, if set, carries the protocol's IHave and Digest messages
	// on memberlist's packets (Protocol.PiggybackWait must be positive for
	// the protocol to offer any); the same one must be the membership's
	// Carrier. Nil: they go in messages of their own.
	Piggyback *Piggyback
	Logger    *slog.Logger // nil discards
}

// Stats are a Node's counters. Metric names: herald_gossip_<field>_total in
// snake case (e.g. herald_gossip_payload_sent_total; ReceivedTotal is
// herald_gossip_received_total), exported by Collector.
type Stats struct {
	PayloadSent   uint64 // Gossip messages handed to the transport
	ControlSent   uint64 // IHave, Graft, Prune and Digest messages handed to the transport
	SendFailed    uint64 // refused by the transport (queue full): left to repair
	NoAddress     uint64 // addressed to a member without a known gossip address
	Delivered     uint64 // deliveries handed to the consumer
	Malformed     uint64 // received frames that did not decode or lied about their sender
	ReceivedTotal uint64 // frames received
	// With a Piggyback: IHave and Digest messages that left on memberlist's
	// packets, that waited in vain and went in messages of their own
	// (counted in ControlSent too), that arrived on memberlist's packets,
	// and that arrived while the Node was behind and were dropped.
	PiggybackCarried  uint64
	PiggybackDirect   uint64
	PiggybackReceived uint64
	PiggybackDropped  uint64
}

type stats struct {
	payloadSent, controlSent, sendFailed, noAddress, delivered, malformed, received atomic.Uint64
}

// Node runs the broadcast protocol for one herald. Its methods are safe for
// concurrent use.
type Node struct {
	cfg        Config
	id         plumtree.NodeID
	log        *slog.Logger
	dropLog    *lograte.Limiter // frames that peers send wrong
	deliveries chan plumtree.Delivery
	broadcasts chan broadcastReq
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
	stats      stats
	numPeers   atomic.Int64
	announced  bool      // plumtree.Node.Announce was called; owned by run
	start      time.Time // the protocol clock's zero; set by run
	held       bool      // flush queued piggyback messages: arm the expiry; owned by run
}

type broadcastReq struct {
	payload []byte
	reply   chan plumtree.MessageID
}

// NewNode validates cfg and starts the Node's goroutine. The Node does not
// own Peers or Transport: closing them is the caller's job, after Close.
func NewNode(cfg Config) (*Node, error) {
	if err := cfg.Protocol.Validate(); err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	if cfg.Peers == nil || cfg.Transport == nil {
		return nil, errors.New("gossip: Config.Peers and Config.Transport are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = time.Millisecond
	}
	if cfg.DeliveryBuffer <= 0 {
		cfg.DeliveryBuffer = 1024
	}
	if cfg.MaxPendingDeliveries <= 0 {
		cfg.MaxPendingDeliveries = 1 << 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		cfg:        cfg,
		id:         cfg.Protocol.ID,
		log:        cfg.Logger.With("component", "gossip", "id", string(cfg.Protocol.ID)),
		dropLog:    lograte.New(lograte.Interval),
		deliveries: make(chan plumtree.Delivery, cfg.DeliveryBuffer),
		broadcasts: make(chan broadcastReq),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	events, cancel := cfg.Peers.Subscribe()
	go n.run(events, cancel)
	return n, nil
}

// ID is this node's herald id.
func (n *Node) ID() plumtree.NodeID { return n.id }

// Deliveries returns the channel of broadcasts delivered to this herald,
// each exactly once (its own broadcasts included, with Hops 0). It is closed
// after Close. A consumer that falls behind eventually stalls the Node (see
// Config.MaxPendingDeliveries).
func (n *Node) Deliveries() <-chan plumtree.Delivery { return n.deliveries }

// Broadcast disseminates payload to the fleet and returns its ID. It blocks
// until the Node's goroutine takes the request (briefly, unless the Node is
// stalled by a slow Deliveries consumer), ctx is done, or the Node closes.
// The payload must not be modified afterwards.
func (n *Node) Broadcast(ctx context.Context, payload []byte) (plumtree.MessageID, error) {
	req := broadcastReq{payload: payload, reply: make(chan plumtree.MessageID, 1)}
	select {
	case n.broadcasts <- req:
		return <-req.reply, nil
	case <-ctx.Done():
		return plumtree.MessageID{}, fmt.Errorf("gossip: broadcast: %w", ctx.Err())
	case <-n.done:
		return plumtree.MessageID{}, ErrClosed
	}
}

// NumPeers is the number of other members in the protocol's current view.
func (n *Node) NumPeers() int { return int(n.numPeers.Load()) }

// Stats returns the Node's counters.
func (n *Node) Stats() Stats {
	s := &n.stats
	st := Stats{
		PayloadSent: s.payloadSent.Load(), ControlSent: s.controlSent.Load(), SendFailed: s.sendFailed.Load(),
		NoAddress: s.noAddress.Load(), Delivered: s.delivered.Load(), Malformed: s.malformed.Load(),
		ReceivedTotal: s.received.Load(),
	}
	if p := n.cfg.Piggyback; p != nil {
		st.PiggybackCarried, st.PiggybackDirect = p.carried.Load(), p.direct.Load()
		st.PiggybackReceived, st.PiggybackDropped = p.received.Load(), p.dropped.Load()
	}
	return st
}

// Close stops the Node's goroutine, waits for it and closes Deliveries.
// Undelivered deliveries are dropped. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() { close(n.stop) })
	<-n.done
	return nil
}
