// Command etcdwrap stands in for the etcd binary in the -bin-dir of etcd's
// own e2e framework (go.etcd.io/etcd/tests/v3/framework/e2e, built with
// -tags cluster_proxy), so that every client of that suite talks to a
// herald where it would talk to `etcd grpc-proxy`.
//
// Called as `etcd grpc-proxy start …` it runs the herald next to it with
// the flags translated; called any other way it execs the real etcd
// (etcd-real) next to it, unchanged. Its directory holds, copied by the
// runner (tests/etcde2e/run):
//
//	etcd         this program
//	etcd-real    the real etcd
//	herald       bin/herald
//	gossip.key   the fleet key every herald of a run shares
//	etcdwrap.log what was translated or dropped, one line per proxy start
//	herald-PORT.log the output of the herald listening on PORT
//
// The framework passes no environment through (only ETCD_*, ETCDCTL_*,
// EXPECT_* and PATH), hence files beside the binary instead of variables.
//
// The framework waits for grpc-proxy's log line "started gRPC proxy";
// herald does not print it, so the wrapper prints it once herald accepts
// connections on --listen-addr.
package main
