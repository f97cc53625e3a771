package offload

import (
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/fanout/feed"
)

// indexSink is the fleet's lease index as its feed sees it: a fanout.Chain
// in front of the index orders the batches the fleet broadcasts (and the
// repairs from etcd), and what the index learns is passed on, in revision
// order, to the offloader's reactions as an owner.
type indexSink struct {
	o *Offloader
	// seq keeps the reactions in revision order: the feed calls the sink
	// from several goroutines. It is taken before Offloader.mu (and so
	// before index.mu): an outermost lock of the package, like
	// Offloader.setup, with which it is never held (doc.go, Lock order).
	seq   sync.Mutex
	chain *fanout.Chain // guarded by index.mu
}

var _ feed.Sink = (*indexSink)(nil)

// maxHeldIndexBatches bounds the batches held beyond a gap.
const maxHeldIndexBatches = 4096

func newIndexSink(o *Offloader) *indexSink {
	return &indexSink{o: o, chain: fanout.NewChain(maxHeldIndexBatches)}
}

func (s *indexSink) Load(snap feed.Snapshot) (*fanout.Gap, error) {
	s.seq.Lock()
	defer s.seq.Unlock()
	x := s.o.idx
	x.mu.Lock()
	x.ix.Load(snap.Rev, snap.KVs)
	var evs []*mvccpb.Event
	for _, b := range s.chain.Reset(snap.Rev) {
		x.ix.Apply(b.Rev, b.Events)
		evs = append(evs, b.Events...)
	}
	gap := s.chain.Gap()
	x.mu.Unlock()
	s.o.indexMoved(evs, true)
	return gap, nil
}

func (s *indexSink) Apply(b fanout.Batch) (*fanout.Gap, error) {
	s.seq.Lock()
	defer s.seq.Unlock()
	x := s.o.idx
	x.mu.Lock()
	ready, err := s.chain.Offer(b)
	var evs []*mvccpb.Event
	for _, r := range ready {
		x.ix.Apply(r.Rev, r.Events)
		evs = append(evs, r.Events...)
	}
	gap := s.chain.Gap()
	x.mu.Unlock()
	if len(ready) > 0 {
		s.o.indexMoved(evs, false)
	}
	return gap, err
}

func (s *indexSink) NoteHeader(h *pb.ResponseHeader) { s.o.NoteHeader(h) }
func (s *indexSink) SetCompactRev(int64)             {}

func (s *indexSink) Rev() int64 {
	s.o.idx.mu.RLock()
	defer s.o.idx.mu.RUnlock()
	return s.chain.Rev()
}

func (s *indexSink) Gap() *fanout.Gap {
	s.o.idx.mu.RLock()
	defer s.o.idx.mu.RUnlock()
	return s.chain.Gap()
}
