package harness

import (
	"testing"

	"go.uber.org/goleak"
)

// knownBackgroundGoroutines are started once per process by libraries the tests
// use and never end; they are not leaks of the code under test.
var knownBackgroundGoroutines = []goleak.Option{
	goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
	goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/resolver/dns.(*dnsResolver).watcher"),
}

// VerifyNoLeaks fails t, when it ends, if goroutines started during the test
// are still running (after goleak's retries). Call it first in an in-process
// test, before the code under test starts anything; extra options ignore
// goroutines the test knowingly leaves.
func VerifyNoLeaks(t *testing.T, extra ...goleak.Option) {
	t.Helper()
	opts := append([]goleak.Option{goleak.IgnoreCurrent()}, knownBackgroundGoroutines...)
	opts = append(opts, extra...)
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// VerifyTestMain is goleak.VerifyTestMain with the harness's ignore list, for a
// package's TestMain.
func VerifyTestMain(m *testing.M, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, append(append([]goleak.Option{}, knownBackgroundGoroutines...), extra...)...)
}
