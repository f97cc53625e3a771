package transport

import (
	"bufio"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"
)

func (t *TCP) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			t.log.Warn("transport: accept", "err", err)
			select {
			case <-time.After(50 * time.Millisecond):
			case <-t.ctx.Done():
				return
			}
			continue
		}
		if !t.track(c, true) {
			if t.ctx.Err() == nil {
				t.warn.Log(t.log, slog.LevelWarn, "transport: too many inbound connections, refusing", "remote", c.RemoteAddr(), "max", t.cfg.MaxInbound)
			}
			continue
		}
		t.wg.Add(1)
		go t.serve(c)
	}
}

// serve reads one inbound connection until it ends or sends a bad frame.
func (t *TCP) serve(c net.Conn) {
	defer t.wg.Done()
	defer t.untrack(c, true)
	var ch [challengeSize]byte
	copy(ch[:], magic[:])
	ch[2] = wireVersion
	nonce := ch[3:]
	rand.Read(nonce)
	c.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	if _, err := c.Write(ch[:]); err != nil {
		return
	}
	fr := &frameReader{r: bufio.NewReaderSize(c, 64<<10), key: t.key, maxPayload: t.cfg.MaxFrameSize}
	from, err := fr.readHello(nonce)
	if err != nil {
		t.reject(c, "", err)
		return
	}
	c.SetDeadline(time.Time{})
	for {
		data, err := fr.next()
		if err != nil {
			t.reject(c, from, err)
			return
		}
		select {
		case t.recv <- Frame{From: from, Data: data}:
			t.stats.received.Add(1)
		case <-t.ctx.Done():
			return
		}
	}
}

// reject counts and logs a frame that failed a check; a connection that
// simply ended is not counted.
func (t *TCP) reject(c net.Conn, from string, err error) {
	if !errors.Is(err, errReject) {
		if !errors.Is(err, io.EOF) && t.ctx.Err() == nil {
			t.log.Debug("transport: inbound connection ended", "remote", c.RemoteAddr(), "from", from, "err", err)
		}
		return
	}
	t.stats.rejected.Add(1)
	t.warn.Log(t.log, slog.LevelWarn, "transport: rejected frame, closing connection", "remote", c.RemoteAddr(), "from", from, "err", err)
}
