package plumtree

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Config tunes one Node. Use DefaultConfig or WANConfig and change fields,
// rather than filling a zero Config.
type Config struct {
	// ID is this member's name; it must appear in the membership view.
	ID NodeID
	// Rand is the node's only source of randomness (it picks among repair
	// sources), injected so that a seeded run is reproducible. Not safe for
	// use by another goroutine while the node uses it.
	Rand *rand.Rand

	// Layout chooses how the trees are computed from the view: LayoutHeap
	// (positions in the sorted view; needs identical views) or LayoutRing
	// (positions hashed from names, arcs with absolute bounds; holds when
	// views differ). See overlay.go and ring.go.
	Layout Layout

	// EagerFanout is the fanout f of each dissemination tree: a member has at
	// most f eager children per tree, and N members are reached in
	// ⌈log_f N⌉ hops.
	EagerFanout int
	// EagerRedundancy is the number of extra trees, each an independent
	// copy path to every member: every member gets 1+EagerRedundancy eager
	// copies from distinct parents. With loss rate p a member misses all of
	// them with probability ≈ p^(1+EagerRedundancy).
	EagerRedundancy int
	// PartialCopyPermille adds one more tree that reaches only this share
	// (in ‰) of the members, chosen by position. It lets the average number
	// of copies sit between two integers: 3 copies miss 0.1 % at 10 % loss,
	// 4 copies cost 4 messages per member; 3.5 copies sit in between.
	PartialCopyPermille int
	// MaxLazy is the number of lazy peers a member announces its deliveries
	// to (IHave). They are fixed by position in the sorted view, so every
	// member is the lazy peer of exactly MaxLazy others.
	MaxLazy int
	// IHaveInterval batches announcements: a member sends each lazy peer at
	// most one IHave per interval, carrying every ID delivered since the last.
	IHaveInterval time.Duration
	// GraftTimeout is how long a member waits, after learning that a message
	// exists, for its eager copy before it grafts; also the retry period of a
	// graft that got no answer. It should exceed the eager spread time.
	GraftTimeout time.Duration
	// MaxGraftAttempts bounds the grafts for one missing message.
	MaxGraftAttempts int

	// AntiEntropyInterval paces anti-entropy: in rounds at least this far
	// apart, a member sends one peer a Digest of the sequence ranges it can
	// serve, and the peer grafts what it lacks. This repairs what sequence
	// gaps cannot reveal: an origin's last message, and messages older than
	// a member's first contact with an origin. A delivery postpones the
	// next round to one interval later (rounds matter after a burst), but
	// by no more than AntiEntropyRounds intervals since the previous one.
	AntiEntropyInterval time.Duration
	// AntiEntropyRounds is the number of digest rounds that name an origin
	// after its last delivery here; then the origin is retired from the
	// digests, and a quiet fleet sends nothing. Each round repairs a member
	// that missed the origin's last message unless that digest is lost too.
	// The peers of R consecutive rounds are R fixed members, and every
	// member is sent one digest by each of its R in-neighbours. 0 disables
	// anti-entropy (and the delivery guarantee: see the package doc).
	AntiEntropyRounds int

	// PiggybackWait, if positive, lets the driver carry IHave and Digest
	// messages on packets it sends anyway (memberlist's probes and gossip)
	// to any member, instead of in messages of their own to the lazy and
	// digest peers: they are marked Envelope.Piggyback, and the driver
	// sends one to its To only if no packet carried it within this wait.
	// Any member can act on them: it grafts from the sender what it lacks.
	// A lone broadcast then costs its copies (and the rare graft) in
	// messages of its own; the repair it backs up waits for a carrier.
	PiggybackWait time.Duration

	// SeenWindow is the number of recent sequence numbers remembered per
	// origin for duplicate suppression (rounded up to a multiple of 64). A
	// message older than the window is dropped as if seen.
	SeenWindow int
	// SeenCapacity bounds the number of origins remembered; the least
	// recently active origin is forgotten first.
	SeenCapacity int
	// CacheSize is the number of recent payloads kept to answer grafts.
	CacheSize int
	// MaxMissing bounds the messages waiting for a graft.
	MaxMissing int
}

// Layout is how a Node computes its trees.
type Layout uint8

const (
	// LayoutHeap lays each tree out as a complete f-ary heap over positions
	// in the sorted view, relative to the origin (overlay.go). Every copy
	// arrives after exactly depth hops, but members must share the view:
	// a one-member difference reshuffles most trees.
	LayoutHeap Layout = iota
	// LayoutRing places members on a ring by a hash of their names and cuts
	// it into arcs with absolute bounds (ring.go): a view difference only
	// moves what touches the members it concerns.
	LayoutRing
)

// DefaultConfig is tuned for a datacentre: links of well under a
// millisecond and little loss. Two copies per member and one lazy peer
// (≈3 messages per member and broadcast), short repair timers, and two
// anti-entropy rounds 10 ms apart after an origin's last message.
func DefaultConfig(id NodeID, r *rand.Rand) Config {
	return Config{
		ID:                  id,
		Rand:                r,
		EagerFanout:         32,
		EagerRedundancy:     1,
		PartialCopyPermille: 0,
		MaxLazy:             1,
		IHaveInterval:       2 * time.Millisecond,
		GraftTimeout:        5 * time.Millisecond,
		MaxGraftAttempts:    8,
		AntiEntropyInterval: 10 * time.Millisecond,
		AntiEntropyRounds:   2,
		SeenWindow:          1024,
		SeenCapacity:        4096,
		CacheSize:           256,
		MaxMissing:          1024,
	}
}

// WANConfig is tuned for links of 10–20 ms with up to 10 % loss, aiming at
// 99.9 % of 50k members within 100 ms on a network that is not kind: TCP
// links, a cost per send, views that disagree (memberlist takes seconds to
// spread a change in a large fleet) and undetected crashes (issue 11).
//
//   - The ring layout: trees that hold while views disagree (ring.go).
//     f=37 makes them three hops deep at 50k members (arcs of level 2 hold
//     ≈ 36 members), so every eager copy arrives within 3 × 20 ms.
//   - 3.9 copies: three full trees and a fourth that reaches 90 % of the
//     members. Over TCP with the links held open (Links) a copy is late
//     only when its last link loses it (a retransmit 200 ms later), its
//     parent crashed or its parent's view lacks the member; in herald-sim's
//     hostile setting 3.9 copies give t99.9 76–78 ms (four: 72 ms) and keep
//     a lone broadcast under four messages per member.
//   - Prompt repair for that tail: announcements every 50 ms, a graft 30 ms
//     after one (the eager copies are in by then).
//   - Anti-entropy names an origin in three digest rounds, 100 ms apart
//     after a burst, each of which would have to be lost as well for a
//     member to miss a message.
//   - The announcements and digests ride on memberlist's packets
//     (PiggybackWait 500 ms: memberlist's WAN gossip interval); those that
//     find none within the wait go in messages of their own.
//
// A lone broadcast costs 3.9 copies plus the carried announcements and
// digests, and ≈ 0.06 messages of repair (grafts and their answers) per
// member; in a fleet whose memberlist sends nothing but probes (one per 5 s
// in its WAN timing) most of the 4 lazy messages go on their own after the
// wait (7.2 in all). See docs/benchmarks.md.
func WANConfig(id NodeID, r *rand.Rand) Config {
	c := DefaultConfig(id, r)
	c.Layout = LayoutRing
	c.EagerFanout = 37
	c.EagerRedundancy = 2
	c.PartialCopyPermille = 900
	c.IHaveInterval = 50 * time.Millisecond
	c.GraftTimeout = 30 * time.Millisecond
	c.AntiEntropyInterval = 100 * time.Millisecond
	c.AntiEntropyRounds = 3
	c.PiggybackWait = 500 * time.Millisecond
	return c
}

// Validate reports every invalid field of c. New panics on a config that
// Validate refuses, so a driver built from user settings should call it first.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("plumtree: config: "+format, args...))
		}
	}
	check(checkNodeID(c.ID, "id") == nil, "invalid ID %q", c.ID)
	check(c.Rand != nil, "Rand is nil")
	check(c.Layout <= LayoutRing, "unknown Layout %d", c.Layout)
	check(c.EagerFanout >= 2, "EagerFanout %d < 2", c.EagerFanout)
	check(c.EagerRedundancy >= 0 && c.EagerRedundancy <= 15, "EagerRedundancy %d outside [0,15]", c.EagerRedundancy)
	check(c.PartialCopyPermille >= 0 && c.PartialCopyPermille <= 1000, "PartialCopyPermille %d outside [0,1000]", c.PartialCopyPermille)
	check(c.MaxLazy >= 0, "MaxLazy %d < 0", c.MaxLazy)
	check(c.IHaveInterval > 0, "IHaveInterval %v <= 0", c.IHaveInterval)
	check(c.GraftTimeout > 0, "GraftTimeout %v <= 0", c.GraftTimeout)
	check(c.MaxGraftAttempts >= 1, "MaxGraftAttempts %d < 1", c.MaxGraftAttempts)
	check(c.AntiEntropyInterval > 0, "AntiEntropyInterval %v <= 0", c.AntiEntropyInterval)
	check(c.AntiEntropyRounds >= 0 && c.AntiEntropyRounds <= 64, "AntiEntropyRounds %d outside [0,64]", c.AntiEntropyRounds)
	check(c.PiggybackWait >= 0, "PiggybackWait %v < 0", c.PiggybackWait)
	check(c.SeenWindow >= 1, "SeenWindow %d < 1", c.SeenWindow)
	check(c.SeenCapacity >= 1, "SeenCapacity %d < 1", c.SeenCapacity)
	check(c.CacheSize >= 1, "CacheSize %d < 1", c.CacheSize)
	check(c.MaxMissing >= 1, "MaxMissing %d < 1", c.MaxMissing)
	return errors.Join(errs...)
}
