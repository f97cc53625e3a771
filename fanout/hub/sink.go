package hub

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/fanout/feed"
)

// sink is the fan-out cache as the feed sees it: each call takes the
// hub's mutex for the cache call alone, and every change wakes the client
// streams that have output, which then collect it.
type sink struct{ h *Hub }

var (
	_ feed.Sink        = sink{}
	_ feed.RangeKeeper = sink{}
)

// KeptRanges are the ranges whose key-values the cache keeps: an
// on-demand cache's snapshots read only those.
func (s sink) KeptRanges() ([]fanout.RangeRequest, bool) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.h.cache.KeptRanges()
}

func (s sink) Load(snap feed.Snapshot) (*fanout.Gap, error) {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tickLocked()
	h.cache.SetIdentity(snap.Header.GetClusterId(), snap.Header.GetMemberId())
	h.cache.SetRaftTerm(snap.Header.GetRaftTerm())
	var (
		gap *fanout.Gap
		err error
	)
	if snap.Partial {
		gap, err = h.cache.LoadRanges(snap.Rev, snap.Ranges, snap.KVs, h.cache.CompactRev())
	} else {
		gap, err = h.cache.Load(snap.Rev, snap.KVs, h.cache.CompactRev())
	}
	h.wakeReadyLocked()
	return gap, err
}

func (s sink) Apply(b fanout.Batch) (*fanout.Gap, error) {
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tickLocked()
	gap, err := h.cache.Apply(b)
	h.wakeReadyLocked()
	return gap, err
}

func (s sink) NoteHeader(hdr *pb.ResponseHeader) {
	s.h.mu.Lock()
	s.h.cache.SetRaftTerm(hdr.GetRaftTerm())
	s.h.mu.Unlock()
}

func (s sink) SetCompactRev(rev int64) { s.h.SetCompactRev(rev) }

func (s sink) Rev() int64 {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.h.cache.Rev()
}

func (s sink) Gap() *fanout.Gap {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.h.cache.Gap()
}
