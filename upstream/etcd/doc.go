// Package etcd is the upstream adapter for an etcd v3 cluster: Client
// implements upstream.Upstream and upstream.Forwarder over one clientv3
// connection (its balancer fails over between the configured members).
//
// The adapter passes protobuf requests as they are to etcd's gRPC stubs,
// so etcd's answers, gRPC codes and error messages reach herald's clients
// untouched; each upstream.WatchStream and upstream.Keeper is one etcd
// stream. It owns the clientv3 import; nothing else in herald may import
// it except the loopback (internal/loopback), the tests and benchmarks.
// Route puts a relay (upstream/relay) on the path of every call.
//
// Auth: the calls marked upstream.AsHerald carry herald's own token
// (credentials.go, Config.User); every other call carries its client's
// metadata. A unary call that etcd refuses for its token comes back at
// the first refusal (auth_retry.go), not after clientv3's retries.
package etcd
