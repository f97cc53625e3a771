package proxy

import (
	"context"
	"slices"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/internal/fleet"
	"github.com/heraldproj/herald/upstream"
)

// clusterServer serves the Cluster service: MemberList from the upstream's
// members, member changes forwarded to etcd (upstream.Forwarder), both
// showing etcd's members with the heralds' client URLs in place of etcd's
// own.
//
// A member's ID, name, peer URLs and learner flag are etcd's, so a member
// update, remove or promote by an ID taken from the list works. Its client
// URLs are heralds': a clientv3 with AutoSyncInterval replaces its
// endpoints with the client URLs that MemberList returns, and with etcd's
// URLs such a client would walk past herald straight to etcd.
type clusterServer struct {
	pb.UnimplementedClusterServer
	members upstream.Members
	cluster pb.ClusterClient // member changes, forwarded
	heralds func() []FleetMember
}

func (s *clusterServer) MemberList(ctx context.Context, r *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	resp, err := retryRead(outgoing(ctx), func(ctx context.Context) (*pb.MemberListResponse, error) {
		return s.members.MemberList(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	showHeralds(resp.Members, s.heralds())
	return resp, nil
}

func (s *clusterServer) MemberAdd(ctx context.Context, r *pb.MemberAddRequest) (*pb.MemberAddResponse, error) {
	resp, err := s.cluster.MemberAdd(outgoing(ctx), r)
	if err == nil {
		showHeralds(resp.Members, s.heralds())
	}
	return resp, err
}

func (s *clusterServer) MemberRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	resp, err := s.cluster.MemberRemove(outgoing(ctx), r)
	if err == nil {
		showHeralds(resp.Members, s.heralds())
	}
	return resp, err
}

func (s *clusterServer) MemberUpdate(ctx context.Context, r *pb.MemberUpdateRequest) (*pb.MemberUpdateResponse, error) {
	resp, err := s.cluster.MemberUpdate(outgoing(ctx), r)
	if err == nil {
		showHeralds(resp.Members, s.heralds())
	}
	return resp, err
}

func (s *clusterServer) MemberPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	resp, err := s.cluster.MemberPromote(outgoing(ctx), r)
	if err == nil {
		showHeralds(resp.Members, s.heralds())
	}
	return resp, err
}

// showHeralds replaces the client URLs of etcd's started members with the
// heralds', dealt out in turn: with at least as many heralds as members,
// member i gets heralds i, i+m, i+2m, … (by name); with fewer, member i
// gets herald i mod h. Every herald appears and every started member has a
// client URL, whatever the sizes. A member not started yet (no name, no
// client URLs) is left as etcd shows it.
func showHeralds(members []*pb.Member, heralds []FleetMember) {
	var started []*pb.Member
	for _, m := range members {
		if m.Name != "" || len(m.ClientURLs) > 0 {
			m.ClientURLs = nil
			started = append(started, m)
		}
	}
	if len(started) == 0 || len(heralds) == 0 {
		return
	}
	for i := range max(len(started), len(heralds)) {
		m := started[i%len(started)]
		m.ClientURLs = append(m.ClientURLs, heralds[i%len(heralds)].ClientURLs...)
	}
	for _, m := range started {
		slices.Sort(m.ClientURLs)
		m.ClientURLs = slices.Compact(m.ClientURLs)
	}
}

// FleetMember is a herald of the fleet: its name and advertised client URLs.
type FleetMember = fleet.Member

// fleetSorted lists the fleet by name, with this herald in it even before
// membership has reported it.
func fleetSorted(self string, selfURLs []string, fleet []FleetMember) []FleetMember {
	out := []FleetMember{{Name: self, ClientURLs: selfURLs}}
	for _, m := range fleet {
		if m.Name != self {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b FleetMember) int { return strings.Compare(a.Name, b.Name) })
	return out
}
