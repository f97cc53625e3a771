// Package embedded starts in-process etcd members (internal/embedetcd)
// for the unit tests of herald's packages: one for a test alone
// (Start), or one that a package's tests share (Shared), which its TestMain
// stops after the tests. Every member listens on free loopback ports, keeps
// its data in a temporary directory and logs errors only.
//
// It lives beside tests/harness, not in it, so that the harness stays free
// of etcd's server packages.
package embedded

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/heraldproj/herald/internal/embedetcd"
	"github.com/heraldproj/herald/tests/harness"
)

// TestBcryptCost is the members' --bcrypt-cost: bcrypt's least. At etcd's
// default (10) every Authenticate hashes for about a second under the race
// detector, and the tests that enable auth would time out under load.
const TestBcryptCost = 4

// Start starts a member for t alone, with its data in t's temporary
// directory; it stops when t ends.
func Start(t testing.TB) *embedetcd.Member {
	t.Helper()
	emb, err := start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	return emb
}

func start(dir string) (*embedetcd.Member, error) {
	clientAddr, err := harness.TakeFreeAddr()
	if err != nil {
		return nil, err
	}
	peerAddr, err := harness.TakeFreeAddr()
	if err != nil {
		return nil, err
	}
	return embedetcd.Start(embedetcd.Config{
		DataDir: filepath.Join(dir, "data"), ClientAddr: clientAddr, PeerAddr: peerAddr,
		BcryptCost: TestBcryptCost,
	})
}

// Shared is a member that the tests of a package share (starting one takes
// about a second): the first test that asks for it starts it, and the
// package's TestMain closes it after the tests, before checking for leaks.
// The zero value is ready to use.
type Shared struct {
	once sync.Once
	dir  string
	emb  *embedetcd.Member
	err  error
}

// Start starts the member if nobody has yet, and returns its client URL
// (http://host:port). It is for a TestMain that needs the member before
// any test; tests call Endpoint.
func (s *Shared) Start() (string, error) {
	s.once.Do(func() {
		if s.dir, s.err = os.MkdirTemp("", "herald-etcd-"); s.err != nil {
			return
		}
		s.emb, s.err = start(s.dir)
	})
	if s.err != nil {
		return "", s.err
	}
	return s.emb.Endpoint(), nil
}

// Endpoint is Start for a test: it fails t if the member cannot start.
func (s *Shared) Endpoint(t testing.TB) string {
	t.Helper()
	ep, err := s.Start()
	if err != nil {
		t.Fatalf("shared etcd: %v", err)
	}
	return ep
}

// Close stops the member, if it was started, and removes its data.
func (s *Shared) Close() {
	if s.emb != nil {
		s.emb.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
