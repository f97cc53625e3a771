package gossip

import (
	"errors"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
)

// run is the only goroutine that touches the plumtree.Node and the peer
// table.
func (n *Node) run(events <-chan membership.Event, cancel func()) {
	defer close(n.done)
	defer close(n.deliveries)
	defer cancel()

	pt := plumtree.New(n.cfg.Protocol)
	peers := &peerTable{self: n.id}
	n.resync(pt, peers)
	start := n.cfg.Clock.Now()
	ticks, stopTicker := n.cfg.Clock.NewTicker(n.cfg.TickInterval)
	defer stopTicker()
	recv := n.cfg.Transport.Recv()

	var pending []plumtree.Delivery
	for {
		var out chan<- plumtree.Delivery
		var next plumtree.Delivery
		if len(pending) > 0 {
			out, next = n.deliveries, pending[0]
		}
		if len(pending) >= n.cfg.MaxPendingDeliveries {
			// Backpressure: take no input until the consumer catches up.
			select {
			case out <- next:
				pending = n.delivered(pending)
			case <-n.stop:
				return
			}
			continue
		}
		select {
		case <-n.stop:
			return
		case out <- next:
			pending = n.delivered(pending)
			continue
		case f, ok := <-recv:
			if !ok {
				recv = nil
				continue
			}
			n.step(pt, f)
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			drain(events)
			n.resync(pt, peers)
		case now := <-ticks:
			pt.Tick(now.Sub(start))
		case req := <-n.broadcasts:
			req.reply <- pt.Broadcast(req.payload)
		}
		pending = n.flush(pt, peers, pending)
	}
}

func (n *Node) delivered(pending []plumtree.Delivery) []plumtree.Delivery {
	n.stats.delivered.Add(1)
	pending[0] = plumtree.Delivery{}
	if len(pending) == 1 {
		return pending[:0]
	}
	return pending[1:]
}

// drain discards queued events: the resync that follows reads the whole view.
func drain(events <-chan membership.Event) {
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

func (n *Node) resync(pt *plumtree.Node, peers *peerTable) {
	gone, changed := peers.update(n.cfg.Peers.Members())
	for _, id := range gone {
		pt.PeerDown(id)
	}
	if changed {
		ids := peers.ids()
		pt.SetPeers(ids)
		n.numPeers.Store(int64(len(ids)))
		n.log.Debug("gossip: view changed", "peers", len(ids), "gone", gone)
	}
}

func (n *Node) step(pt *plumtree.Node, f transport.Frame) {
	n.stats.received.Add(1)
	var m plumtree.Message
	if err := m.UnmarshalBinary(f.Data); err != nil {
		n.stats.malformed.Add(1)
		n.log.Warn("gossip: dropping undecodable frame", "from", f.From, "err", err)
		return
	}
	if string(m.From) != f.From {
		n.stats.malformed.Add(1)
		n.log.Warn("gossip: dropping message whose sender differs from the connection's", "from", f.From, "claims", m.From)
		return
	}
	pt.Step(m)
}

// flush sends what the protocol produced and queues its deliveries.
func (n *Node) flush(pt *plumtree.Node, peers *peerTable, pending []plumtree.Delivery) []plumtree.Delivery {
	out, dels := pt.Ready()
	for _, env := range out {
		addr, ok := peers.addrs[env.To]
		if !ok {
			n.stats.noAddress.Add(1)
			continue
		}
		b, err := env.Msg.MarshalBinary()
		if err != nil {
			n.log.Error("gossip: protocol produced an unencodable message", "msg", env.Msg.String(), "err", err)
			continue
		}
		if err := n.cfg.Transport.Send(addr, b); err != nil {
			n.stats.sendFailed.Add(1)
			if !errors.Is(err, transport.ErrQueueFull) {
				n.log.Debug("gossip: send", "to", env.To, "err", err)
			}
			continue
		}
		if env.Msg.Kind.IsPayload() {
			n.stats.payloadSent.Add(1)
		} else {
			n.stats.controlSent.Add(1)
		}
	}
	return append(pending, dels...)
}
