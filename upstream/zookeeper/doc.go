// Package zookeeper is the upstream adapter for a ZooKeeper ensemble: it
// serves etcd's KV API (Range, Put, DeleteRange, Txn, Compact) and etcd
// watch events, leases and a member list from ZooKeeper, through
// github.com/go-zookeeper/zk: a whole upstream.Upstream. It owns that
// import; nothing else in herald may use it (but the benchmark's native
// baseline). It creates no ephemeral znodes (one herald's lost session
// must not delete a rack's keys): leases are herald's own, stored in
// persistent znodes and expired by every herald's sweep (# Leases).
//
// # Selecting it
//
// zk://host1:2181,host2:2181[/chroot] (ParseURL; a server without a port
// gets 2181). herald's znodes live under <chroot>/herald: the key tree
// <chroot>/herald/kv, the revision znode <chroot>/herald/rev, the leases
// <chroot>/herald/leases and <chroot>/herald/alive, and the clock znode
// <chroot>/herald/clock.
//
// # Keys
//
// An etcd key is any non-empty byte string; a znode name is a non-empty
// UTF-8 string without '/', other than "." and "..", and without the
// characters ZooKeeper refuses (controls, U+007F–U+009F, U+D800–U+F8FF,
// U+FFF0–U+FFFF; Java's strings make every rune above U+FFFF a surrogate
// pair, which it refuses too). A key is split on '/' into segments; each
// segment but the last becomes a directory znode, the last the key's own
// znode (a leaf):
//
//	key "/svc/web/n1"  →  /herald/kv/%2F/svc%2F/web%2F/n1
//	key "a"            →  /herald/kv/a
//	key "a/" (ends in '/')  →  /herald/kv/a%2F/%
//
// The rules:
//
//   - Within a name, ASCII 0x20–0x7E and the runes U+00A0–U+D7FF and
//     U+F900–U+FFEF stand for themselves; every other byte (invalid UTF-8,
//     what ZooKeeper refuses, '%' and '/') is written %XX, upper-case hex.
//   - A directory is named after its segment followed by "%2F", the '/'
//     it stands for: "a%2F" holds the keys that start with "a/". A leaf's
//     segment has no '/', so no leaf name ends that way, and the key "a"
//     (leaf "a") and the keys under "a/" (directory "a%2F") never collide.
//   - An empty last segment (a key ending in '/') is the leaf "%", which
//     no escape produces; an empty inner segment is the directory "%2F".
//   - A leaf "." or ".." is written "%2E" or "%2E%2E" ("a.b" stays as it
//     is). "zookeeper" needs nothing: it is reserved only at the ensemble's
//     root, and keys live at least two levels below it.
//
// The encoding has exactly one spelling per key: the decoder (decodeName,
// fuzzed) accepts a name only if encoding what it decodes gives the same
// name back, so no two znodes mean one key; znodes that do not decode (not
// herald's) are skipped. A key's data is one layout byte, then the lease
// (8 bytes, big endian) if it has one, then the value (decodeData, fuzzed).
// Directories hold no key: their data version counts the creates and
// deletes of their children (their generation, below).
//
// # Revisions
//
// revision = zxid: create_revision = czxid, mod_revision = mzxid, version =
// dataVersion + 1 (etcd counts a create as version 1). Every write is one
// multi whose last op sets the revision znode, so its mzxid is the zxid of
// herald's last write, and a write's own revision is that op's mzxid in
// the multi's answer. A read's header revision is the revision znode's
// mzxid read at the read's start, after a sync of the session's server
// (none for a serializable range). ZooKeeper keeps no history: a range at
// an older revision gets etcd's compacted error, at a newer one etcd's
// future-revision error, and Compact at or below the current revision
// succeeds and changes nothing.
//
// # Reads
//
// A Range lists the directories its range may hold keys in (from the
// deepest directory that holds the whole range) and reads each key. It is
// one revision's state when every key read has mzxid ≤ R and every
// directory listed has pzxid ≤ R (no child created or deleted since), R
// being the revision read first; otherwise a write came between and the
// range is read again. Only creates and deletes in the directories the
// range lists, and writes to its keys, cause a retry.
//
// # Writes and txns
//
// Put, DeleteRange and Txn are one mechanism (Put and DeleteRange are txns
// of one op): read what the answer depends on, evaluate the compares,
// apply the branch's ops to an overlay (later ops and ranges of the txn
// see earlier ones), and commit one multi that checks every read it
// depends on, then writes. A failed check means the state changed: the txn
// is planned again from fresh reads (until its context ends). A write that
// changes nothing commits nothing and keeps the revision, as in etcd. A
// lost connection during a multi is not retried (it may have been applied)
// and answers Unavailable.
//
// The checks are version checks (ZooKeeper's only condition in a multi):
//
//   - a key read present: its data version;
//   - a key read absent: the generation of the directory that would hold
//     it (or of its deepest existing ancestor): creating the key would
//     create a child there;
//   - a range: the generation of every directory listed, and each key's
//     data version;
//   - when the answer depends on which znode a key is (create_revision,
//     mod_revision, value, lease, prev_kv, ignore_value, ignore_lease,
//     ranges in a txn): also the parent's generation, read before the key.
//
// Every multi that creates or deletes a child of a directory also sets the
// directory's data, so its data version changes with its children. A data
// version alone cannot tell a key from one deleted and created again up to
// the same version, but that key is a new child of its directory: with
// the parent's generation unchanged, the znode is the one read, so its
// czxid and mzxid are. That is why every etcd compare (VERSION, CREATE,
// MOD, VALUE, LEASE, on a key or a range) is checked exactly, not only
// version and existence. A txn nested in a branch is planned into the same
// multi; its compares see the state before the outer txn, as in etcd. A multi
// is bounded by ZooKeeper's jute.maxbuffer: a request whose multi would
// exceed Config.MaxDataBytes is refused with etcd's "request is too large"
// (a prefix delete of very many keys included) rather than cut in pieces
// that would not be atomic. Within one revision a txn's events come in key
// order (ZooKeeper does not keep the order of a multi's ops).
//
// # Leases
//
// ZooKeeper's only expiring thing is a session, and a session is one
// client's: it cannot outlive the herald that holds it, which is what the
// fleet's leases must do. So a lease is two persistent znodes (lease.go):
// leases/<id> holds its TTL, and its children name its keys (each key's
// entry is created and deleted in the same multi as the key's own write,
// so the entries are exactly the keys whose data carries the lease);
// alive/<id> is touched by each renewal, and its mtime (the ZooKeeper
// leader's clock) is the last renewal. Every herald sweeps
// (lease_sweep.go): a lease whose last renewal is more than its TTL behind
// the leader's clock is revoked. A revoke sets leases/<id>'s data first
// (version 1: revoking), which every put on the lease and every renewal
// check by version, so no key joins a revoking lease and none keeps it
// alive; then it deletes the keys in batches (a txn per batch, each key
// deleted only if still on the lease), then both znodes. A revoker that
// dies midway leaves a revoking lease that the sweepers finish. The
// leader's clock "now" is estimated from herald's own writes' mtimes (or
// read by writing the clock znode), so expiry is as exact as the leader's
// clock and the round trip; a renewal that arrives after the TTL ran out
// revokes the lease rather than keeping it, as etcd refuses it.
//
// Limits: a revoke is not one revision (etcd deletes a lease's keys at
// one); every herald lists alive/ and stats each lease at every sweep (a
// cost in the number of leases, small with lease offload, whose carriers
// are few); and a lease expires only while some herald runs.
//
// # Watches: the follower and why it loses no event
//
// go-zookeeper has no persistent recursive watch, so a Follower follows a
// range with one-shot watches: a child watch on each directory of the
// range, a data watch on each key. A watch is armed by the read that
// reports the state (ChildrenW, GetW), and fires once, on the next change
// after that read. On a notification the follower reads the znode again,
// which both re-arms its watch and returns its current state, and diffs
// that state with the last one it read: a new znode is a PUT, a larger
// mzxid a PUT, a different czxid a DELETE and a PUT (deleted and created
// again), a child gone from a listing a DELETE at the directory's pzxid.
// No change is lost between a watch firing and its re-arm: a change made
// before the re-read is in what the re-read returns; a change made after
// it fires the watch that the re-read armed. One read arms nothing: a
// GetW that finds no znode (the key was deleted). The follower marks such
// a key unarmed, and its directory's next listing decides: the key gone
// is a DELETE; the key listed (created again after that read, which the
// directory's child watch, re-armed by the listing, no longer reports) is
// read again, which arms its watch.
//
// Order: the server sends a session's notifications and replies in the
// order of its state, and go-zookeeper hands each notification to the
// follower (router.go) before any reply received after it. Each round of
// reads ends with a read of the revision znode (the barrier, revision C):
// every change up to C has by then either been read or has its
// notification queued. If nothing is queued, every change up to C has been
// found; if something is, every change still unfound is above the previous
// round's barrier (its notification came after that barrier's reply). The
// follower emits found events only up to that bound, sorted by revision:
// events never go back in revision and none repeats. The argument needs
// one connection: a lost connection (go-zookeeper re-sets the watches on
// the next one, but behind requests queued meanwhile and with a racy
// relative zxid), a new session, or a failed round make the follower read
// every directory and key again, after a sync, which re-arms every watch
// on the new connection and finds every change by its diff.
//
// Limits, which etcd's watch does not have:
//
//   - Several changes to one znode between a notification and the re-read
//     collapse into the last: the watcher sees the final value (and its
//     revision and version) but not each intermediate one. ZooKeeper's
//     one-shot watches guarantee no more. The final state is always exact.
//   - A DELETE's revision is the directory's pzxid at the listing that
//     found it: exact when that delete was the directory's only child
//     change since the previous listing, otherwise an upper bound (a later
//     create or delete in the same directory). A delete followed by a
//     re-create is reported at the create's revision. Events of other keys
//     may thus come in a different order than the deletes happened.
//   - A follower starts now: Follow returns its start revision, the bound
//     of its first rounds of reads (changes they found up to it are its
//     starting state, changes above it its first events). ZooKeeper keeps
//     no history: the Client keeps its own (below).
//
// All of this assumes that only herald writes the key tree: a foreign
// write does not move the revision znode, so its events wait for herald's
// next write, and it bypasses the directory generations that make txn
// checks exact.
//
// The follower has no goroutine of its own: Next and Progress do the reads
// on the caller's goroutine; Progress gives etcd's progress notification
// (every change up to its revision has been emitted).
//
// # Watch history
//
// herald's clients list, then watch: Range at revision R, then Watch from
// R+1. ZooKeeper keeps no history, so each Client keeps one (history.go):
// Dial starts a Follower over the whole key tree (key "\x00", end "\x00")
// before it returns, so every revision read later (a Range's, a write's)
// is at least the follower's start, and one goroutine owned by the Client
// (Close stops it and waits for it) appends the follower's batches to a
// window of the last Config.WatchHistory events (100,000 by default),
// evicting whole revisions. The window has a floor (every event above it
// is held: at first the follower's start, then the last revision evicted)
// and a bound (every change up to it is held: the follower's).
//
// Watch streams read that window (watch.go, watch_stream.go) with etcd
// v3.7.3's semantics, checked against a real etcd (watch_etcd_test.go):
//
//   - start_revision r is served when r > floor; an older r gets etcd's
//     answers for a watch from before a compaction: created, then a cancel
//     with CompactRevision floor+1 (the oldest revision it could be served
//     from), header revision 0 and no reason; its ID stays taken until
//     cancelled. 0 is from now (the bound when Create was called, + 1); a
//     future r waits; a negative r is refused as compacted.
//   - Watch IDs are the caller's, or assigned in creation order from 0
//     when 0; a duplicate ID and an empty range are refused (created and
//     cancelled, watch ID -1, etcd's reason). Cancel answers cancelled; an
//     unknown ID gets no answer.
//   - A watch gets each revision's events in one response, in order, at
//     most 1000 revisions per response (etcd's watchBatchMaxRevs),
//     filtered (NOPUT, NODELETE: a response left empty is not sent), with
//     prev_kv (the follower's, on anything but a create) only if asked,
//     split as etcd's sendFragments splits it (Config.WatchFragmentBytes)
//     if created with fragment. Revisions never go back; none repeats.
//   - Every answer's header revision is the bound (the created answer's:
//     the bound when Create was called). RequestProgress is answered with
//     watch ID -1 only when every watch of the stream is synced (all sent
//     up to the bound, not waiting for a future start, not compacted), as
//     etcd answers it; a progress_notify watch that got no events for a
//     whole Config.WatchProgressInterval (etcd's 10 min, plus up to 10%
//     jitter) hears the bound with its own ID.
//   - A stream has no goroutine: Recv answers the queued requests and
//     reads the window. It ends with its context (codes.Canceled), or with
//     the Client: codes.Canceled, or io.EOF after CloseSend (etcd keeps a
//     stream's watches running after CloseSend, and so does herald).
//
// What differs from etcd is what the follower cannot see (its limits,
// above), and that a watch slower than the window is cancelled as
// compacted at its next Recv: etcd keeps history until compacted.
package zookeeper
