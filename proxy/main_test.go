package proxy_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/heraldproj/herald/tests/harness"
)

// TestMain fails the package if a goroutine outlives the tests: a stopped
// Server must have stopped everything it started (streams and their
// relays, the health monitor), and a stopped test herald (herald.stop)
// what its caller owns beside it (the background start, the lease
// offloader, the fan-out hub).
//
// Goroutines of net/http are etcd's: package proxy does not use net/http,
// but the embedded etcd members' peers ask each other over HTTP (rafthttp,
// the version monitor), and a member that stops can leave a keep-alive
// connection of that client, and the server's end of it, open.
func TestMain(m *testing.M) {
	harness.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
		goleak.IgnoreAnyFunction("net/http.(*connReader).backgroundRead"),
	)
}
