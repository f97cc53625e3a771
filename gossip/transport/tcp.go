package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/heraldproj/herald/internal/backoff"
	"github.com/heraldproj/herald/internal/lograte"
)

// TCPConfig configures a TCP transport.
type TCPConfig struct {
	ID         string // this herald's id, sent in each connection's hello; peers see it as Frame.From
	ListenAddr string // host:port; port 0 picks a free port (see TCP.Addr)
	Key        []byte // the fleet key; frames are authenticated with DeriveKey(Key)

	QueueLen     int           // frames queued per peer before Send reports ErrQueueFull (default 1024)
	RecvLen      int           // capacity of the Recv channel (default 4096)
	MaxFrameSize int           // payload bytes (default DefaultMaxFrameSize)
	DialTimeout  time.Duration // default 2 s
	// WriteTimeout bounds one flush to a peer that does not read; the
	// connection is then dropped and redialled (default 10 s).
	WriteTimeout     time.Duration
	HandshakeTimeout time.Duration // for an inbound hello (default 5 s)
	// MinBackoff is the first step of the wait after a failed dial
	// (default 50 ms), MaxBackoff its ceiling (default 5 s); each wait is
	// drawn between half and all of its step (internal/backoff).
	MinBackoff  time.Duration
	MaxBackoff  time.Duration
	IdleTimeout time.Duration // an unused peer connection is closed after this (default 2 min)
	// MaxInbound bounds open inbound connections, authenticated or not, so
	// that a host outside the fleet cannot exhaust file descriptors
	// (default 4096); further connections are closed on accept.
	MaxInbound int
	Logger     *slog.Logger // nil discards
}

func (c *TCPConfig) setDefaults() error {
	if c.ID == "" || len(c.ID) > maxIDSize {
		return fmt.Errorf("transport: TCPConfig.ID must be 1..%d bytes", maxIDSize)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defInt(&c.QueueLen, 1024)
	defInt(&c.RecvLen, 4096)
	defInt(&c.MaxFrameSize, DefaultMaxFrameSize)
	defInt(&c.MaxInbound, 4096)
	def(&c.DialTimeout, 2*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.HandshakeTimeout, 5*time.Second)
	def(&c.MinBackoff, 50*time.Millisecond)
	def(&c.MaxBackoff, 5*time.Second)
	def(&c.IdleTimeout, 2*time.Minute)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// TCP is the production Transport. See the package doc for the protocol.
type TCP struct {
	cfg    TCPConfig
	key    []byte
	ln     net.Listener
	recv   chan Frame
	log    *slog.Logger
	warn   *lograte.Limiter // warnings that peers' input causes
	stats  counters
	ctx    context.Context // cancelled by Close; aborts dials and blocked deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	peers   map[string]*peer      // by address
	kept    map[string]bool       // addresses named by Keep
	linked  map[string]bool       // addresses with an open outbound connection
	conns   map[net.Conn]struct{} // every open connection, closed by Close
	inbound int                   // open inbound connections
}

var _ Transport = (*TCP)(nil)

// ListenTCP starts listening on cfg.ListenAddr.
func ListenTCP(cfg TCPConfig) (*TCP, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	key, err := DeriveKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &TCP{
		cfg:    cfg,
		key:    key,
		ln:     ln,
		recv:   make(chan Frame, cfg.RecvLen),
		log:    cfg.Logger.With("component", "transport", "id", cfg.ID),
		warn:   lograte.New(lograte.Interval),
		ctx:    ctx,
		cancel: cancel,
		peers:  make(map[string]*peer),
		conns:  make(map[net.Conn]struct{}),
	}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr is the address the transport listens on.
func (t *TCP) Addr() string { return t.ln.Addr().String() }

// Stats returns the transport's counters.
func (t *TCP) Stats() Stats { return t.stats.snapshot() }

// Recv implements Transport.
func (t *TCP) Recv() <-chan Frame { return t.recv }

// Send implements Transport. It never blocks on the network: the frame is
// queued for the peer's connection goroutine.
func (t *TCP) Send(to string, frame []byte) error {
	if len(frame) > t.cfg.MaxFrameSize {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(frame))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	select {
	case t.peerLocked(to).q <- frame:
		return nil
	default:
		t.stats.queueFull.Add(1)
		return ErrQueueFull
	}
}

// Keep implements Transport: each kept peer's goroutine dials it now if it
// has no connection, and keeps the connection open.
func (t *TCP) Keep(addrs []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.kept = make(map[string]bool, len(addrs))
	for _, a := range addrs {
		t.kept[a] = true
		t.peerLocked(a).wake()
	}
}

// peerLocked returns the peer of addr, starting its goroutine if it has
// none. t.mu must be held and the transport open.
func (t *TCP) peerLocked(addr string) *peer {
	p := t.peers[addr]
	if p == nil {
		p = &peer{
			t: t, addr: addr, q: make(chan []byte, t.cfg.QueueLen),
			kick: make(chan struct{}, 1), broken: make(chan net.Conn), done: make(chan struct{}),
			backoff: backoff.New(t.cfg.MinBackoff, t.cfg.MaxBackoff),
		}
		t.peers[addr] = p
		t.wg.Add(1)
		go p.run()
	}
	return p
}

// Connected returns, sorted, the addresses this transport holds an open
// outbound connection to (after a handshake, until it is closed or seen
// closed).
func (t *TCP) Connected() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Sorted(maps.Keys(t.linked))
}

// setLinked records whether addr has an open outbound connection.
func (t *TCP) setLinked(addr string, open bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !open {
		delete(t.linked, addr)
		return
	}
	if t.linked == nil {
		t.linked = make(map[string]bool)
	}
	t.linked[addr] = true
}

// isKept reports whether Keep names addr.
func (t *TCP) isKept(addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kept[addr]
}

// Close implements Transport.
func (t *TCP) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.cancel()
	err := t.ln.Close()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	close(t.recv)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("transport: close listener: %w", err)
	}
	return nil
}

// track registers c so that Close closes it; it reports false (and closes
// c) if the transport is already closed or, for an inbound connection, if
// MaxInbound connections are open.
func (t *TCP) track(c net.Conn, inbound bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || (inbound && t.inbound >= t.cfg.MaxInbound) {
		c.Close()
		return false
	}
	if inbound {
		t.inbound++
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *TCP) untrack(c net.Conn, inbound bool) {
	t.mu.Lock()
	delete(t.conns, c)
	if inbound {
		t.inbound--
	}
	t.mu.Unlock()
	c.Close()
}
