package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// sharedZK is the standalone ZooKeeper that the tests of one package share
// (a JVM takes seconds to start): started by the first test that asks,
// stopped by the package's TestMain.
var sharedZK struct {
	once sync.Once
	z    *ZooKeeper
	dir  string
	err  error
}

// SharedZooKeeper returns the package's shared standalone ZooKeeper,
// starting it on first use. Tests that share it keep apart by each using
// its own chroot. It skips t as StartZooKeeper does when the package is not
// installed; the package's TestMain must call StopSharedZooKeeper.
func SharedZooKeeper(t testing.TB) *ZooKeeper {
	t.Helper()
	java := requireZooKeeper(t)
	sharedZK.once.Do(func() {
		sharedZK.z, sharedZK.dir, sharedZK.err = launchSharedZooKeeper(java)
	})
	if sharedZK.err != nil {
		t.Fatalf("harness: shared zookeeper: %v", sharedZK.err)
	}
	return sharedZK.z
}

func launchSharedZooKeeper(java string) (*ZooKeeper, string, error) {
	addr, err := TakeFreeAddr()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "herald-zookeeper-")
	if err != nil {
		return nil, "", err
	}
	s := &ZooKeeperServer{id: 1, clientAddr: addr}
	cfg, err := writeZooKeeperConfig(dir, s, nil)
	if err != nil {
		return nil, dir, err
	}
	s.Proc = &Proc{name: "shared zookeeper", bin: java, args: zooKeeperArgs(cfg), logPath: filepath.Join(dir, "zookeeper.log")}
	if err := s.start(); err != nil {
		return nil, dir, err
	}
	if err := s.waitServing(); err != nil {
		s.Stop()
		return nil, dir, fmt.Errorf("%w; log tail:\n%s", err, s.LogTail(logTailLines))
	}
	return &ZooKeeper{servers: []*ZooKeeperServer{s}}, dir, nil
}

// StopSharedZooKeeper stops the shared ZooKeeper by PID, if a test started
// it, and removes its files. Call it from TestMain after m.Run.
func StopSharedZooKeeper() {
	if sharedZK.z != nil {
		sharedZK.z.Server(0).Stop()
	}
	if sharedZK.dir != "" {
		os.RemoveAll(sharedZK.dir)
	}
}
