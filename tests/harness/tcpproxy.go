package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TCPProxy is a TCP forwarder on a free 127.0.0.1 port in front of one target
// address, which a test can cut and restore to partition whatever dials it
// from the target.
//
// A test puts it between a client and a server by giving the client the
// proxy's URL instead of the server's:
//
//	px := harness.StartTCPProxy(t, cluster.Endpoints()[0])
//	h := harness.StartHerald(t, harness.HeraldOptions{Endpoints: []string{px.URL()}})
//	px.Cut()     // herald is now partitioned from etcd
//	...          // assert what must hold while it is
//	px.Restore() // the network is back
//
// Cut behaves like a network partition, not like a host that refuses: the
// open connections stay open but pass no byte in either direction (no FIN, no
// RST: the peers see silence and find out only by their own timeouts), and new
// connections are accepted but pass nothing (the target is not even dialled).
// Restore lets new connections through and closes the ones that hung during
// the cut, as peers whose timeouts fired would have dropped them: after
// Restore every connection that carries bytes is a fresh one. A peer without
// a keepalive or a deadline of its own (clientv3 without DialKeepAliveTime)
// therefore hangs on a cut connection until Restore.
//
// The proxy is closed when the test ends; Close stops every goroutine it
// started. Stats counts connections and bytes, for debugging a test.
type TCPProxy struct {
	t      testing.TB
	target string
	ln     net.Listener
	wg     sync.WaitGroup // the accept loop and every connection's goroutines

	mu     sync.Mutex
	cut    bool
	closed bool
	conns  map[*proxiedConn]struct{}

	accepted atomic.Int64
	up, down atomic.Int64 // bytes passed client→target, target→client
	held     atomic.Int64 // bytes read during a cut and never passed
}

// proxyDialTimeout bounds the dial of the target; a target that does not
// answer within it gets its client's connection closed, as a refusing host.
const proxyDialTimeout = 5 * time.Second

// proxyBufSize is the size of each direction's copy buffer.
const proxyBufSize = 32 << 10

// StartTCPProxy listens on a FreeAddr and forwards every connection to target
// ("host:port" or a URL like "http://127.0.0.1:2379"). It is closed when t
// ends.
func StartTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()
	addr := FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("harness: tcp proxy: listen %s: %v", addr, err)
	}
	p := &TCPProxy{t: t, target: hostPorts([]string{target})[0], ln: ln, conns: map[*proxiedConn]struct{}{}}
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.acceptLoop() }()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's listening address, "127.0.0.1:PORT".
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// URL is "http://" + Addr, the form etcd clients and herald's --endpoints take.
func (p *TCPProxy) URL() string { return "http://" + p.Addr() }

// Target is the address connections are forwarded to.
func (p *TCPProxy) Target() string { return p.target }

// Cut partitions the proxy: from now on no byte passes on any connection,
// open or new, until Restore. Bytes a connection was writing at the very
// instant of the cut may still arrive, as on a real network. Cut never
// blocks.
func (p *TCPProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.hang()
	}
}

// Restore ends a cut: new connections are forwarded again, and every
// connection that hung during the cut is closed (a fresh one is what the
// peers get when they reconnect). Restore without a cut does nothing.
func (p *TCPProxy) Restore() {
	p.mu.Lock()
	p.cut = false
	var hung []*proxiedConn
	for c := range p.conns {
		if c.isHung() {
			hung = append(hung, c)
			delete(p.conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range hung {
		c.close()
	}
}

// IsCut reports whether the proxy is cut.
func (p *TCPProxy) IsCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

// Close stops accepting, closes every connection and waits for every
// goroutine of the proxy. It is idempotent; the test's cleanup calls it.
func (p *TCPProxy) Close() {
	p.mu.Lock()
	p.closed = true
	conns := make([]*proxiedConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	clear(p.conns)
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
}

// TCPProxyStats are a proxy's counters since it started.
type TCPProxyStats struct {
	Accepted int64 // connections accepted
	Open     int   // connections open now
	Hung     int   // open connections that hung in a cut
	Up       int64 // bytes passed from clients to the target
	Down     int64 // bytes passed from the target to clients
	Held     int64 // bytes read from either side during a cut, never passed
}

func (s TCPProxyStats) String() string {
	return fmt.Sprintf("accepted %d, open %d (hung %d), up %d B, down %d B, held %d B",
		s.Accepted, s.Open, s.Hung, s.Up, s.Down, s.Held)
}

// Stats returns the proxy's counters.
func (p *TCPProxy) Stats() TCPProxyStats {
	p.mu.Lock()
	open, hung := len(p.conns), 0
	for c := range p.conns {
		if c.isHung() {
			hung++
		}
	}
	p.mu.Unlock()
	return TCPProxyStats{
		Accepted: p.accepted.Load(), Open: open, Hung: hung,
		Up: p.up.Load(), Down: p.down.Load(), Held: p.held.Load(),
	}
}

func (p *TCPProxy) acceptLoop() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.t.Logf("harness: tcp proxy %s: accept: %v", p.Addr(), err)
			}
			return
		}
		p.accepted.Add(1)
		c := &proxiedConn{client: conn, hung: make(chan struct{}), done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			conn.Close()
			return
		}
		p.conns[c] = struct{}{}
		if p.cut {
			// A partitioned network: the client's SYN got an answer from
			// nowhere in particular; nothing will pass until Restore closes
			// this connection.
			c.hang()
			p.mu.Unlock()
			continue
		}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.serve(c) }()
	}
}

// serve dials the target and runs both directions of c until both end.
func (p *TCPProxy) serve(c *proxiedConn) {
	defer p.forget(c)
	target, err := net.DialTimeout("tcp", p.target, proxyDialTimeout)
	if err != nil {
		c.close()
		return
	}
	if !c.setTarget(target) {
		return // closed while dialling
	}
	var dirs sync.WaitGroup
	dirs.Add(2)
	go func() { defer dirs.Done(); p.pump(c, target, c.client, &p.up) }()
	go func() { defer dirs.Done(); p.pump(c, c.client, target, &p.down) }()
	dirs.Wait()
	c.close()
}

// pump copies src to dst until src ends, or c hangs (then it holds what it
// read and waits for c's close), or a write fails.
func (p *TCPProxy) pump(c *proxiedConn, dst, src net.Conn, passed *atomic.Int64) {
	buf := make([]byte, proxyBufSize)
	for {
		n, err := src.Read(buf)
		if c.isHung() {
			p.held.Add(int64(n))
			<-c.done
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				c.close()
				return
			}
			passed.Add(int64(n))
		}
		if err != nil {
			// Pass a clean end of stream on as a half-close, so that the
			// other direction can still finish; anything else ends both.
			if tc, ok := dst.(*net.TCPConn); ok && errors.Is(err, io.EOF) {
				if tc.CloseWrite() == nil {
					return
				}
			}
			c.close()
			return
		}
	}
}

func (p *TCPProxy) forget(c *proxiedConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// proxiedConn is one client connection and, once dialled, its target
// connection.
type proxiedConn struct {
	client net.Conn

	mu       sync.Mutex
	target   net.Conn
	hung     chan struct{} // closed when a cut catches the connection
	done     chan struct{} // closed by close
	hungOnce sync.Once
	isClosed bool
}

func (c *proxiedConn) hang() { c.hungOnce.Do(func() { close(c.hung) }) }

func (c *proxiedConn) isHung() bool {
	select {
	case <-c.hung:
		return true
	default:
		return false
	}
}

// setTarget records the dialled target connection; it reports false (and
// closes target) if c was closed meanwhile.
func (c *proxiedConn) setTarget(target net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		target.Close()
		return false
	}
	c.target = target
	return true
}

// close closes both sides once; blocked reads return and held pumps end.
func (c *proxiedConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed {
		return
	}
	c.isClosed = true
	close(c.done)
	c.client.Close()
	if c.target != nil {
		c.target.Close()
	}
}
