package relay

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream/etcd"
)

// The etcd member every test of the package shares (starting one takes
// about a second); started by the first test that needs it, stopped by
// TestMain.
var shared struct {
	once sync.Once
	emb  *etcd.Embedded
	dir  string
	addr string
	err  error
}

// etcdAddr returns the host:port of the shared etcd member.
func etcdAddr(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "herald-relay-test-"); shared.err != nil {
			return
		}
		shared.emb, shared.err = etcd.StartEmbedded(etcd.EmbeddedConfig{
			DataDir:    filepath.Join(shared.dir, "data"),
			ClientAddr: harness.FreeAddr(t),
			PeerAddr:   harness.FreeAddr(t),
			LogLevel:   "error",
		})
		if shared.err == nil {
			shared.addr = strings.TrimPrefix(shared.emb.Endpoint(), "http://")
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.addr
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.emb != nil {
		shared.emb.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	if code == 0 {
		// Every goroutine the tests started, etcd's included, must be gone.
		if err := findLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// knownBackground are goroutines that libraries start once per process and
// never end; they are not leaks of the code under test (the list of
// tests/harness.VerifyTestMain).
var knownBackground = []goleak.Option{
	goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
	goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/resolver/dns.(*dnsResolver).watcher"),
}

// etcdLifetime are goroutines of the shared etcd member that live as long
// as it does but may start after StartEmbedded returns, during the first
// test; TestMain checks that they end with the member.
var etcdLifetime = []goleak.Option{
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/embed.(*serveCtx).startHandler.func1"),
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/embed.(*Etcd).startHandler.func1"),
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/etcdserver/api/v3rpc.monitorLeader.func1"),
}

// findLeaks waits up to 10 s for goroutines to end (goleak's own retries
// last about a second, less than a stream needs to be torn down on both
// sides under -race on two cores).
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
// running once every other cleanup of the test has run. Call it first.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := findLeaks(append(etcdLifetime, before)...); err != nil {
			t.Errorf("goroutines left by the test: %v", err)
		}
	})
}
