// Package transport carries the broadcast tree's messages between heralds.
//
// It owns the network seam of gossip/: the Transport interface, a TCP
// implementation for production, an in-memory Network for unit tests and
// Faulty, a wrapper that injects delay, loss and partitions (the test
// machines have no netem). It moves opaque frames: it must not import
// memberlist or the protocol (gossip/plumtree), and knows nothing of what a
// frame means.
//
// # Why TCP streams
//
// Frames go over one persistent TCP connection per ordered pair of heralds
// (A dials B to send to B; B dials A to send to A), each frame prefixed by its
// length. TCP gives ordering, retransmission and congestion control, so a
// burst of events cannot flood a link, and a frame can be larger than a
// datagram (a Gossip message carries a watch event of up to etcd's 1.5 MiB
// request limit). The protocol above already repairs loss, so TCP's own
// retransmission mostly just lowers the repair traffic. The broadcast tree has
// a bounded degree, so a herald holds a few dozen connections whatever the
// fleet size. One connection per direction rather than one per pair avoids
// the simultaneous-dial race and keeps each connection one-way: the dialer
// writes, the listener reads. gRPC streams would add HTTP/2 framing and a
// second flow control on top of TCP for no gain here; UDP would need our own
// fragmentation and congestion control.
//
// A connection that breaks is redialled on the next frame, with exponential
// backoff, jittered, between failed dials; frames sent while a peer is unreachable wait
// in its queue or are dropped, and the protocol repairs them. An idle
// connection is closed after TCPConfig.IdleTimeout, except to the peers
// named by Keep (the node's links in the broadcast trees): those are
// dialled at once and kept open, and redialled (with the same backoff) as
// soon as the listener closes them, so the first frame after a view change
// or a peer's restart does not pay for the set-up. A dialler learns that
// the listener closed a connection by reading it: the listener never
// writes after its nonce, so the read returns only at the close.
//
// # Authentication
//
// Every frame is authenticated with HMAC-SHA256 under a key derived from the
// fleet key (HKDF-SHA256, see DeriveKey), so a host that does not hold the
// fleet key cannot inject a message. Frames are not encrypted: watch events
// are no more secret than the etcd traffic they come from (use the network's
// encryption if they must be). On accept, the listener sends a fresh 16-byte
// nonce; the dialer answers with a hello frame carrying its herald id; the
// connection's MAC key is HMAC(transport key, nonce ‖ id), so frames cannot be
// replayed into another connection or attributed to another id. Within a
// connection each frame carries a sequence number that must be exactly one
// more than the previous one, so frames cannot be replayed, reordered or
// dropped by a man in the middle either. A frame that fails any check is
// counted (Stats.FramesRejected) and its connection closed: a byte stream
// cannot be resynchronised after a bad frame.
//
// Wire format of a frame (big endian):
//
//	magic "hg" | version 1 | type (1 hello, 2 data) | seq uint64 | length uint32 | payload | HMAC-SHA256(header ‖ payload)
//
// # Lock order
//
// Each transport has one mutex, a leaf: TCP.mu (peers, connections,
// closed), Network.mu (memnet's endpoints, and each MemTransport's closed)
// and Faulty.mu (cuts, the delay queue). Faulty.mu is released before the
// wrapped transport's Send or Close, so it never nests with that
// transport's lock. None is held across a read, a write, a dial or a
// blocking channel send (Send enqueues without blocking); TCP.mu is held
// while Close and track close sockets, which does not block.
// docs/lock-order.md lists every package's order.
//
// # Metrics
//
// Stats fields map to the metric names herald_gossip_frames_sent_total,
// herald_gossip_frames_received_total, herald_gossip_frames_rejected_total,
// herald_gossip_frames_queue_full_total, herald_gossip_frames_lost_total,
// herald_gossip_dials_total, herald_gossip_dials_failed_total and
// herald_gossip_dials_ahead_total;
// Collector exports them.
package transport
