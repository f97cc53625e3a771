package harness

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

var (
	portsMu     sync.Mutex
	portsHanded = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and that
// this process has not handed out before. Another process may still take it
// between now and the server's bind; servers that fail to start say so in
// their log.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("harness: free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsHanded[port] {
			portsHanded[port] = true
			return port
		}
	}
	t.Fatalf("harness: no unused free port after 100 tries")
	return 0
}

// FreeAddr returns "127.0.0.1:PORT" for a FreePort.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}
