// Package proxy is herald's client-facing gRPC front end: it serves every
// etcd v3 service (KV, Watch, Lease, Cluster, Maintenance, Auth, and the
// v3election and v3lock services) so that unmodified etcd clients can point
// at herald.
//
// By default a request is forwarded through the upstream seam as it came,
// with the metadata that etcd reads (auth token, "hasleader", client API
// version), and etcd's answer or error goes back as it came: same gRPC code,
// same message, same header. KV, Watch, Lease and MemberList go through the
// seam's interfaces (upstream.Upstream): a client's watch stream becomes one
// upstream.WatchStream, its keepalive stream one upstream.Keeper. The
// services the seam does not cover (Maintenance, Auth, member changes,
// RangeStream, and v3election/v3lock until the loopback is installed) are
// forwarded over the upstream's upstream.Forwarder, and refused with
// Unimplemented through an upstream that has none (forward.go). Streams
// (Watch, LeaseKeepAlive, Snapshot, RangeStream, Observe) are relayed
// message by message and torn down both ways when either side ends. Lease offloading and the watch fan-out replace
// individual handlers, never the wire format.
//
// What herald answers for itself: Cluster.MemberList lists herald's own
// advertised client URLs (as etcd's grpc-proxy does), so a client that syncs
// its endpoints from the member list keeps talking to herald; the standard
// gRPC health service reports whether the upstream answers.
//
// The watch fan-out is the hub's (fanout/hub): once it is ready, the Watch
// service hands it every client stream (the hub checks the creates of a
// stream with a token, and of every stream when herald has an etcd
// identity, as etcd checks them) and the KV service asks it for
// serializable ranges inside the fan-out prefixes, for tokenless clients
// of a herald without an identity; this package filters what it sends
// (lease offloading's watchFilter). Virtual leases are the offloader's
// (lease/offload): the Lease and KV services call it once it is Ready, for
// tokenless clients and, when herald has an etcd identity of its own
// (--user, or its --cert's CN), for every client after etcd has judged its
// rights (offload.Permit; keepalive verdicts in auth_state.go); they answer
// lease calls Unavailable while it is Starting, and forward calls about
// leases that peers own to those peers (peers.go).
//
// This package serves what it is given and builds none of it: the caller
// (cmd/herald's Run, the tests' helper) builds the offloader (offload.New)
// and the hub (hub.New) from its configuration, passes them in Options,
// brings them up in the background (internal/startup, which retries while
// etcd does not let them start) and closes them after Stop. The services
// only ask whether each is up (Offloader.Readiness, Hub.Ready), which
// never blocks. So this package must not call offload.New, hub.New or
// Start, nor start a goroutine that outlives Stop: the goroutines it
// starts are the server's (streams, relays, the health monitor).
//
// Lock order: the package's mutexes are leaves that never nest: peers.mu
// (peers.go; never held while a connection is closed), healthMonitor.mu
// (health.go), authState.mu (auth_state.go; never held across AuthStatus)
// and kaAnswers.mu (lease_answers.go). A keepalive stream's answers have
// one sender, the goroutine of its kaAnswers: the keepalive loop and the
// pumps from the upstream and owners' streams queue them there, and never
// wait for the client to read. No lock of this package is held while
// calling the offloader or the hub. docs/lock-order.md lists every
// package's order.
//
// gRPC lives only here (and in the upstream adapters). This package must not
// import clientv3, memberlist, viper or cobra.
package proxy
