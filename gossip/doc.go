// Package gossip runs herald's fleet dissemination layer: it binds fleet
// membership (gossip/membership, on memberlist), the network transport
// between heralds (gossip/transport) and the broadcast-tree protocol
// (gossip/plumtree, a pure state machine) into a running Node.
//
// A Node owns one goroutine that owns the plumtree.Node: it feeds it
// membership changes (SetPeers / PeerDown), frames received from the
// transport (decoded, then Step), ticks of an injected Clock — a timer set
// for the protocol's next deadline (NextDeadline), not a periodic ticker,
// so repairs fire on time and an idle Node sleeps — and Broadcast calls,
// and after each input drains Ready(): messages are encoded and sent
// through the transport to the peer's gossip address (from the member's
// metadata), deliveries go to the Deliveries channel. Whenever the
// protocol's links may have changed (plumtree.Node.LinksVersion, or a
// membership event that may have moved an address) the Node hands their
// addresses to Transport.Keep, so that connections along the trees are open
// before the broadcasts that use them. Fleet assembles the three layers
// from one configuration for the daemon and the tests.
//
// A Bus carries several topics over a Fleet (one per feed: the fan-out's
// events, the lease index): payloads are framed with their topic's name,
// and one goroutine owned by the Bus demultiplexes deliveries to per-topic
// channels and fans membership changes out to every topic. A Bus is the
// fleet.Bus (internal/fleet) that the feeds and proxy.Options.Fleet take,
// and Fleet.Heralds lists the fleet as fleet.Members for MemberList: the
// daemon wires them in without adapters, and this package imports none of
// their users.
//
// A Piggyback carries the protocol's lazy messages (IHave, Digest, when
// plumtree.Config.PiggybackWait is set, as in the wan profile) on the
// packets memberlist sends anyway: the Node queues them, membership's
// delegate hands them to leaving probes, acks and gossip (never to a packet
// that would leave only for them), and the Node sends what waited in vain
// in messages of its own; carried messages that arrive are stepped like
// frames, IHave and Digest only.
//
// Lock order: Bus.mu and Piggyback.mu are the package's mutexes, both
// leaves: deliver waits for a topic's consumer only after releasing Bus.mu,
// and changed's sends under it do not block; memberlist's goroutines take
// Piggyback.mu through the delegate. docs/lock-order.md lists every
// package's order.
//
// Collector exports a Node's Stats as Prometheus metrics
// (herald_gossip_<field>_total, herald_gossip_piggyback_{carried,direct,
// received,dropped}_total, herald_gossip_peers); Fleet.Collectors adds
// the transport's (transport.Collector) for the daemon to register.
//
// This package must not import memberlist (gossip/membership is its only
// user), must not put protocol logic in the driver (it belongs in
// gossip/plumtree, where the simulator runs it too), and knows nothing of
// watch events, etcd or gRPC: payloads are opaque bytes.
package gossip
