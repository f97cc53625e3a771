// Package zookeeper serves etcd's KV and watch semantics from a ZooKeeper
// ensemble (TODO: full doc).
package zookeeper
