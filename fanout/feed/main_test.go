package feed

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
	"github.com/heraldproj/herald/upstream/etcd"
)

// One etcd member for the package's tests, started by the first test that
// needs it (etcdUp); each test uses prefixes of its own (unique across
// -count runs).
var (
	member embedded.Shared
	shared struct {
		once sync.Once
		cli  *etcd.Client
		err  error
	}
	prefixN atomic.Int64
)

// etcdUp returns the connection to the package's member, starting both the
// first time. Not from TestMain: the member's serving goroutines read
// os.Stderr (logrus, in etcd's websocket proxy) while testing.M.Run sets it
// up, which the race detector reports.
func etcdUp(t testing.TB) *etcd.Client {
	t.Helper()
	endpoint := member.Endpoint(t)
	shared.once.Do(func() {
		shared.cli, shared.err = etcd.Dial(etcd.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	})
	if shared.err != nil {
		t.Fatalf("shared etcd: %v", shared.err)
	}
	return shared.cli
}

// TestMain runs the tests against one embedded etcd member and then checks,
// with goleak, that every goroutine the package started is gone, the
// member's included.
func TestMain(m *testing.M) { harness.VerifyTestMain(withEtcd{m}) }

// withEtcd runs the tests, then closes the connection and stops the member
// and waits for the goroutines of its connections to end (VerifyTestMain
// judges).
type withEtcd struct{ m *testing.M }

func (w withEtcd) Run() int {
	code := w.m.Run()
	if shared.cli != nil {
		shared.cli.Close()
	}
	member.Close()
	if code == 0 {
		_ = harness.FindLeaks() // the verdict is VerifyTestMain's
	}
	return code
}
