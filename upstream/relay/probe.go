package relay

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
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
