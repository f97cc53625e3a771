// Package hub is the watch fan-out's driver on each herald: it serves
// client watch streams and serializable ranges of the fan-out prefixes
// from the event cache (fanout.Cache), which a feed (fanout/feed) keeps
// current on the fleet bus's "fanout" topic (Topic).
//
// What herald's wiring (cmd/herald) and the gRPC services (proxy/) call:
//
//   - New (by the wiring), then Start to load the cache from etcd (it may
//     fail and be retried: TryStart is Start for internal/startup, which
//     retries it in the background); Ready reports that it has loaded.
//     Until then the gRPC services pass watches and serializable reads
//     through to etcd. Close (by the wiring, after the server has stopped)
//     stops the feed and the cache's clock.
//   - Serve runs one client Watch stream: watchers inside the fan-out
//     prefixes from the cache (create.go makes them start where etcd would:
//     after the newest revision this herald relayed, or with etcd's compact
//     revision), watchers that start before the cache's window catch up
//     from an upstream watch of their own, the others forwarded over one
//     upstream stream with the client's metadata (forward.go). Each
//     create of a watch the cache serves is first checked against etcd's
//     permissions (permit.go) when the stream carries an auth token, or
//     every stream's when Config.CheckPermissions: a count-only
//     serializable Range of the watch's range with the client's metadata,
//     which etcd checks against the same read permission as a watch. A
//     refused create gets etcd's own answer (created and cancelled, watch
//     ID -1, etcd's reason); as in etcd, a watch once created is not
//     checked again when roles change or the token expires. The hub's own
//     calls (feed, catch-ups, compaction lookups, range loads) run as herald's etcd
//     user (upstream.AsHerald).
//   - RangeLocal answers a serializable Range from the cache (an
//     on-demand cache, the default, answers a range once it has read it
//     from etcd in the background after its first miss: load_range.go,
//     as herald's etcd user); NoteRev
//     records a revision relayed to a client (read your writes);
//     SetCompactRev records a compaction; Reconnect reopens the feed's
//     upstream streams when the upstream path changes.
//
// The hub shows events and ranges as etcd stores them: the caller filters
// and translates them (Serve's keep function; lease offloading shows
// carrier leases as virtual ones there).
//
// Concurrency: one mutex serialises every call on the cache and its
// streams and is never held across I/O (sink.go is the feed's way in).
//
// Lock order: Hub.mu is the package's only mutex (a stream has none of its
// own: its fanout.Stream is guarded by Hub.mu), and a leaf. Under it the
// streams that have output are woken without blocking (stream.wake), the
// moved channel is closed and the clock is re-armed (a send that never
// blocks); it is never held across an etcd call or a client's Send, and
// the feed calls sink holding no lock of its own. A forwarder's sync.Once
// opens the upstream watch on the client stream's goroutine alone.
// docs/lock-order.md lists every package's order.
// Every goroutine the hub starts is stopped by Close (the clock) or ends
// with its client stream: Serve cancels the catch-ups and the forwarder's
// receiver and waits for them before it returns; the reader of the
// client's requests (internal/streams.Receive) ends when gRPC ends the
// stream's Recv, which it does once Serve has returned.
//
// This package is a driver: it does I/O through the upstream seam (KV and
// Watches) and reads the clock; the watch semantics are the pure core's
// (fanout). It must not import proxy/, lease/, gossip/, gRPC directly (it
// uses the etcd API's stream types), clientv3 or memberlist.
package hub
