package transport

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

var (
	fleetKey = bytes.Repeat([]byte{0x42}, 32)
	otherKey = bytes.Repeat([]byte{0x43}, 32)
)

func newTCP(t *testing.T, id string, key []byte, mod ...func(*TCPConfig)) *TCP {
	t.Helper()
	cfg := TCPConfig{ID: id, ListenAddr: "127.0.0.1:0", Key: key}
	for _, f := range mod {
		f(&cfg)
	}
	tr, err := ListenTCP(cfg)
	if err != nil {
		t.Fatalf("listen %s: %v", id, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// recvFrame waits for one frame; the timeout only bounds a hang.
func recvFrame(t *testing.T, tr Transport) Frame {
	t.Helper()
	select {
	case f, ok := <-tr.Recv():
		if !ok {
			t.Fatal("Recv channel closed")
		}
		return f
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for a frame")
	}
	return Frame{}
}

func noFrame(t *testing.T, tr Transport) {
	t.Helper()
	select {
	case f := <-tr.Recv():
		t.Fatalf("unexpected frame from %q: %q", f.From, f.Data)
	default:
	}
}

func TestTCPSendRecvInOrder(t *testing.T) {
	a, b := newTCP(t, "a", fleetKey), newTCP(t, "b", fleetKey)
	for i := range 100 {
		if err := a.Send(b.Addr(), fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		f := recvFrame(t, b)
		if f.From != "a" || string(f.Data) != fmt.Sprintf("m%d", i) {
			t.Fatalf("frame %d = %q from %q", i, f.Data, f.From)
		}
	}
	if err := b.Send(a.Addr(), []byte("back")); err != nil {
		t.Fatal(err)
	}
	if f := recvFrame(t, a); f.From != "b" || string(f.Data) != "back" {
		t.Fatalf("reverse frame %q from %q", f.Data, f.From)
	}
	// The writer counts frames once it has flushed them, which may be
	// after the peer has read them.
	harness.WaitUntil(t, "a to count its 100 frames", harness.DefaultPatience, func() bool { return a.Stats().FramesSent == 100 })
	if s := a.Stats(); s.FramesSent != 100 || s.FramesRejected != 0 {
		t.Fatalf("a stats %+v", s)
	}
}

func TestTCPForgedKeyRejected(t *testing.T) {
	b := newTCP(t, "b", fleetKey)
	forger := newTCP(t, "a", otherKey)
	if err := forger.Send(b.Addr(), []byte("forged")); err != nil {
		t.Fatal(err)
	}
	harness.WaitUntil(t, "forged hello rejected", harness.DefaultPatience, func() bool { return b.Stats().FramesRejected >= 1 })
	honest := newTCP(t, "c", fleetKey)
	if err := honest.Send(b.Addr(), []byte("honest")); err != nil {
		t.Fatal(err)
	}
	if f := recvFrame(t, b); f.From != "c" || string(f.Data) != "honest" {
		t.Fatalf("received %q from %q, want only the honest frame", f.Data, f.From)
	}
}

// rawConn is a hand-driven dialer that completes a valid handshake and then
// writes arbitrary bytes.
type rawConn struct {
	c   net.Conn
	mac hash.Hash
}

func dialRaw(t *testing.T, addr, id string) rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var ch [challengeSize]byte
	if _, err := io.ReadFull(c, ch[:]); err != nil {
		t.Fatal(err)
	}
	key, err := DeriveKey(fleetKey)
	if err != nil {
		t.Fatal(err)
	}
	mac := connMAC(key, ch[3:], id)
	if _, err := c.Write(appendFrame(nil, mac, typeHello, 0, []byte(id))); err != nil {
		t.Fatal(err)
	}
	return rawConn{c: c, mac: mac}
}

func (r rawConn) frame(seq uint64, payload string) []byte {
	return appendFrame(nil, r.mac, typeData, seq, []byte(payload))
}

func TestTCPCorruptedByteRejected(t *testing.T) {
	var logs harness.SyncBuffer
	b := newTCP(t, "b", fleetKey, func(c *TCPConfig) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	good := dialRaw(t, b.Addr(), "a").frame(1, "payload")
	// One flipped bit in the header, the payload and the MAC.
	for i, pos := range []int{5, headerSize + 2, len(good) - 1} {
		r := dialRaw(t, b.Addr(), "a")
		f := r.frame(1, "payload")
		f[pos] ^= 0x01
		next := r.frame(2, "after")
		if _, err := r.c.Write(append(f, next...)); err != nil {
			t.Fatal(err)
		}
		harness.WaitUntil(t, "corrupted frame rejected", harness.DefaultPatience, func() bool { return b.Stats().FramesRejected == uint64(i+1) })
	}
	noFrame(t, b)
	if got := b.Stats().FramesReceived; got != 0 {
		t.Fatalf("received %d frames from corrupted streams", got)
	}
	// Three rejections, one warning: the rest are held back (and counted).
	if n := strings.Count(logs.String(), "rejected frame"); n != 1 {
		t.Fatalf("%d warnings for 3 rejected frames within lograte.Interval, want 1:\n%s", n, logs.String())
	}
}

func TestTCPTruncatedFrameRejected(t *testing.T) {
	b := newTCP(t, "b", fleetKey)
	r := dialRaw(t, b.Addr(), "a")
	f := r.frame(1, "a payload long enough to cut")
	if _, err := r.c.Write(f[:len(f)-5]); err != nil {
		t.Fatal(err)
	}
	r.c.Close()
	harness.WaitUntil(t, "truncated frame rejected", harness.DefaultPatience, func() bool { return b.Stats().FramesRejected == 1 })
	noFrame(t, b)
}

func TestTCPReplayRejected(t *testing.T) {
	b := newTCP(t, "b", fleetKey)
	r := dialRaw(t, b.Addr(), "a")
	f := r.frame(1, "once")
	if _, err := r.c.Write(append(bytes.Clone(f), f...)); err != nil {
		t.Fatal(err)
	}
	if got := recvFrame(t, b); string(got.Data) != "once" {
		t.Fatalf("got %q", got.Data)
	}
	harness.WaitUntil(t, "replayed frame rejected", harness.DefaultPatience, func() bool { return b.Stats().FramesRejected == 1 })
	noFrame(t, b)

	// A frame recorded on one connection is refused on another (new nonce).
	r2 := dialRaw(t, b.Addr(), "a")
	if _, err := r2.c.Write(f); err != nil {
		t.Fatal(err)
	}
	harness.WaitUntil(t, "cross-connection replay rejected", harness.DefaultPatience, func() bool { return b.Stats().FramesRejected == 2 })
	noFrame(t, b)
}

func TestTCPQueueFull(t *testing.T) {
	// Nobody listens at dead: the peer goroutine holds at most one frame
	// while it waits out its (long) backoff, so the queue fills.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	a := newTCP(t, "a", fleetKey, func(c *TCPConfig) { c.QueueLen = 4; c.MinBackoff = time.Hour })
	accepted, full := 0, 0
	for range 50 {
		switch err := a.Send(dead, []byte("x")); {
		case err == nil:
			accepted++
		case errors.Is(err, ErrQueueFull):
			full++
		default:
			t.Fatal(err)
		}
	}
	if accepted < 4 || accepted > 5 || full != 50-accepted {
		t.Fatalf("accepted %d, queue full %d; want 4 or 5 accepted", accepted, full)
	}
	if got := a.Stats().QueueFull; got != uint64(full) {
		t.Fatalf("Stats.QueueFull = %d, want %d", got, full)
	}
	if err := a.Send(dead, make([]byte, DefaultMaxFrameSize+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized frame: %v", err)
	}
}

func TestTCPBackpressureFromSlowReceiver(t *testing.T) {
	// b never reads Recv: its channel, then the socket buffers, then a's
	// queue fill, and Send must say so instead of blocking or growing.
	b := newTCP(t, "b", fleetKey, func(c *TCPConfig) { c.RecvLen = 1 })
	a := newTCP(t, "a", fleetKey, func(c *TCPConfig) { c.QueueLen = 8 })
	frame := make([]byte, 64<<10)
	for i := 0; ; i++ {
		err := a.Send(b.Addr(), frame)
		if errors.Is(err, ErrQueueFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 1_000_000 {
			t.Fatal("64 GiB queued without backpressure")
		}
		if i%64 == 63 {
			time.Sleep(time.Millisecond) // let the writer drain into the socket
		}
	}
}

func TestTCPReconnectAfterPeerRestart(t *testing.T) {
	a := newTCP(t, "a", fleetKey, func(c *TCPConfig) { c.MinBackoff = 10 * time.Millisecond; c.MaxBackoff = 50 * time.Millisecond })
	b := newTCP(t, "b", fleetKey)
	addr := b.Addr()
	if err := a.Send(addr, []byte("before")); err != nil {
		t.Fatal(err)
	}
	if f := recvFrame(t, b); string(f.Data) != "before" {
		t.Fatalf("got %q", f.Data)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := newTCP(t, "b", fleetKey, func(c *TCPConfig) { c.ListenAddr = addr })
	// Frames written into the dead connection are lost; a keeps sending
	// until one arrives over a new connection.
	for i := 0; ; i++ {
		if err := a.Send(addr, []byte("after")); err != nil && !errors.Is(err, ErrQueueFull) {
			t.Fatal(err)
		}
		select {
		case f := <-b2.Recv():
			if string(f.Data) != "after" || f.From != "a" {
				t.Fatalf("got %q from %q", f.Data, f.From)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
		if i > 2000 {
			t.Fatal("no frame reached the restarted peer")
		}
	}
}

func TestTCPIdlePeerRetired(t *testing.T) {
	a := newTCP(t, "a", fleetKey, func(c *TCPConfig) { c.IdleTimeout = 20 * time.Millisecond })
	b := newTCP(t, "b", fleetKey)
	if err := a.Send(b.Addr(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	recvFrame(t, b)
	harness.WaitUntil(t, "idle peer retired", harness.DefaultPatience, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.peers) == 0 && len(a.conns) == 0
	})
	if err := a.Send(b.Addr(), []byte("y")); err != nil {
		t.Fatal(err)
	}
	if f := recvFrame(t, b); string(f.Data) != "y" {
		t.Fatalf("got %q", f.Data)
	}
}

func TestTCPClose(t *testing.T) {
	a := newTCP(t, "a", fleetKey)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Send("127.0.0.1:1", []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if _, ok := <-a.Recv(); ok {
		t.Fatal("Recv open after Close")
	}
}

func TestTCPMaxInbound(t *testing.T) {
	b := newTCP(t, "b", fleetKey, func(c *TCPConfig) { c.MaxInbound = 1 })
	challenge := func() error {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		var ch [challengeSize]byte
		_, err = io.ReadFull(c, ch[:])
		return err
	}
	if err := challenge(); err != nil {
		t.Fatalf("first connection: %v", err)
	}
	if err := challenge(); err == nil {
		t.Fatal("second connection served beyond MaxInbound=1")
	}
}
