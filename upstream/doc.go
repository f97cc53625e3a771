// Package upstream defines the seam between herald's gRPC front end and the
// coordinator it relieves.
//
// An Upstream hands out etcd v3 API clients. The etcd adapter
// (upstream/etcd) returns clientv3's own gRPC clients, so requests, answers
// and errors cross herald unchanged; a ZooKeeper adapter serves the same
// interfaces for the service-discovery subset. Lease offloading and the
// watch fan-out hook in above this seam, in proxy/, lease/ and fanout/.
//
// Calls across the seam carry their metadata in the context: Outgoing for a
// client's call passed on (the keys etcd reads, ForwardedMetadata),
// Internal for herald's own calls (no client token).
//
// This package owns only the interface and that metadata. It must not import clientv3,
// go-zookeeper or memberlist: those live behind the adapters.
package upstream
