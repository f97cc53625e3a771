package proxy

import (
	"context"
	"sync/atomic"

	"go.etcd.io/etcd/server/v3/etcdserver/api/v3lock/v3lockpb"
)

// lockServer serves etcd's v3lock service, like electionServer: by etcd's
// own implementation on a loopback client once installed, by forwarding
// until then.
type lockServer struct {
	v3lockpb.UnimplementedLockServer
	l     v3lockpb.LockClient
	local atomic.Pointer[v3lockpb.LockServer]
}

func (s *lockServer) Lock(ctx context.Context, r *v3lockpb.LockRequest) (*v3lockpb.LockResponse, error) {
	if l := s.local.Load(); l != nil {
		return (*l).Lock(outgoing(ctx), r)
	}
	return s.l.Lock(outgoing(ctx), r)
}

func (s *lockServer) Unlock(ctx context.Context, r *v3lockpb.UnlockRequest) (*v3lockpb.UnlockResponse, error) {
	if l := s.local.Load(); l != nil {
		return (*l).Unlock(outgoing(ctx), r)
	}
	return s.l.Unlock(outgoing(ctx), r)
}
