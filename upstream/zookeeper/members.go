package zookeeper

import (
	"context"
	"hash/fnv"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/upstream"
)

// MemberList shows the ensemble's servers as etcd members: the proxy puts
// herald's own client URLs on them (clients talk to herald, never to
// ZooKeeper), and the lease ID allocator keeps clear of their IDs. An ID
// is a hash of the server's address: stable across restarts and heralds.
func (c *Client) MemberList(ctx context.Context, _ *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	if _, err := c.currentRevision(true); err != nil {
		return nil, grpcError(ctx, "member list", err)
	}
	resp := &pb.MemberListResponse{Header: c.header()}
	for _, s := range c.target.Servers {
		resp.Members = append(resp.Members, &pb.Member{ID: memberID(s), Name: s, ClientURLs: []string{Scheme + "://" + s}})
	}
	return resp, nil
}

// header is the header of the lease and member answers: the ensemble's
// identity and the last revision this client saw.
func (c *Client) header() *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: c.clusterID, MemberId: memberID(c.target.Servers[0]), Revision: c.seenRev.Load()}
}

func memberID(server string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(server))
	return h.Sum64() | 1 // never 0: etcd has no member 0
}

// clusterIDOf hashes the ensemble's servers (in any order) and the chroot.
func clusterIDOf(t Target) uint64 {
	servers := slices.Sorted(slices.Values(t.Servers))
	h := fnv.New64a()
	for _, s := range servers {
		h.Write([]byte(s + ","))
	}
	h.Write([]byte(t.Chroot))
	return h.Sum64() | 1
}

// The adapter serves the whole seam.
var _ upstream.Upstream = (*Client)(nil)
