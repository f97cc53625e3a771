// Package plumtree is herald's broadcast-tree protocol: epidemic broadcast
// trees after Leitão, Pereira and Rodrigues (SRDS 2007) — payloads pushed
// eagerly along tree links, IDs announced lazily (IHave, batched), a member
// that learns of a message it lacks asks for it (Graft) and starts receiving
// that origin eagerly over the new link, a member that gets more copies
// than it should tells the sender to stop (Prune), and, for a while after
// each burst, members tell each other which recent messages they hold
// (Digest: anti-entropy), which closes what the rest leaves open.
//
// # What it owns, what it must not touch
//
// It is a pure state machine, modelled on etcd-io/raft's RawNode: inputs
// are Step (a message received), Tick (an injected clock: time since an
// arbitrary start), SetPeers/SetView/PeerDown (the membership view) and
// Broadcast; outputs are drained with Ready (messages to send, deliveries).
// No goroutines, sockets, time.Now, sleeps or global randomness: the driver
// in gossip/ does the I/O and the simulator in cmd/herald-sim runs 50k Nodes
// in one process on a virtual clock. Membership (memberlist), encryption and
// transport belong to the driver; the package only encodes and decodes its
// own messages (MarshalBinary, UnmarshalBinary). A Node is not safe for
// concurrent use; no method blocks.
//
// # The trees, and why they are computed rather than grown
//
// Classic Plumtree grows one spanning tree out of a random overlay by pruning
// the links that deliver duplicates. Its shape is left to chance: with the
// small fanout of a random overlay the tree is ⌈log_f N⌉ or more hops deep
// (7+ at f = 5 for 50k members, ≈ 130 ms at 15 ms a hop), and a single tree
// loses everything below a lost link until lazy repair, which costs an
// announcement delay plus a round trip. herald's target is 99.9 % of 50k
// members within 60 ms on 10–20 ms links with 10 % loss, using at most about
// 4 messages per member. That fixes the shape:
//
//   - Depth. 60 ms is three worst-case hops, so the tree needs fanout ≥ 37
//     (1+37+37²+37³ ≥ 50k). Fanout is free in messages — a tree of any shape
//     sends N−1 — it only concentrates sends on interior members.
//   - Redundancy. A copy lost on the way cannot be repaired within 60 ms, so
//     every member must get enough independent copies up front: at loss p,
//     k copies all miss with probability ≈ p^k; 99.9 % at p = 0.1 needs
//     k > 3. Each copy costs N messages, so the lazy traffic must be small.
//
// So every member computes the trees from the sorted membership view, which
// all members share (memberlist converges it), rooted at the origin of each
// broadcast. Positions relative to the origin are laid out as a complete
// f-ary heap: level 0 is the origin, level ℓ holds f^ℓ members. Tree c
// shuffles the positions within each level with its own affine permutation,
// so a member sits at the same depth in all trees (each copy arrives after
// exactly depth hops: the latency bound holds for every copy) but has a
// different parent in each (the copies are independent: one lost link or
// crashed member takes out one copy, not all). Config.EagerRedundancy adds
// full trees; Config.PartialCopyPermille adds one tree that reaches only a
// share of the members, so the number of copies can be 3.5 rather than 3
// (misses 0.1 %) or 4 (costs 4 messages). See overlay.go.
//
// # Trees that do not need identical views (LayoutRing)
//
// The heap layout above takes positions in the sorted view relative to the
// origin and permutes each level by its size, so a one-member difference
// between two views reshuffles most trees, and memberlist's views disagree
// for seconds after every join, leave or failure (in cmd/herald-sim, one
// member missing from 1 % of the views took t99.9 from 47 ms to never).
// Config.Layout = LayoutRing (WANConfig's) computes trees that are stable
// under view differences (ring.go):
//
//   - Positions come from names, not from views: tree c places member m at
//     hash(c, m) on a ring, and cuts the ring into arcs with absolute
//     bounds (level ℓ: f^ℓ equal arcs, each the union of f arcs of level
//     ℓ+1). Two members agree on every position and every arc whatever
//     else their views hold; a view difference changes only who sits in an
//     arc, i.e. what touches the members concerned.
//   - The origin covers the ring. An arc's representative is its first
//     member by position (skipping those of the arcs around it); a
//     representative of level ℓ < L sends to the representatives of its f
//     sub-arcs, one of level L to each member of its arc (L: arcs of at
//     most 1.5 f members; 3 hops at 50k and f = 37, 4 at 200k).
//   - Positions differ per tree, so a member's parents and depth differ
//     per tree (independent copies), and a member is interior in few trees:
//     per-member fan-out is f per tree it is interior in, not f × trees.
//   - Each push names the arc the receiver is to cover (Message.Arc, wire
//     version 3). A member covers, on its first copy from any tree, the
//     arcs its own view makes it represent — so a lost link or a dead
//     grandparent costs one tree's copy, not the subtree below — and any
//     arc a push names, so a parent whose view lacks an arc's first member
//     hands the arc to the next one.
//   - A joiner is in few views for seconds: it introduces itself to its
//     parent in each tree (Announce, one Hello per tree, once per join),
//     and a member keeps a member that said Hello in its view for 30 s
//     even if the driver's membership does not list it yet.
//
// Crashed members still in views cost the copies they should have
// forwarded; lazy repair (below) covers them as it covers loss. Trees are
// the same for every origin (only the origin's own place differs), so the
// links they use are few and stable: Links lists them (with the lazy and
// digest peers), whatever the origin, and the driver has its transport hold
// connections to them open, so that no broadcast waits for a connection's
// set-up (links.go). A Hello that arrives after a broadcast's digest rounds
// (its connection's SYN was lost) is still answered with a digest of every
// origin the parent can serve, so the joiner grafts what it missed.
//
// The rest is Plumtree. Links not in the computed trees are lazy: each
// member announces what it delivered, batched every IHaveInterval, to
// MaxLazy fixed peers (chosen so that every member has exactly MaxLazy
// announcers). A member that learns of a message it lacks — from an IHave,
// from a gap in an origin's sequence numbers, which repairs a stream
// without any announcement, or from a digest (below) — waits GraftTimeout
// for the eager copy, then grafts from a member that has it, which sends
// the payload and from then on pushes that origin's messages to it
// eagerly: the graft link replaces a tree parent that crashed before the
// failure detector noticed. Duplicates are expected (one per tree); a
// member prunes only links that bring copies beyond one per tree and are
// not tree links, so a graft link is kept while it stands in for a dead
// parent and pruned once the trees deliver in full again.
//
// # Anti-entropy, and the delivery guarantee
//
// Copies, announcements and gaps leave two holes: nothing reveals the loss
// of an origin's last message if its copies and its announcement are all
// lost, and a member whose first message from an origin is not the first
// one (frames overtake each other) has no baseline to see the earlier gaps
// against. Anti-entropy closes both (antientropy.go). In rounds at most
// AntiEntropyInterval apart, a member sends one peer a Digest: for each
// origin delivered here within its last AntiEntropyRounds rounds, the
// range [lo, hi] of sequence numbers it can serve from its cache — lo the
// lowest it has seen and not evicted, hi the highest. The receiver grafts
// every message of those ranges that it has not seen: a gap, the tail
// above its own highest, the messages below its first contact, or every
// message of an origin it has never heard from (it adopts the window).
// Rounds follow bursts: a delivery postpones the next round to one interval
// later, but no round waits more than AntiEntropyRounds intervals after the
// previous one, so a lone broadcast or a burst costs AntiEntropyRounds
// digests per member and a stream that never pauses one per
// AntiEntropyRounds intervals. A member's r-th digest goes
// to the member at offset d(r mod R) in the sorted view (R =
// AntiEntropyRounds; the R offsets are the same for every member and
// differ from the lazy peers'), so each member has R fixed in-neighbours,
// each of which names a recent origin to it exactly once in the R rounds
// that follow its last delivery of that origin — whether or not members'
// rounds are in step, as long as their views agree.
//
// The guarantee: every live member eventually delivers every message still
// in some member's cache window, as long as anti-entropy keeps naming its
// origin. It does so for AntiEntropyRounds rounds after each member's last
// delivery of the origin (then the fleet goes quiet: no message, no timer),
// and each round repairs a member unless that round's digest is lost too:
// at loss p, a member misses a message only if its copies, its
// announcement and its R digests are all lost (≈ 10⁻⁸ with WANConfig's
// four copies at 10 % loss). Even then, the origin's next message revives the rounds
// (and reveals the gap), and the miss is repaired as long as the message
// is still cached somewhere; a feeder with periodic progress notifications
// never lets that lapse.
//
// Degree is bounded: per origin a member sends to at most
// trees × EagerFanout children plus the members that grafted from it,
// announces to MaxLazy peers and sends at most one digest per
// AntiEntropyInterval. With one or two feeders as origins (see
// DESIGN.md), that is the whole overlay.
//
// # Bounded memory
//
// Duplicate suppression keeps, per origin, a bitmap of the last SeenWindow
// sequence numbers (a message older than that is dropped as seen) for at
// most SeenCapacity origins (least recently active forgotten first);
// payloads for grafts live in a ring of CacheSize; missing messages are
// capped at MaxMissing; grafted and pruned links at 64 per origin. Anti-
// entropy adds three numbers per origin; a digest lists at most 512 origins
// (the most recently active first), and one received asks for at most
// SeenWindow messages per origin and 4 × SeenWindow in all, and never grows
// the missing set beyond MaxMissing.
//
// # Limits, measured in cmd/herald-sim (see docs/benchmarks.md)
//
//   - One isolated broadcast costs ≈ copies + MaxLazy + AntiEntropyRounds
//     messages per member (7.9 with WANConfig: 3.9 + 1 + 3) unless the
//     lazy ones ride on packets sent anyway (PiggybackWait): then ≈ the
//     copies. Without feedback a member is only reached through
//     unconditional messages, and at 10 % loss each one that carries news
//     of the message divides the members that miss it by ten; 100 % of 50k
//     members, 20 times over, takes about seven. In a burst or a stream the
//     announcements are batched, gaps repair themselves and the digests are
//     shared by every message, and the cost falls towards the number of
//     copies (3.9 per broadcast for a burst of ten).
//   - Anti-entropy stops AntiEntropyRounds rounds after an origin's last
//     message. A member that lost every copy, announcement and digest of
//     that message gets it only when the origin broadcasts again and the
//     message is still cached.
//   - The heap layout's trees assume views agree. While they differ, some
//     members are reached twice and some not at all by the trees;
//     announcements and grafts repair the latter, Prune trims the former.
//     The ring layout degrades by what the differing members touch only.
//   - Carried lazy traffic (PiggybackWait) goes to whichever members the
//     carrying packets go to, not to fixed in-neighbours: a member is told
//     of a message by a Poisson number of members (about five on average
//     with memberlist's WAN gossip: the driver puts each message on up to
//     four packets) rather than by exactly four, so the rare member that missed every copy and is told by none
//     waits for the origin's next message. What finds no carrier within
//     the wait goes to the fixed peer as before.
//   - Message IDs must not be reused: a restarted origin must start its
//     sequence numbers above those it used before.
package plumtree
