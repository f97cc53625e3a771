package relay

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/tests/harness/embedded"
)

// member is the etcd member every test of the package shares; started by
// the first test that needs it, stopped by TestMain.
var member embedded.Shared

// etcdAddr returns the host:port of the shared etcd member.
func etcdAddr(t *testing.T) string {
	t.Helper()
	return strings.TrimPrefix(member.Endpoint(t), "http://")
}

func TestMain(m *testing.M) {
	code := m.Run()
	member.Close()
	if code == 0 {
		// Every goroutine the tests started, etcd's included, must be gone.
		if err := harness.FindLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
