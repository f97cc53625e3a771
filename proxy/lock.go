package proxy

import (
	"context"

	"go.etcd.io/etcd/server/v3/etcdserver/api/v3lock/v3lockpb"
)

// lockServer forwards etcd's v3lock service.
type lockServer struct {
	v3lockpb.UnimplementedLockServer
	l v3lockpb.LockClient
}

func (s *lockServer) Lock(ctx context.Context, r *v3lockpb.LockRequest) (*v3lockpb.LockResponse, error) {
	return s.l.Lock(outgoing(ctx), r)
}

func (s *lockServer) Unlock(ctx context.Context, r *v3lockpb.UnlockRequest) (*v3lockpb.UnlockResponse, error) {
	return s.l.Unlock(outgoing(ctx), r)
}
