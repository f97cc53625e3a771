// Command run runs etcd's own e2e suite (go.etcd.io/etcd/tests/v3, its
// e2e and common packages, at the version herald's go.mod pins) twice per
// test: through `etcd grpc-proxy` (the baseline) and through herald, in
// place of every grpc-proxy the framework starts (see ../etcdwrap).
//
//	go run ./tests/etcde2e/run -run 'TestKV|TestCtlV3Put' -timeout 5m
//
// It fetches the tests module through the Go module proxy, copies it to a
// work dir (reused), drops the go.mod lines that point into etcd's own
// repository, and builds the test binaries with -tags cluster_proxy. Each
// test runs in its own process (a failed e2e test leaks goroutines, and the
// framework then skips every later test of the process). It prints a row
// per test as it goes, and exits 1 if a test passes through grpc-proxy and
// fails through herald without being listed in known-failures.txt.
//
// make test-etcd-e2e and make test-etcd-e2e-ci run it.
package main
