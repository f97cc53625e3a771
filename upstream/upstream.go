package upstream

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3election/v3electionpb"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3lock/v3lockpb"
)

// Upstream is the coordinator herald forwards to. Every accessor returns a
// client that is safe for concurrent use and stays valid until Close; none of
// them blocks. Calls made through the clients carry the caller's context, and
// with it the outgoing gRPC metadata (auth token, "hasleader") that the proxy
// copied from the client's request.
type Upstream interface {
	KV() pb.KVClient
	Watch() pb.WatchClient
	Lease() pb.LeaseClient
	Cluster() pb.ClusterClient
	Maintenance() pb.MaintenanceClient
	Auth() pb.AuthClient
	Election() v3electionpb.ElectionClient
	Lock() v3lockpb.LockClient

	// Close releases the connections; calls in flight fail with
	// codes.Canceled.
	Close() error
}
