package etcd

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// The KV calls pass etcd's requests and answers as they are.

func (c *Client) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	return c.kv.Range(ctx, r)
}

func (c *Client) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	return c.kv.Put(ctx, r)
}

func (c *Client) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	return c.kv.DeleteRange(ctx, r)
}

func (c *Client) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	return c.kv.Txn(ctx, r)
}

func (c *Client) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	return c.kv.Compact(ctx, r)
}

// MemberList is etcd's, as it is.
func (c *Client) MemberList(ctx context.Context, r *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	return c.cluster.MemberList(ctx, r)
}
