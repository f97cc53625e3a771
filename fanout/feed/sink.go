package feed

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/fanout"
)

// Snapshot is the content of a Feed's prefixes at one revision, read from
// etcd.
type Snapshot struct {
	// Rev is the revision of the read: the replica is complete through it.
	Rev int64
	// KVs are the keys of every prefix at Rev (a key under two overlapping
	// prefixes appears twice).
	KVs []*mvccpb.KeyValue
	// Header is etcd's response header (cluster and member id, raft term).
	Header *pb.ResponseHeader
	// Partial: KVs are only those of Ranges, what the sink keeps
	// (RangeKeeper), not of every prefix.
	Partial bool
	Ranges  []fanout.RangeRequest
}

// RangeKeeper is a Sink that keeps the key-values of some ranges of the
// prefixes only (an on-demand fan-out cache): its snapshots read those
// ranges, not the whole prefixes. partial false: it keeps every key.
type RangeKeeper interface {
	KeptRanges() (ranges []fanout.RangeRequest, partial bool)
}

// Sink is the replica a Feed keeps current: the fan-out's event cache, the
// fleet's lease index. A typical Sink is a fanout.Chain in front of its own
// state, under its own mutex.
//
// The Feed calls a Sink from several goroutines at once and holds no lock
// while it does: every method must be safe for concurrent use, must return
// quickly (no I/O, no waiting on the Feed) and must not call back into the
// Feed.
type Sink interface {
	// Load installs a snapshot: at Start, and again after etcd compacted
	// past the replica. It returns the gap that batches held from before
	// it leave open, if any.
	Load(s Snapshot) (*fanout.Gap, error)
	// Apply takes one batch of the chain, in any order and any number of
	// times, and returns the gap left open after it, if any. An invalid
	// batch is refused with an error.
	Apply(b fanout.Batch) (*fanout.Gap, error)
	// NoteHeader passes the header of an etcd answer the feeder or a
	// repair received just before the batch it cuts (e.g. for the raft
	// term of the replica's own answers).
	NoteHeader(h *pb.ResponseHeader)
	// SetCompactRev records etcd's compact revision, as the Feed learns it
	// from a compacted watch (before the reload that follows).
	SetCompactRev(rev int64)
	// Rev is the revision through which the replica is complete.
	Rev() int64
	// Gap is the gap open now, or nil.
	Gap() *fanout.Gap
}
