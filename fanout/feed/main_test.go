package feed

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
	"github.com/heraldproj/herald/upstream/etcd"
)

// One etcd member for the package's tests, started by the first test that
// needs it (inside m.Run: with -json, m.Run swaps os.Stderr, which the
// member's goroutines read), and a client of it; each test uses prefixes
// of its own (unique across -count runs).
var (
	member embedded.Shared
	client struct {
		once sync.Once
		cli  *etcd.Client
		err  error
	}
	prefixN atomic.Int64
)

// testEtcd returns the client of the package's member, starting both if no
// test has yet.
func testEtcd(t testing.TB) *etcd.Client {
	t.Helper()
	endpoint := member.Endpoint(t)
	client.once.Do(func() {
		client.cli, client.err = etcd.Dial(etcd.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	})
	if client.err != nil {
		t.Fatalf("shared etcd: %v", client.err)
	}
	return client.cli
}

// TestMain runs the tests and then checks, with goleak, that every
// goroutine the package started is gone, the member's included.
func TestMain(m *testing.M) { harness.VerifyTestMain(withEtcd{m}) }

// withEtcd runs the tests, stops the member and waits for the goroutines
// of its connections to end (VerifyTestMain judges).
type withEtcd struct{ m *testing.M }

func (w withEtcd) Run() int {
	code := w.m.Run()
	if client.cli != nil {
		if err := client.cli.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "feed tests: closing the client:", err)
		}
	}
	member.Close()
	if code == 0 {
		_ = harness.FindLeaks() // the verdict is VerifyTestMain's
	}
	return code
}
