package proxy

import (
	"context"
	"hash/fnv"
	"slices"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// clusterServer answers MemberList with herald's own client URLs and
// forwards membership changes to the upstream cluster.
//
// A clientv3 with AutoSyncInterval replaces its endpoints with the client
// URLs that MemberList returns; if herald passed etcd's list through, such a
// client would walk past herald straight to etcd. etcd's grpc-proxy answers
// the same way when it has an advertised client URL.
type clusterServer struct {
	pb.UnimplementedClusterServer
	cluster pb.ClusterClient
	members func() []*pb.Member
}

func (s *clusterServer) MemberList(ctx context.Context, r *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	// Ask upstream anyway: its header (cluster id, revision, raft term) is
	// the one a client expects, and an unreachable upstream must show.
	resp, err := retryRead(outgoing(ctx), func(ctx context.Context) (*pb.MemberListResponse, error) {
		return s.cluster.MemberList(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	resp.Members = s.members()
	return resp, nil
}

func (s *clusterServer) MemberAdd(ctx context.Context, r *pb.MemberAddRequest) (*pb.MemberAddResponse, error) {
	return s.cluster.MemberAdd(outgoing(ctx), r)
}

func (s *clusterServer) MemberRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	return s.cluster.MemberRemove(outgoing(ctx), r)
}

func (s *clusterServer) MemberUpdate(ctx context.Context, r *pb.MemberUpdateRequest) (*pb.MemberUpdateResponse, error) {
	return s.cluster.MemberUpdate(outgoing(ctx), r)
}

func (s *clusterServer) MemberPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	return s.cluster.MemberPromote(outgoing(ctx), r)
}

// selfMember describes one herald as a cluster member: a stable ID derived
// from its name, no peer URLs, its advertised client URLs.
func selfMember(name string, clientURLs []string) *pb.Member {
	h := fnv.New64a()
	h.Write([]byte("herald/" + name))
	return &pb.Member{ID: h.Sum64(), Name: name, ClientURLs: clientURLs}
}

// FleetMember is a herald of the fleet, as MemberList shows it.
type FleetMember struct {
	Name       string
	ClientURLs []string
}

// fleetAsMembers lists the fleet, sorted by name, with this herald in it
// even before membership has reported it.
func fleetAsMembers(self string, selfURLs []string, fleet []FleetMember) []*pb.Member {
	out := []*pb.Member{selfMember(self, selfURLs)}
	for _, m := range fleet {
		if m.Name != self {
			out = append(out, selfMember(m.Name, m.ClientURLs))
		}
	}
	slices.SortFunc(out, func(a, b *pb.Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}
