package relay

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/tests/harness"
)

// The etcd member every test of the package shares (starting one takes
// about a second); started by the first test that needs it, stopped by
// TestMain.
var shared struct {
	once sync.Once
	emb  *embedetcd.Member
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
		shared.emb, shared.err = embedetcd.Start(embedetcd.Config{
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
		if err := harness.FindLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
