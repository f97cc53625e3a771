package transport

import (
	"bufio"
	"fmt"
	"hash"
	"io"
	"net"
	"time"

	"github.com/heraldproj/herald/internal/backoff"
)

// peer owns the outbound connection to one address: one goroutine takes
// frames from q, dials when needed and writes them. A kept peer (Keep) is
// dialled without waiting for a frame and redialled when its connection
// breaks.
type peer struct {
	t      *TCP
	addr   string
	q      chan []byte
	kick   chan struct{} // Keep named this peer: dial now if not connected
	broken chan net.Conn // the listener closed this connection (watchClose)
	done   chan struct{} // closed when run returns

	// Owned by run.
	conn    net.Conn
	w       *bufio.Writer
	mac     hash.Hash
	seq     uint64
	buf     []byte
	backoff *backoff.Backoff // between failed dials; reset by a connect
	retry   *time.Timer      // a kept peer's next dial after a failed one; nil if none is due
}

// wake tells the goroutine that Keep named the peer; it never blocks.
func (p *peer) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *peer) run() {
	t := p.t
	defer t.wg.Done()
	defer close(p.done)
	defer p.disconnect()
	idle := time.NewTimer(t.cfg.IdleTimeout)
	defer idle.Stop()
	defer p.stopRetry()
	for {
		var frame []byte
		var retry <-chan time.Time
		if p.retry != nil {
			retry = p.retry.C
		}
		select {
		case frame = <-p.q:
		case <-t.ctx.Done():
			return
		case <-idle.C:
			if p.retire() {
				return
			}
			idle.Reset(t.cfg.IdleTimeout)
			continue
		case <-p.kick:
			p.dialAhead()
			continue
		case <-retry:
			p.retry = nil
			p.dialAhead()
			continue
		case c := <-p.broken:
			if c == p.conn {
				t.log.Debug("transport: peer closed the connection, redialling if kept", "peer", p.addr)
				p.disconnect()
				p.dialAhead()
			}
			continue
		}
		if p.conn == nil {
			if err := p.connect(); err != nil {
				t.stats.dialsFailed.Add(1)
				t.stats.lost.Add(1)
				pause := p.backoff.Next()
				t.log.Debug("transport: dial failed", "peer", p.addr, "err", err, "backoff", pause)
				if !p.sleep(pause) {
					return
				}
				continue
			}
		}
		n, err := p.write(frame)
		if err != nil {
			t.stats.lost.Add(uint64(n))
			t.log.Debug("transport: write failed, will redial", "peer", p.addr, "err", err, "lost", n)
			p.disconnect()
		}
		idle.Reset(t.cfg.IdleTimeout) // no stale expiry survives Reset (Go ≥ 1.23 timers)
	}
}

// dialAhead connects a kept peer that has no connection and no dial due
// after a failure; a failed dial is retried after the backoff.
func (p *peer) dialAhead() {
	t := p.t
	if p.conn != nil || p.retry != nil || !t.isKept(p.addr) {
		return
	}
	if err := p.connect(); err != nil {
		t.stats.dialsFailed.Add(1)
		pause := p.backoff.Next()
		t.log.Debug("transport: dial ahead failed", "peer", p.addr, "err", err, "backoff", pause)
		p.retry = time.NewTimer(pause)
		return
	}
	t.stats.dialsAhead.Add(1)
}

func (p *peer) stopRetry() {
	if p.retry != nil {
		p.retry.Stop()
		p.retry = nil
	}
}

// write sends frame and whatever else is queued, then flushes. On error it
// returns the number of frames that may not have been sent.
func (p *peer) write(frame []byte) (int, error) {
	t := p.t
	p.conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	n := 0
	for {
		p.seq++
		p.buf = appendFrame(p.buf[:0], p.mac, typeData, p.seq, frame)
		n++
		if _, err := p.w.Write(p.buf); err != nil {
			return n, err
		}
		if cap(p.buf) > 256<<10 {
			p.buf = nil // don't pin one huge frame's buffer
		}
		select {
		case frame = <-p.q:
			continue
		default:
		}
		break
	}
	if err := p.w.Flush(); err != nil {
		return n, err
	}
	t.stats.sent.Add(uint64(n))
	return 0, nil
}

// connect dials the peer and performs the handshake: read the listener's
// nonce, send an authenticated hello with our id.
func (p *peer) connect() error {
	t := p.t
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	c, err := d.DialContext(t.ctx, "tcp", p.addr)
	if err != nil {
		return fmt.Errorf("transport: dial %s: %w", p.addr, err)
	}
	if !t.track(c, false) {
		return ErrClosed
	}
	c.SetDeadline(time.Now().Add(t.cfg.DialTimeout))
	var ch [challengeSize]byte
	if _, err := io.ReadFull(c, ch[:]); err != nil {
		t.untrack(c, false)
		return fmt.Errorf("transport: handshake with %s: %w", p.addr, err)
	}
	if ch[0] != magic[0] || ch[1] != magic[1] || ch[2] != wireVersion {
		t.untrack(c, false)
		return fmt.Errorf("transport: handshake with %s: not a herald gossip listener", p.addr)
	}
	mac := connMAC(t.key, ch[3:], t.cfg.ID)
	hello := appendFrame(nil, mac, typeHello, 0, []byte(t.cfg.ID))
	if _, err := c.Write(hello); err != nil {
		t.untrack(c, false)
		return fmt.Errorf("transport: handshake with %s: %w", p.addr, err)
	}
	c.SetDeadline(time.Time{})
	p.conn, p.w, p.mac, p.seq = c, bufio.NewWriterSize(c, 64<<10), mac, 0
	p.backoff.Reset()
	t.stats.dials.Add(1)
	t.setLinked(p.addr, true)
	t.wg.Add(1)
	go p.watchClose(c)
	return nil
}

// watchClose reads c until the listener closes it (it writes nothing after
// its nonce) or this side does, and then tells run, which redials a kept
// peer. Without it a kept connection to a restarted peer would look open
// until the next write failed, and that frame would be lost.
func (p *peer) watchClose(c net.Conn) {
	defer p.t.wg.Done()
	var b [1]byte
	c.Read(b[:])
	select {
	case p.broken <- c:
	case <-p.done:
	}
}

func (p *peer) disconnect() {
	if p.conn != nil {
		p.t.setLinked(p.addr, false)
		p.t.untrack(p.conn, false)
		p.conn, p.w, p.mac = nil, nil, nil
	}
}

// sleep waits d before the next dial. It reports false if the transport
// closed meanwhile.
func (p *peer) sleep(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-p.t.ctx.Done():
		return false
	}
}

// retire removes an idle peer so that its goroutine and connection go away.
// Send holds t.mu while it enqueues, so after the check below no frame can
// be queued to p.
func (p *peer) retire() bool {
	t := p.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p.q) > 0 || t.closed || t.kept[p.addr] {
		return t.closed
	}
	delete(t.peers, p.addr)
	return true
}
