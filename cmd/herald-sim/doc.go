// Command herald-sim measures herald's broadcast tree (gossip/plumtree) in a
// deterministic discrete-event simulation: the real protocol code, one
// plumtree.Node per member, a virtual clock and a priority queue of message
// and timer events, links with a delay distribution and i.i.d. or bursty
// (Gilbert–Elliott) loss, and a share of members crashed but not yet
// detected. In the same run it measures the flooding baseline: a random
// overlay of 5–6 neighbours per member, each member forwarding once to all
// neighbours on first receipt (the algorithm of go-distributed/gossip_simulator).
//
// The network can be made less kind, one assumption at a time (issue 11):
// -view-miss F (each member's view lacks its own share F of the members),
// -view-lag D (crashes and -churn joins reach members over D, spreading as
// memberlist spreads them: views.go), -send-cost D (a member's sends leave
// one after another, D each), -link tcp (a connection per ordered pair,
// in-order delivery, loss repaired after an RTO: tcp.go; with -dial ahead,
// the default, each member holds connections to its links open as the
// daemon does, dialling a new link when it appears: predial.go; -dial
// on-use sets every connection up with its first message), -crash F and
// -rate R (broadcasts per second). -carriers R models the packets
// memberlist sends anyway (R per member and second, each to a random
// member, UDP) on which the tree's IHave and Digest ride when the profile
// sets plumtree.Config.PiggybackWait (carrier.go); carried messages are
// counted apart, those that wait in vain in msgs/member. -warm sends one
// unmeasured broadcast 2 s before the measured ones (the steady state of a
// fleet that has broadcast before: its TCP connections are open); -layout
// heap|ring picks the tree layout (plumtree.Layout); -view-lag's joiners
// introduce themselves when they join (plumtree.Node.Announce), counted
// apart from the per-broadcast messages. Both algorithms run on the
// same scenario and network model. After the table each algorithm prints one
// line:
//
//	NAME: t50=…ms t99=…ms t99.9=…ms t100=…ms coverage=…% msgs/member=…
//
// The same flags and seed always print the same table: all randomness comes
// from seeded sources and nothing depends on map order or wall time.
//
//	go run ./cmd/herald-sim -n 50000 -profile wan -seeds 20
//
// It must not import anything but the protocol core: no sockets, no clocks.
package main
