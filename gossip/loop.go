package gossip

import (
	"errors"
	"log/slog"
	"time"

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
	n.start = n.cfg.Clock.Now()
	n.resync(pt, peers)
	// The first view's Hello and links go out now, not with the next input.
	pending := n.flush(pt, peers, nil)
	links := linkKeeper{t: n.cfg.Transport}
	links.update(pt, peers)
	start := n.start
	timer := deadlineTimer{clock: n.cfg.Clock, minGap: n.cfg.TickInterval}
	defer timer.stop()
	// tick brings the protocol's clock to now before every input: the
	// timers that an input arms (a graft's wait, the IHave batch) count
	// from the protocol's clock, which must not lag.
	tick := func() {
		now := n.cfg.Clock.Now().Sub(start)
		pt.Tick(now)
		timer.ticked(now)
	}
	recv := n.cfg.Transport.Recv()
	var carried <-chan []byte
	if n.cfg.Piggyback != nil {
		carried = n.cfg.Piggyback.in
	}
	expiry := expiryTimer{clock: n.cfg.Clock}
	defer expiry.stop()

	for {
		var out chan<- plumtree.Delivery
		var next plumtree.Delivery
		if len(pending) > 0 {
			out, next = n.deliveries, pending[0]
		}
		timer.arm(pt, n.cfg.Clock.Now().Sub(start))
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
			tick()
			n.step(pt, f)
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			drain(events)
			n.resync(pt, peers)
			links.stale = true // a member's gossip address may have changed
		case <-timer.c:
			timer.fired()
			tick()
		case b := <-carried:
			tick()
			n.stepCarried(pt, b)
		case <-expiry.c:
			expiry.fired()
			n.sendExpired(peers, n.cfg.Clock.Now().Sub(start), &expiry)
		case req := <-n.broadcasts:
			tick()
			req.reply <- pt.Broadcast(req.payload)
		}
		pending = n.flush(pt, peers, pending)
		links.update(pt, peers)
		if n.held {
			n.held = false
			n.sendExpired(peers, n.cfg.Clock.Now().Sub(start), &expiry)
		}
	}
}

// linkKeeper hands the transport the addresses of the protocol's links
// (plumtree.Node.Links) whenever they may have changed, so that it holds
// connections to them open before the broadcasts that use them.
type linkKeeper struct {
	t       transport.Transport
	version uint64
	stale   bool // the addresses may have changed: update even if the links did not
	primed  bool
}

func (k *linkKeeper) update(pt *plumtree.Node, peers *peerTable) {
	v := pt.LinksVersion()
	if k.primed && !k.stale && v == k.version {
		return
	}
	k.version, k.primed, k.stale = v, true, false
	ids := pt.Links()
	addrs := make([]string, 0, len(ids))
	for _, id := range ids {
		if a, ok := peers.addrs[id]; ok {
			addrs = append(addrs, a)
		}
	}
	k.t.Keep(addrs)
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
		if !n.announced && len(ids) > 0 {
			// Just joined: introduce this herald to its tree parents
			// before membership gossip reaches them (ring layout only).
			n.announced = true
			pt.Announce()
		}
		n.log.Debug("gossip: view changed", "peers", len(ids), "gone", gone)
	}
}

func (n *Node) step(pt *plumtree.Node, f transport.Frame) {
	n.stats.received.Add(1)
	var m plumtree.Message
	if err := m.UnmarshalBinary(f.Data); err != nil {
		n.stats.malformed.Add(1)
		n.dropLog.Log(n.log, slog.LevelWarn, "gossip: dropping undecodable frame", "from", f.From, "err", err)
		return
	}
	if string(m.From) != f.From {
		n.stats.malformed.Add(1)
		n.dropLog.Log(n.log, slog.LevelWarn, "gossip: dropping message whose sender differs from the connection's", "from", f.From, "claims", m.From)
		return
	}
	pt.Step(m)
}

// flush sends what the protocol produced and queues its deliveries.
func (n *Node) flush(pt *plumtree.Node, peers *peerTable, pending []plumtree.Delivery) []plumtree.Delivery {
	out, dels := pt.Ready()
	for _, env := range out {
		b, err := env.Msg.MarshalBinary()
		if err != nil {
			n.log.Error("gossip: protocol produced an unencodable message", "msg", env.Msg.String(), "err", err)
			continue
		}
		if p := n.cfg.Piggyback; p != nil && env.Piggyback {
			if p.hold(env.To, b, n.cfg.Clock.Now().Sub(n.start)+n.cfg.Protocol.PiggybackWait) {
				n.held = true
				continue
			}
		}
		n.send(peers, env.To, b, env.Msg.Kind.IsPayload())
	}
	return append(pending, dels...)
}

// send hands an encoded message to the transport.
func (n *Node) send(peers *peerTable, to plumtree.NodeID, b []byte, payload bool) {
	addr, ok := peers.addrs[to]
	if !ok {
		n.stats.noAddress.Add(1)
		return
	}
	if err := n.cfg.Transport.Send(addr, b); err != nil {
		n.stats.sendFailed.Add(1)
		if !errors.Is(err, transport.ErrQueueFull) {
			n.log.Debug("gossip: send", "to", to, "err", err)
		}
		return
	}
	if payload {
		n.stats.payloadSent.Add(1)
	} else {
		n.stats.controlSent.Add(1)
	}
}

// sendExpired sends the held messages whose wait is over in messages of
// their own, and sets the expiry timer for the next.
func (n *Node) sendExpired(peers *peerTable, now time.Duration, expiry *expiryTimer) {
	p := n.cfg.Piggyback
	due, next, ok := p.expired(now)
	for _, m := range due {
		p.direct.Add(1)
		n.send(peers, m.to, m.b, false)
	}
	if ok {
		expiry.arm(next - now)
	}
}

// stepCarried steps a message that a memberlist packet carried: only the
// lazy kinds come that way (see Piggyback).
func (n *Node) stepCarried(pt *plumtree.Node, b []byte) {
	var m plumtree.Message
	if err := m.UnmarshalBinary(b); err != nil || (m.Kind != plumtree.IHave && m.Kind != plumtree.Digest) {
		n.stats.malformed.Add(1)
		n.dropLog.Log(n.log, slog.LevelWarn, "gossip: dropping a carried message that is not an IHave or Digest", "kind", m.Kind, "err", err)
		return
	}
	pt.Step(m)
}

// expiryTimer wakes the loop when the earliest held piggyback message's
// wait is over.
type expiryTimer struct {
	clock  Clock
	c      <-chan time.Time // nil while disarmed
	stopFn func() bool
}

// arm sets the timer for d from now unless it is set already (it then
// fires no later than needed: held messages only get later deadlines).
func (t *expiryTimer) arm(d time.Duration) {
	if t.c != nil {
		return
	}
	t.c, t.stopFn = t.clock.NewTimer(max(d, 0))
}

func (t *expiryTimer) fired() { t.c, t.stopFn = nil, nil }

func (t *expiryTimer) stop() {
	if t.stopFn != nil {
		t.stopFn()
	}
	t.c, t.stopFn = nil, nil
}

// deadlineTimer wakes the loop when the protocol's next timer is due, and
// never sooner than minGap after the previous tick, so that a deadline that
// keeps moving cannot make the loop spin.
type deadlineTimer struct {
	clock    Clock
	minGap   time.Duration
	c        <-chan time.Time // nil while disarmed: the select never picks it
	stopFn   func() bool
	at       time.Duration // protocol time the armed timer is for
	lastTick time.Duration
}

// arm sets the timer for the protocol's next deadline, if it is not set
// for that time or earlier already. A timer that turns out early (the
// deadline moved later) only costs one empty tick.
func (t *deadlineTimer) arm(pt *plumtree.Node, now time.Duration) {
	at, ok := pt.NextDeadline()
	if !ok {
		t.stop()
		return
	}
	at = max(at, t.lastTick+t.minGap)
	if t.c != nil && t.at <= at {
		return
	}
	t.stop()
	t.c, t.stopFn = t.clock.NewTimer(max(at-now, 0))
	t.at = at
}

func (t *deadlineTimer) fired() { t.c, t.stopFn = nil, nil }

func (t *deadlineTimer) ticked(now time.Duration) { t.lastTick = now }

func (t *deadlineTimer) stop() {
	if t.stopFn != nil {
		t.stopFn()
	}
	t.c, t.stopFn = nil, nil
}
