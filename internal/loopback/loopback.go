package loopback

import (
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3election"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3election/v3electionpb"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3lock"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3lock/v3lockpb"
	"go.uber.org/zap"
)

// Loopback runs etcd's own implementation of the v3lock and v3election
// services on a client connected to herald itself. etcd builds these
// services from KV, Lease and Watch calls (the concurrency package); served
// this way they work with herald's virtual leases, which etcd cannot see.
type Loopback struct {
	cli      *clientv3.Client
	Lock     v3lockpb.LockServer
	Election v3electionpb.ElectionServer
}

// Dial connects to herald's own client address (host:port).
func Dial(addr string) (*Loopback, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("loopback: client to %s: %w", addr, err)
	}
	return &Loopback{cli: cli, Lock: v3lock.NewLockServer(cli), Election: v3election.NewElectionServer(cli)}, nil
}

// Close closes the loopback client.
func (l *Loopback) Close() error { return l.cli.Close() }
