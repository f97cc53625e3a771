package harness

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// knownBackgroundGoroutines are started once per process by libraries the tests
// use and never end; they are not leaks of the code under test.
var knownBackgroundGoroutines = []goleak.Option{
	goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
	goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/resolver/dns.(*dnsResolver).watcher"),
}

// EmbeddedEtcdLifetime are goroutines of an in-process etcd member (one a
// package's TestMain shares between its tests) that live as long as the
// member does but may start during a test: its handlers of new
// connections. Pass them to VerifyNoLeaks; FindLeaks without them, after the
// member is closed, checks that they ended with it.
var EmbeddedEtcdLifetime = []goleak.Option{
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/embed.(*serveCtx).startHandler.func1"),
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/embed.(*Etcd).startHandler.func1"),
	goleak.IgnoreAnyFunction("go.etcd.io/etcd/server/v3/etcdserver/api/v3rpc.monitorLeader.func1"),
}

// leakPatience is how long FindLeaks waits for goroutines to end. goleak's
// own retries last about a second, less than a gRPC stream needs to be torn
// down on both sides under -race on two busy cores.
const leakPatience = 10 * time.Second

// FindLeaks waits until no goroutine is running but the known background
// ones and those opts ignore, and returns goleak's last finding if that
// does not happen within 10 s.
func FindLeaks(opts ...goleak.Option) error {
	opts = append(append([]goleak.Option{}, knownBackgroundGoroutines...), opts...)
	return Await(leakPatience, func() error { return goleak.Find(opts...) })
}

// VerifyNoLeaks fails t, when it ends, if goroutines started during the test
// are still running (FindLeaks). Call it first in an in-process test, before
// the code under test starts anything, so that it checks after every other
// cleanup of the test; extra options ignore goroutines the test knowingly
// leaves.
func VerifyNoLeaks(t *testing.T, extra ...goleak.Option) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := FindLeaks(append([]goleak.Option{before}, extra...)...); err != nil {
			t.Errorf("goroutines left by the test: %v", err)
		}
	})
}

// VerifyTestMain is goleak.VerifyTestMain with the harness's ignore list, for a
// package's TestMain (m is a *testing.M, or a wrapper of one whose Run also
// stops what the package's tests shared).
func VerifyTestMain(m goleak.TestingM, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, append(append([]goleak.Option{}, knownBackgroundGoroutines...), extra...)...)
}

// GoroutinesByCreator counts the running goroutines by the function that
// started them (the "created by" line of their stack; "main" for those
// without one). A test that starts N of something compares two counts: what
// it left behind shows as a creator whose count grew with N, whatever
// unrelated goroutines came and went meanwhile.
func GoroutinesByCreator() map[string]int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	counts := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		creator := "main"
		if _, after, ok := strings.Cut(g, "\ncreated by "); ok {
			creator, _, _ = strings.Cut(after, "\n")
			creator, _, _ = strings.Cut(creator, " in goroutine ")
		}
		counts[creator]++
	}
	return counts
}
