package membership

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

func TestMemberlistLogsGoToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := newStdLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
	l.Printf("[WARN] memberlist: Was able to connect to h2 over TCP but UDP probes failed")
	l.Printf("[DEBUG] memberlist: Stream connection from=127.0.0.1:1")
	l.Printf("[ERR] memberlist: Failed to send ping")
	l.Printf("unprefixed line")
	for i := range 100 { // a flood of one kind: one line
		l.Printf("[ERR] memberlist: failed to receive: no installed keys could decrypt the message from=127.0.0.1:%d", 40000+i)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=WARN msg="Was able to connect to h2 over TCP but UDP probes failed" component=memberlist`,
		`level=DEBUG msg="Stream connection from=127.0.0.1:1" component=memberlist`,
		`level=ERROR msg="Failed to send ping" component=memberlist`,
		`level=INFO msg="unprefixed line" component=memberlist`,
		`level=ERROR msg="failed to receive" component=memberlist detail="no installed keys could decrypt the message from=127.0.0.1:40000"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %s\nwant it to contain %s", i, lines[i], w)
		}
	}
}

// TestClosedSocketErrorsWhileClosingAreDebug: memberlist's gossip racing
// its own shutdown ("use of closed network connection") is not an error
// once Close has begun, and is one before.
func TestClosedSocketErrorsWhileClosingAreDebug(t *testing.T) {
	var buf bytes.Buffer
	var closing atomic.Bool
	l := newStdLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &closing)
	const line = "[ERR] memberlist: Failed to send gossip to 127.0.0.1:28036: write udp 127.0.0.1:28193->127.0.0.1:28036: use of closed network connection"
	l.Print(line)
	closing.Store(true)
	l.Print(line)
	l.Printf("[ERR] memberlist: Failed to send ping: write udp: connection refused")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{`level=ERROR msg="Failed to send gossip to 127.0.0.1:28036"`, `level=DEBUG msg="Failed to send gossip to 127.0.0.1:28036: write udp`, `level=ERROR msg="Failed to send ping"`}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %s\nwant it to contain %s", i, lines[i], w)
		}
	}
}
