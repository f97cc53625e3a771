// Package embedetcd runs the single-member etcd that `herald start` runs
// in its own process when no upstream is configured (--endpoints unset),
// so that herald alone is a working endpoint; tests start it as their etcd
// too.
//
// It is not an upstream: herald reaches this member like any other etcd,
// through upstream/etcd. It belongs to the server's wiring (cmd/herald)
// and owns the import of etcd's embed package; nothing else in herald may
// import etcd's server but internal/loopback.
package embedetcd
