package proxy

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/version"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/upstream"
)

// localMaintenance serves Maintenance in front of an upstream that is not
// etcd (no upstream.Forwarder): Status and the alarm list answer for
// herald, so that `etcdctl endpoint status` and `endpoint health` work;
// every other call is refused with codes.Unimplemented (forwardConn).
type localMaintenance struct {
	maintenanceServer
	members upstream.Members
}

// Status describes herald over its upstream: the etcd API version herald
// speaks, the upstream's identity and revision (as raft index: the
// revision is the only log position a non-etcd upstream has), and no
// database of its own (size 0).
func (s *localMaintenance) Status(ctx context.Context, _ *pb.StatusRequest) (*pb.StatusResponse, error) {
	resp, err := s.members.MemberList(outgoing(ctx), &pb.MemberListRequest{})
	if err != nil {
		return nil, err
	}
	h := resp.Header
	return &pb.StatusResponse{
		Header: h, Version: version.Version, StorageVersion: version.Version,
		Leader: h.MemberId, RaftIndex: uint64(h.Revision), RaftAppliedIndex: uint64(h.Revision),
	}, nil
}

// Alarm lists no alarm (the upstream has none etcd would raise); raising
// or clearing one is refused.
func (s *localMaintenance) Alarm(ctx context.Context, r *pb.AlarmRequest) (*pb.AlarmResponse, error) {
	if r.Action != pb.AlarmRequest_GET {
		return nil, status.Error(codes.Unimplemented, "herald: raising or clearing alarms needs an etcd upstream")
	}
	resp, err := s.members.MemberList(outgoing(ctx), &pb.MemberListRequest{})
	if err != nil {
		return nil, err
	}
	return &pb.AlarmResponse{Header: resp.Header}, nil
}
