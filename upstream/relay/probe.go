package relay

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// HealthProbe returns the probe etcd's own /health makes, over direct: a
// linearizable Range of the key "health", which only a member in contact
// with a quorum answers. Pass the direct connection, never the Switch.
func HealthProbe(direct grpc.ClientConnInterface) func(context.Context) error {
	kv := pb.NewKVClient(direct)
	return func(ctx context.Context) error {
		_, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("health")})
		return err
	}
}

// PathProbe returns a cheap probe of the path to etcd over direct: a
// serializable count of one key (no raft round, answered by the member
// itself). Any answer from etcd, an error included (no permission, no auth
// token), proves the path; only a transport failure or a timeout does not.
// It is the probe to use when the question is "can herald reach etcd", not
// "does etcd have a quorum" (a member without quorum is clientv3's to
// leave, not a reason to relay).
func PathProbe(direct grpc.ClientConnInterface) func(context.Context) error {
	kv := pb.NewKVClient(direct)
	return func(ctx context.Context) error {
		_, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("health"), Serializable: true, CountOnly: true})
		switch status.Code(err) {
		case codes.OK, codes.PermissionDenied, codes.InvalidArgument, codes.FailedPrecondition, codes.Unauthenticated, codes.OutOfRange:
			return nil
		}
		return err
	}
}
