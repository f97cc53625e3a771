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
// All of it is skipped with -short.
package tests
