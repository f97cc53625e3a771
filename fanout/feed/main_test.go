package feed

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
	"github.com/heraldproj/herald/upstream/etcd"
)

// One etcd member for the package's tests; each test uses prefixes of its
// own (unique across -count runs).
var (
	testEtcd *etcd.Client
	prefixN  atomic.Int64
)

// TestMain runs the tests against one embedded etcd member and then checks,
// with goleak, that every goroutine the package started is gone, the
// member's included.
func TestMain(m *testing.M) { harness.VerifyTestMain(withEtcd{m}) }

// withEtcd starts the member, runs the tests, stops the member and waits
// for the goroutines of its connections to end (VerifyTestMain judges).
type withEtcd struct{ m *testing.M }

func (w withEtcd) Run() int {
	code, err := w.run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "feed tests:", err)
		return 1
	}
	if code == 0 {
		_ = harness.FindLeaks() // the verdict is VerifyTestMain's
	}
	return code
}

func (w withEtcd) run() (int, error) {
	var member embedded.Shared
	defer member.Close()
	endpoint, err := member.Start()
	if err != nil {
		return 0, err
	}
	testEtcd, err = etcd.Dial(etcd.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return 0, err
	}
	defer testEtcd.Close()
	return w.m.Run(), nil
}
