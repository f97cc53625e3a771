// Package startup brings up, in the background, the parts of herald that
// need etcd's cooperation: the lease offloader (lease/offload: it reads the
// lease index and takes back a previous run's carriers) and the fan-out
// hub (fanout/hub: it loads the fan-out prefixes).
//
// herald serves clients whatever state etcd is in when it starts: out of
// reach, a learner, over its space quota. Start tries every part once, and
// then retries those that did not come up, with a growing, jittered pause,
// until they do or Stop. Each part keeps its own readiness, which the gRPC
// services read (offload.Offloader.Readiness, hub.Hub.Ready): until a part
// is up, requests pass through to etcd, except lease calls of clients that
// would get virtual leases, which are answered Unavailable, so that a
// client's lease held elsewhere in the fleet is never judged by an etcd
// that does not know it.
//
// Ownership: the goroutine that retries is started by Start and stopped
// by Stop, which waits for it; whoever calls Start calls Stop, before it
// closes the parts.
//
// It is a leaf helper: the standard library and internal/backoff only. The
// parts log why they did not come up; this package knows none of them.
package startup
