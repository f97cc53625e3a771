package offload

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/upstream"
)

// asHerald is the offloader's Upstream: every call goes as herald's own
// etcd user (upstream.AsHerald), whatever context it was given, and never
// with a client's metadata. Only a Permit's probes ask etcd with a
// client's token, and they do not go through here.
type asHerald struct{ up Upstream }

func (h asHerald) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	return h.up.Range(upstream.AsHerald(ctx), r)
}

func (h asHerald) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	return h.up.Put(upstream.AsHerald(ctx), r)
}

func (h asHerald) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	return h.up.DeleteRange(upstream.AsHerald(ctx), r)
}

func (h asHerald) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	return h.up.Txn(upstream.AsHerald(ctx), r)
}

func (h asHerald) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	return h.up.Compact(upstream.AsHerald(ctx), r)
}

func (h asHerald) Watch(ctx context.Context) (upstream.WatchStream, error) {
	return h.up.Watch(upstream.AsHerald(ctx))
}

func (h asHerald) Grant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	return h.up.Grant(upstream.AsHerald(ctx), r)
}

func (h asHerald) Revoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	return h.up.Revoke(upstream.AsHerald(ctx), r)
}

func (h asHerald) TimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	return h.up.TimeToLive(upstream.AsHerald(ctx), r)
}

func (h asHerald) Leases(ctx context.Context, r *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	return h.up.Leases(upstream.AsHerald(ctx), r)
}

func (h asHerald) KeepAlive(ctx context.Context) (upstream.Keeper, error) {
	return h.up.KeepAlive(upstream.AsHerald(ctx))
}

func (h asHerald) MemberList(ctx context.Context, r *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	return h.up.MemberList(upstream.AsHerald(ctx), r)
}
