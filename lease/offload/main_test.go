package offload

import (
	"context"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
	"github.com/heraldproj/herald/upstream/etcd"
)

// The etcd member that every driver test of the package shares (starting
// one takes about a second), started by the first test that needs it
// (etcdUp), and the test's own connection to it, for reading and writing at
// etcd directly. Each test works under a reserved prefix and keys of its
// own (see newFleet), unique across -count runs.
var (
	member embedded.Shared
	shared struct {
		once sync.Once
		cli  *etcd.Client
		err  error
	}
)

// etcdUp starts the shared member if no test has yet, and returns the
// test's own connection to it. Call it before verifyNoLeaks.
func etcdUp(t *testing.T) *etcd.Client {
	t.Helper()
	endpoint := member.Endpoint(t)
	shared.once.Do(func() {
		shared.cli, shared.err = etcd.Dial(etcd.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
		if shared.err != nil {
			return
		}
		// A first request brings the connection (and the member's handlers
		// for it) up before the test takes its goroutine snapshot.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, shared.err = shared.cli.Range(ctx, &pb.RangeRequest{Key: []byte("warm-up")})
	})
	if shared.err != nil {
		t.Fatalf("shared etcd: %v", shared.err)
	}
	return shared.cli
}

// TestMain runs the tests and then checks, with goleak, that every
// goroutine the package started is gone, the shared member's included.
func TestMain(m *testing.M) {
	harness.VerifyTestMain(withEtcd{m})
}

// withEtcd runs the tests, stops the shared member, and waits for the
// goroutines of every gRPC stream to be torn down on both sides (goleak's
// own retries last about half a second: less than that takes under -race on
// two cores). VerifyTestMain then judges.
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
