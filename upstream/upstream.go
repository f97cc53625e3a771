package upstream

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// Upstream is the coordinator herald relieves, as the proxy, the lease
// offloader (lease/offload) and the fan-out (fanout/feed, fanout/hub) use
// it. Every method is safe for concurrent use and valid until Close.
//
// Calls carry the caller's context, and with it the outgoing metadata
// (Outgoing: a client's auth token, "hasleader"; Internal: herald's own).
// Errors are the coordinator's, as a client of etcd would see them: gRPC
// status errors with etcd's codes and messages (rpctypes), so the proxy
// can pass them on unchanged.
type Upstream interface {
	KV
	Watches
	Leases
	Members
	// Close releases the connections; calls in flight fail with
	// codes.Canceled.
	Close() error
}

// KV reads and writes keys. Each call blocks until the coordinator
// answers or ctx ends.
type KV interface {
	Range(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error)
	Put(context.Context, *pb.PutRequest) (*pb.PutResponse, error)
	DeleteRange(context.Context, *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error)
	// Txn is the conditional write batch: its compares are checked and
	// its branch applied atomically, at one revision.
	Txn(context.Context, *pb.TxnRequest) (*pb.TxnResponse, error)
	// Compact moves the compaction point: revisions before it are gone,
	// and a watch from one of them is cancelled with CompactRevision.
	Compact(context.Context, *pb.CompactionRequest) (*pb.CompactionResponse, error)
}

// Watches opens watch streams.
type Watches interface {
	// Watch opens a stream of watches that share one upstream channel
	// (for etcd, one gRPC watch stream: a client stream's watches are
	// multiplexed onto it, as etcd's own clients do). It does not block
	// on the coordinator; the stream ends when ctx does.
	Watch(ctx context.Context) (WatchStream, error)
}

// WatchStream is a set of watches whose answers arrive in order on one
// stream, with etcd's watch semantics: watch IDs (chosen by the caller, or
// assigned in creation order when 0), the created answer, events from a
// start revision with prev_kv and filters, fragments, progress
// notifications and the answer to RequestProgress (watch ID -1), and
// cancels with their reason or CompactRevision.
//
// Create, Cancel, RequestProgress and CloseSend do not block on the
// coordinator's answer, and must not be called concurrently with each
// other; Recv may run concurrently with them, on one goroutine.
type WatchStream interface {
	// Create starts a watch; its created (or cancelled) answer follows on
	// Recv.
	Create(*pb.WatchCreateRequest) error
	// Cancel ends the watch with that ID; its cancelled answer follows.
	Cancel(watchID int64) error
	// RequestProgress asks for the revision every watch of the stream has
	// reached; the answer has watch ID -1 when the stream's watches are
	// all synced.
	RequestProgress() error
	// Recv blocks for the next answer. It returns io.EOF once the
	// coordinator ended the stream after CloseSend, and the stream's error
	// otherwise.
	Recv() (*pb.WatchResponse, error)
	// CloseSend says no more requests follow; answers keep arriving (etcd
	// keeps the watches running) until the coordinator ends the stream.
	CloseSend() error
}

// Leases are the coordinator's leases: herald's own carriers and
// sessions, and the leases that clients hold at the coordinator directly
// (passed through). Each call blocks until the coordinator answers or ctx
// ends.
type Leases interface {
	Grant(context.Context, *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error)
	Revoke(context.Context, *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error)
	TimeToLive(context.Context, *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error)
	Leases(context.Context, *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error)
	// KeepAlive opens a stream of keepalives; it does not block on the
	// coordinator, and the stream ends when ctx does.
	KeepAlive(ctx context.Context) (Keeper, error)
}

// Keeper renews leases: each KeepAlive is answered on Recv, in order,
// with the lease's new TTL (0 when the coordinator does not know it).
// KeepAlive and CloseSend must not be called concurrently with each other;
// Recv may run concurrently with them, on one goroutine.
type Keeper interface {
	KeepAlive(id int64) error
	// Recv blocks for the next answer; io.EOF after CloseSend once every
	// answer is in.
	Recv() (*pb.LeaseKeepAliveResponse, error)
	CloseSend() error
}

// Members lists the coordinator's members: the proxy shows them to
// clients (with herald's URLs), and the lease ID allocator stays clear of
// their IDs.
type Members interface {
	MemberList(context.Context, *pb.MemberListRequest) (*pb.MemberListResponse, error)
}

// Forwarder is what an upstream that speaks etcd's gRPC API offers beyond
// Upstream: a connection for the services that herald passes through
// unchanged (Maintenance, Auth, Cluster's member changes, v3election and
// v3lock until the loopback serves them, and KV's RangeStream). Only the
// etcd adapter has one; through another upstream, the proxy answers these
// services with codes.Unimplemented.
type Forwarder interface {
	// Forward is the connection, on the same path as the Upstream's calls.
	Forward() grpc.ClientConnInterface
}
