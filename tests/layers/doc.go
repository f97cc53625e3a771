// Package layers holds herald's architecture test: one table of dependency
// rules (rules in layers_test.go) that fails when a package imports across
// the seams that STYLE.md draws (gRPC only in the front end, the upstream
// adapters and the gossip transport, clientv3 and go-zookeeper only behind
// the upstream seam, memberlist only in gossip/membership, viper and cobra
// only in cmd/; the proxy, lease offloader and fan-out reach the
// coordinator through the upstream seam and never an adapter; the embedded
// etcd and the loopback only in cmd/), when a pure core does I/O, reads the clock, sleeps, starts a
// goroutine or draws from the global random source, when the layers of
// gossip/ import each other, or when a package has no package comment.
//
// It is the one dependency test: a new rule is a new line of the table, not
// a new test in the package it binds. It needs no server, so `make
// test-unit` runs it.
package layers
