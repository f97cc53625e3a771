// Package loopback serves etcd's v3lock and v3election services with
// etcd's own implementation, run on a clientv3 client of herald itself:
// etcd builds both from KV, Lease and Watch calls (the concurrency
// package), so served this way they work with herald's virtual leases,
// which etcd cannot see.
//
// It is not an upstream: its client is connected to herald's own client
// port. It belongs to the server's wiring (cmd/herald installs it with
// proxy.Server.SetLoopback once the port serves) and is, with
// upstream/etcd, the one place outside tests that imports clientv3.
package loopback
