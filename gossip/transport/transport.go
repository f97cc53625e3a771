package transport

import "errors"

// Frame is one message received from a peer.
type Frame struct {
	From string // the sender's id, authenticated by the handshake
	Data []byte // owned by the receiver
}

// Transport sends frames to peers by address and receives frames from them.
// Delivery is best effort: a frame may be lost (a broken connection, a peer
// that is down) but is never corrupted, forged or duplicated. All methods are
// safe for concurrent use.
type Transport interface {
	// Send queues frame for the peer at address to and returns without
	// blocking on the network. It takes ownership of frame: the caller must
	// not modify it afterwards. It returns ErrQueueFull when that peer's
	// queue is full (the frame is not sent), ErrFrameTooLarge, or ErrClosed.
	// A nil error does not mean the frame will arrive.
	Send(to string, frame []byte) error
	// Recv returns the channel of received frames. It never blocks. The
	// channel is closed once Close has returned. A receiver that does not
	// drain it pushes back on the senders (their queues fill and their Send
	// reports ErrQueueFull).
	Recv() <-chan Frame
	// Keep names the peers this node sends to in the normal course (its
	// links in the broadcast trees, plumtree.Node.Links). A transport with
	// connections opens them now and keeps them open: redialled after a
	// break, never closed as idle, so that the first frame after a view
	// change does not wait for a connection's set-up (a round trip, and
	// the initial RTO of a second when the SYN is lost). Each call
	// replaces the previous set; a peer left out falls back to the idle
	// timeout. It never blocks on the network.
	Keep(addrs []string)
	// Close stops the transport: it closes connections, drops queued frames
	// and waits for its goroutines to end. It blocks at most for the time
	// those goroutines need to notice. It is idempotent.
	Close() error
}

var (
	// ErrQueueFull is returned by Send when the peer's send queue is full.
	ErrQueueFull = errors.New("transport: send queue full")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("transport: closed")
	// ErrFrameTooLarge is returned by Send for a frame over the maximum size.
	ErrFrameTooLarge = errors.New("transport: frame too large")
)
