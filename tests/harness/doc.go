// Package harness starts the real servers that herald's end-to-end tests run
// against: etcd (one or three members), etcd's own gRPC proxy, herald, the
// etcdctl client, ZooKeeper (standalone or a three-server ensemble, from
// Debian's zookeeper package) and Prometheus (Debian's prometheus, for the
// dashboard and alert tests), each as a separate process on free 127.0.0.1
// ports.
//
// It owns building the binaries into <repo>/bin (etcd and etcdctl at the
// versions pinned in go.mod, herald from ./cmd/herald), picking ports, waiting
// for each server to be healthy, and stopping every process it started by PID
// when the test ends. It never touches processes it did not start, and it
// never talks to anything but 127.0.0.1.
//
// It also injects the faults a fleet must survive: Proc.Kill (kill -9),
// Proc.Pause and Proc.Resume (SIGSTOP and SIGCONT: a frozen process keeps its
// sockets and answers nothing), and TCPProxy, a forwarder that a test puts
// between a process and the server it dials and then cuts (a silent
// partition) and restores. WaitUntil and Await are the one way the tests wait
// for a condition.
//
// It is also the one home of the helpers that every package's unit tests
// share: FreeAddr (and TakeFreeAddr for a TestMain), WaitUntil and Await
// with DefaultPatience, AdvanceUntil (virtual time passing for a driver on
// internal/clock's Manual clock), and CA, the certificates of TLS tests. Unit tests
// may import it: it imports no herald package.
//
// The model is nats-server's test/test.go: one options struct per server kind
// whose zero value is a sensible default (EtcdOptions, HeraldOptions,
// ZooKeeperOptions).
//
// A test that uses the harness fails with the server's log attached (via
// t.Log) when the server fails to start or the test fails.
package harness
