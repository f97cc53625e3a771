package harness

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// proxyPatience bounds the waits of these tests; a hang becomes a failure.
const proxyPatience = 10 * time.Second

// silence is how long a read waits to show that nothing arrives. A byte that
// the proxy held can never arrive, so a longer or shorter wait changes
// nothing but the test's duration.
const silence = 100 * time.Millisecond

// echoServer is the proxy's target in these tests: it echoes what it reads
// and keeps its side of each connection so that a test can also write from
// the target's side.
type echoServer struct {
	ln net.Listener
	wg sync.WaitGroup

	mu       sync.Mutex
	conns    []net.Conn
	received int
}

func startEchoServer(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, conn)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.echo(conn) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *echoServer) echo(conn net.Conn) {
	defer conn.Close()
	buf := make([]byte, 1024)
	for {
		n, err := conn.Read(buf)
		s.mu.Lock()
		s.received += n
		s.mu.Unlock()
		if n > 0 {
			if _, err := conn.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *echoServer) stats() (accepted, received int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns), s.received
}

func (s *echoServer) conn(i int) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[i]
}

func dialProxy(t *testing.T, p *TCPProxy) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", p.Addr(), proxyPatience)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// roundTrip writes msg and expects it echoed.
func roundTrip(t *testing.T, conn net.Conn, msg string) {
	t.Helper()
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	got := make([]byte, len(msg))
	conn.SetReadDeadline(time.Now().Add(proxyPatience))
	defer conn.SetReadDeadline(time.Time{})
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != msg {
		t.Fatalf("echo of %q = %q, %v", msg, got, err)
	}
}

// expectSilence fails t unless a read on conn times out: the connection is
// open and nothing arrives on it.
func expectSilence(t *testing.T, conn net.Conn, why string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(silence))
	defer conn.SetReadDeadline(time.Time{})
	n, err := conn.Read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: read = %d bytes, %v; want nothing and the connection still open", why, n, err)
	}
}

// expectClosed fails t unless conn ends (EOF or reset) within proxyPatience.
func expectClosed(t *testing.T, conn net.Conn, why string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(proxyPatience))
	_, err := io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: connection still open after %v", why, proxyPatience)
	}
}

func TestTCPProxyForwards(t *testing.T) {
	VerifyNoLeaks(t)
	srv := startEchoServer(t)
	p := StartTCPProxy(t, "http://"+srv.ln.Addr().String())
	conn := dialProxy(t, p)
	roundTrip(t, conn, "hello")
	roundTrip(t, conn, "again")
	// The counters move just after each write, so the echo may arrive first.
	WaitUntil(t, "10 B counted each way", proxyPatience, func() bool { st := p.Stats(); return st.Up == 10 && st.Down == 10 })
	if st := p.Stats(); st.Accepted != 1 || st.Open != 1 || st.Held != 0 {
		t.Errorf("stats = %v; want one open connection, nothing held", st)
	}
	// A half-close passes through: the echo server sees EOF and closes,
	// and the client then reads the end of the stream.
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, conn, "after a half-close")
	WaitUntil(t, "the proxy forgets the finished connection", proxyPatience, func() bool { return p.Stats().Open == 0 })
}

func TestTCPProxyCutHangsOpenConnections(t *testing.T) {
	VerifyNoLeaks(t)
	srv := startEchoServer(t)
	p := StartTCPProxy(t, srv.ln.Addr().String())
	conn := dialProxy(t, p)
	roundTrip(t, conn, "before")
	p.Cut()
	if !p.IsCut() {
		t.Fatal("IsCut = false after Cut")
	}

	// Client to target: the proxy reads the bytes and holds them.
	if _, err := conn.Write([]byte("lost")); err != nil {
		t.Fatalf("write during the cut: %v (a partition does not refuse writes)", err)
	}
	// (A pump that hangs holds what its last read returned and reads no
	// more, so that a sender's buffers fill up as in a partition; on
	// loopback the four bytes arrive in one read, but any part will do.)
	WaitUntil(t, "the proxy holds the client's bytes", proxyPatience, func() bool { return p.Stats().Held > 0 })
	heldUp := p.Stats().Held
	if _, received := srv.stats(); received != len("before") {
		t.Errorf("target received %d bytes; want only the %d sent before the cut", received, len("before"))
	}
	expectSilence(t, conn, "client during the cut")

	// Target to client: the same.
	if _, err := srv.conn(0).Write([]byte("down")); err != nil {
		t.Fatalf("target write during the cut: %v", err)
	}
	WaitUntil(t, "the proxy holds the target's bytes", proxyPatience, func() bool { return p.Stats().Held > heldUp })
	expectSilence(t, conn, "client after the target wrote during the cut")
	WaitUntil(t, "6 B counted each way (before the cut)", proxyPatience, func() bool { st := p.Stats(); return st.Up == 6 && st.Down == 6 })
	if st := p.Stats(); st.Hung != 1 {
		t.Errorf("stats = %v; want one hung connection", st)
	}

	// Restore closes the hung connection; a new one works.
	p.Restore()
	expectClosed(t, conn, "hung connection after Restore")
	roundTrip(t, dialProxy(t, p), "after")
}

func TestTCPProxyCutAcceptsNewConnectionsButPassesNothing(t *testing.T) {
	VerifyNoLeaks(t)
	srv := startEchoServer(t)
	p := StartTCPProxy(t, srv.ln.Addr().String())
	p.Cut()
	conn := dialProxy(t, p)
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatalf("write during the cut: %v", err)
	}
	WaitUntil(t, "the proxy accepts the connection", proxyPatience, func() bool { return p.Stats().Hung == 1 })
	expectSilence(t, conn, "new connection during the cut")
	if accepted, _ := srv.stats(); accepted != 0 {
		t.Errorf("target accepted %d connections during the cut; want 0", accepted)
	}
	p.Restore()
	expectClosed(t, conn, "connection made during the cut, after Restore")
	roundTrip(t, dialProxy(t, p), "after")
	if accepted, _ := srv.stats(); accepted != 1 {
		t.Errorf("target accepted %d connections; want 1 (after Restore)", accepted)
	}
}

func TestTCPProxyCloseEndsEverything(t *testing.T) {
	VerifyNoLeaks(t)
	srv := startEchoServer(t)
	p := StartTCPProxy(t, srv.ln.Addr().String())
	live := dialProxy(t, p)
	roundTrip(t, live, "x")
	p.Cut()
	hung := dialProxy(t, p)
	WaitUntil(t, "two connections, one hung by the cut", proxyPatience, func() bool {
		st := p.Stats()
		return st.Open == 2 && st.Hung == 2
	})
	p.Close()
	expectClosed(t, live, "connection after Close")
	expectClosed(t, hung, "hung connection after Close")
	if _, err := net.DialTimeout("tcp", p.Addr(), proxyPatience); err == nil {
		t.Errorf("dial after Close succeeded")
	}
	p.Close() // idempotent; the cleanup calls it again too
}

// TestTCPProxyTargetDown: with nothing listening at the target, the proxy
// closes the client's connection, as the refusing host would.
func TestTCPProxyTargetDown(t *testing.T) {
	VerifyNoLeaks(t)
	p := StartTCPProxy(t, FreeAddr(t))
	expectClosed(t, dialProxy(t, p), "connection to a target that refuses")
}

// TestTCPProxyPartitionsEtcd: clientv3 through the proxy in front of a real
// etcd. A cut makes calls time out (not fail fast: a partition is silent);
// after Restore the client reconnects by itself.
func TestTCPProxyPartitionsEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd; skipped in -short mode")
	}
	c := StartEtcd(t, EtcdOptions{})
	p := StartTCPProxy(t, c.Endpoints()[0])
	cli := Client(t, p.URL())
	put := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := cli.Put(ctx, "k", "v")
		return err
	}
	if err := put(proxyPatience); err != nil {
		t.Fatalf("put through the proxy: %v", err)
	}
	p.Cut()
	if err := put(silence); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put during the cut: %v; want %v", err, context.DeadlineExceeded)
	}
	p.Restore()
	WaitUntil(t, "put after Restore", proxyPatience, func() bool { return put(time.Second) == nil })
	st := p.Stats()
	t.Logf("proxy: %v", st)
	if st.Accepted < 2 {
		t.Errorf("client did not reconnect after Restore: %v", st)
	}
}
