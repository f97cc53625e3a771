package offload

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/goleak"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream/etcd"
)

// The etcd member that every driver test of the package shares (starting
// one takes about a second), started by the first test that needs it
// (etcdUp), and the test's own connection to it, for reading and writing at
// etcd directly. Each test works under a reserved prefix and keys of its
// own (see newFleet), unique across -count runs.
var shared struct {
	once sync.Once
	dir  string
	emb  *etcd.Embedded
	cli  *etcd.Client
	err  error
}

// etcdUp starts the shared member if no test has yet, and returns the
// test's own connection to it. Call it before verifyNoLeaks.
func etcdUp(t *testing.T) *etcd.Client {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "herald-offload-test-"); shared.err != nil {
			return
		}
		shared.emb, shared.err = etcd.StartEmbedded(etcd.EmbeddedConfig{
			DataDir:    filepath.Join(shared.dir, "data"),
			ClientAddr: harness.FreeAddr(t),
			PeerAddr:   harness.FreeAddr(t),
			LogLevel:   "error",
		})
		if shared.err != nil {
			return
		}
		shared.cli, shared.err = etcd.Dial(etcd.Config{Endpoints: []string{shared.emb.Endpoint()}, DialTimeout: 5 * time.Second})
		if shared.err != nil {
			return
		}
		// A first request brings the connection (and the member's handlers
		// for it) up before the test takes its goroutine snapshot.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, shared.err = shared.cli.KV().Range(ctx, &pb.RangeRequest{Key: []byte("warm-up")})
	})
	if shared.err != nil {
		t.Fatalf("shared etcd: %v", shared.err)
	}
	return shared.cli
}

// TestMain runs the tests and then checks, with goleak, that every
// goroutine the package started is gone, the shared member's included.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(withEtcd{m}, knownBackground...)
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
	if shared.emb != nil {
		shared.emb.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	if code == 0 {
		_ = findLeaks() // the verdict is VerifyTestMain's
	}
	return code
}

// knownBackground are goroutines that libraries start once per process and
// never end; they are not leaks of the code under test (the list of
// tests/harness.VerifyTestMain).
var knownBackground = []goleak.Option{
	goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
	goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/resolver/dns.(*dnsResolver).watcher"),
}

// etcdLifetime are goroutines of the shared member that live as long as it
// does but may start during a test (its handlers of new connections);
// TestMain checks that they end with the member.
var etcdLifetime = []goleak.Option{
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/embed.(*serveCtx).startHandler.func1"),
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/embed.(*Etcd).startHandler.func1"),
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/etcdserver/api/v3rpc.monitorLeader.func1"),
}

// findLeaks waits up to 10 s for goroutines to end and returns goleak's
// last finding.
func findLeaks(opts ...goleak.Option) error {
	opts = append(append([]goleak.Option{}, knownBackground...), opts...)
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = goleak.Find(opts...); err == nil {
			return nil
		}
	}
	return err
}

// verifyNoLeaks fails t if goroutines started during the test are still
// running once every other cleanup of the test has run (the Offloaders'
// Close among them). Call it first.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := findLeaks(append(etcdLifetime, before)...); err != nil {
			t.Errorf("goroutines left by the test: %v", err)
		}
	})
}
