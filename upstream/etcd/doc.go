// Package etcd is the upstream adapter for an etcd v3 cluster, and the
// embedded single-member etcd that herald runs when no upstream is
// configured.
//
// The adapter forwards protobuf requests as they are, over one clientv3
// connection (its balancer fails over between the configured members), so
// etcd's answers, gRPC codes and error messages reach herald's clients
// untouched. It owns the clientv3 and embed imports; nothing else in herald
// may import them except the tests and benchmarks.
package etcd
