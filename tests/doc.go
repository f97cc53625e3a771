// Package tests holds herald's end-to-end tests: every test starts real
// processes (etcd, herald, etcdctl) through tests/harness and talks to them
// over 127.0.0.1 as an unmodified etcd client would.
//
// The conformance tests run the same etcdctl sessions against etcd directly
// and through herald (in front of a second, identical, fresh etcd) and compare
// the outputs after normalising what legitimately differs between two clusters
// (see normaliser). HERALD_TEST_VIA=etcd replaces herald by that second etcd,
// reached directly: the suite must then pass, which checks the tests and the
// normaliser themselves. HERALD_TEST_VIA=grpc-proxy runs the same suite
// through etcd's own gRPC proxy, where some comparisons fail: proof that they
// can. HERALD_TEST_SHOW_STEPS=1 logs every normalised etcdctl step.
//
// The fault tests drive workloads that record what clients observed and
// check it afterwards, each validated against etcd itself (and grpc-proxy):
// leaseload*.go (nodes holding leases and keys; errors, keys lost, expiry
// times, an op mix compared with etcd's answers), lockload*.go (holders of a
// concurrency.Mutex, an Election, `etcdctl lock` and `etcdctl elect`) and
// history.go (the mutual-exclusion checker of their histories).
//
// Every test that starts a process is skipped with -short.
package tests
