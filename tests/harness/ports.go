package harness

import (
	"errors"
	"fmt"
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
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// FreeAddr returns "127.0.0.1:PORT" for a FreePort.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

// TakeFreeAddr is FreeAddr for code that has no testing.TB (a TestMain
// that starts a server for the whole package).
func TakeFreeAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("harness: free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsHanded[port] {
			portsHanded[port] = true
			return port, nil
		}
	}
	return 0, errors.New("harness: no unused free port after 100 tries")
}
