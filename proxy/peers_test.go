package proxy

import (
	"errors"
	"testing"

	"google.golang.org/grpc/connectivity"
)

// After Close, conn makes no connection (it would never be closed) and
// the connections made before are closed.
func TestPeersCloseRefusesNewConns(t *testing.T) {
	p := newPeers("self", nil)
	c, err := p.conn("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.conn("http://127.0.0.1:1")
	if err != nil || again != c {
		t.Fatalf("second conn: %v, same connection %v", err, again == c)
	}
	p.Close()
	if st := c.GetState(); st != connectivity.Shutdown {
		t.Fatalf("connection state after Close: %v, want Shutdown", st)
	}
	if _, err := p.conn("http://127.0.0.1:2"); !errors.Is(err, errPeersClosed) {
		t.Fatalf("conn after Close: %v, want errPeersClosed", err)
	}
	p.Close() // idempotent
}
