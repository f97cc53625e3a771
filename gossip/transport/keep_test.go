package transport

import (
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

func inboundConns(tr *TCP) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.inbound
}

// waitInbound waits until tr has n authenticated-or-not inbound connections.
func waitInbound(t *testing.T, tr *TCP, n int, what string) {
	t.Helper()
	harness.WaitUntil(t, what, harness.DefaultPatience, func() bool { return inboundConns(tr) == n })
}

// TestTCPKeepDialsAhead: a kept peer is dialled before any frame is sent
// to it, and the first frame then goes over that connection.
func TestTCPKeepDialsAhead(t *testing.T) {
	a := newTCP(t, "a", fleetKey)
	b := newTCP(t, "b", fleetKey)
	a.Keep([]string{b.Addr()})
	waitInbound(t, b, 1, "a dials b ahead of any frame")
	harness.WaitUntil(t, "a's handshake done", harness.DefaultPatience, func() bool { return a.Stats().DialsAhead > 0 })
	if s := a.Stats(); s.DialsAhead != 1 || s.FramesSent != 0 {
		t.Fatalf("after Keep: %+v, want one dial ahead and no frame", s)
	}
	if err := a.Send(b.Addr(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	if f := recvFrame(t, b); string(f.Data) != "first" || f.From != "a" {
		t.Fatalf("got %q from %q", f.Data, f.From)
	}
	if s := a.Stats(); s.DialsAhead != 1 || s.DialsFailed != 0 || inboundConns(b) != 1 {
		t.Fatalf("after the first frame: %+v, %d inbound at b: want the kept connection used", s, inboundConns(b))
	}
}

// TestTCPKeptPeerNotRetired: a kept connection outlives many idle
// timeouts; once Keep no longer names it, it is retired as idle.
func TestTCPKeptPeerNotRetired(t *testing.T) {
	const idle = 20 * time.Millisecond
	a := newTCP(t, "a", fleetKey, func(c *TCPConfig) { c.IdleTimeout = idle })
	b := newTCP(t, "b", fleetKey)
	a.Keep([]string{b.Addr()})
	waitInbound(t, b, 1, "a dials b ahead")
	harness.WaitUntil(t, "a's handshake done", harness.DefaultPatience, func() bool { return a.Stats().DialsAhead > 0 })
	time.Sleep(10 * idle)
	a.mu.Lock()
	peers, conns := len(a.peers), len(a.conns)
	a.mu.Unlock()
	if peers != 1 || conns != 1 || a.Stats().DialsAhead != 1 {
		t.Fatalf("after 10 idle timeouts: %d peers, %d connections, %+v: want the kept one, never redialled", peers, conns, a.Stats())
	}
	a.Keep(nil)
	harness.WaitUntil(t, "the peer no longer kept is retired", harness.DefaultPatience, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.peers) == 0 && len(a.conns) == 0
	})
	waitInbound(t, b, 0, "b sees the retired connection close")
}

// TestTCPKeptPeerRedialledAfterRestart: when a kept peer restarts, the
// dialler notices the close and redials without waiting for a frame, so
// the first frame after the restart is not written into the dead
// connection and lost.
func TestTCPKeptPeerRedialledAfterRestart(t *testing.T) {
	a := newTCP(t, "a", fleetKey, func(c *TCPConfig) { c.MinBackoff = 10 * time.Millisecond; c.MaxBackoff = 50 * time.Millisecond })
	b := newTCP(t, "b", fleetKey)
	addr := b.Addr()
	a.Keep([]string{addr})
	waitInbound(t, b, 1, "a dials b ahead")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := newTCP(t, "b", fleetKey, func(c *TCPConfig) { c.ListenAddr = addr })
	waitInbound(t, b2, 1, "a redials the restarted b without a frame")
	if err := a.Send(addr, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if f := recvFrame(t, b2); string(f.Data) != "after" {
		t.Fatalf("got %q", f.Data)
	}
	if s := a.Stats(); s.FramesLost != 0 || s.DialsAhead < 2 {
		t.Fatalf("%+v: want no frame lost and a second dial ahead", s)
	}
}

// TestTCPKeepUnreachable: a kept peer that refuses connections is retried
// with backoff, not in a busy loop, and Close still returns promptly.
func TestTCPKeepUnreachable(t *testing.T) {
	a := newTCP(t, "a", fleetKey, func(c *TCPConfig) { c.MinBackoff = 20 * time.Millisecond; c.MaxBackoff = 40 * time.Millisecond })
	b := newTCP(t, "b", fleetKey)
	addr := b.Addr()
	b.Close() // nothing listens there now
	a.Keep([]string{addr})
	harness.WaitUntil(t, "a retries the dial", harness.DefaultPatience, func() bool { return a.Stats().DialsFailed >= 3 })
	start := time.Now()
	time.Sleep(200 * time.Millisecond)
	failed := a.Stats().DialsFailed
	// At least 10 ms between dials (half the first step): a busy loop would
	// fail thousands of times here.
	if limit := uint64(time.Since(start)/(10*time.Millisecond)) + 4; failed > limit {
		t.Fatalf("%d failed dials: want at most %d (backoff)", failed, limit)
	}
	if s := a.Stats(); s.DialsAhead != 0 || s.FramesLost != 0 {
		t.Fatalf("%+v: nothing connected, no frame was sent", s)
	}
}
