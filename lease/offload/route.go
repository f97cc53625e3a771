package offload

import (
	"context"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// RouteKind says where a call about a lease goes.
type RouteKind int

const (
	// RouteLocal: this herald holds the lease; ask it (KeepAlive,
	// TimeToLive, Revoke).
	RouteLocal RouteKind = iota
	// RouteForward: another herald owns the lease; forward the call to
	// Route.URL.
	RouteForward
	// RouteHold: the lease's owner is being replaced (its session ended and
	// no successor has claimed its carrier yet), or this herald's own claim
	// is not confirmed; wait for Changed and route again.
	RouteHold
	// RouteUpstream: not a virtual lease; etcd answers.
	RouteUpstream
	// RouteGone: a virtual lease that has ended; answer as etcd answers for
	// a lease it does not know.
	RouteGone
)

// Route is where a call about a lease goes.
type Route struct {
	Kind  RouteKind
	Owner string // RouteForward: the owner's name
	URL   string // RouteForward: the owner's client URL
}

// Route finds the herald that owns virtual lease id (docs/fleet-leases.md,
// "Serving any lease from any herald"). A lease the index does not know is
// looked up in etcd (it may have been granted through another herald a
// moment ago); one that is not there either is not virtual.
func (o *Offloader) Route(ctx context.Context, id int64) (Route, error) {
	lid := lease.ID(id)
	o.mu.Lock()
	_, held := o.table.CarrierOf(lid)
	internal := lease.IsInternal(lid, o.internalPrefix())
	o.mu.Unlock()
	switch {
	case held:
		return Route{Kind: RouteLocal}, nil
	case lid == lease.NoLease || internal || o.upstreamLeases.has(lid):
		return Route{Kind: RouteUpstream}, nil
	}
	var (
		rec   lease.LeaseRecord
		known bool
	)
	o.idx.read(func(ix *lease.Index) { rec, known = ix.Lease(lid) })
	if !known {
		resp, err := o.up.Range(ctx, &pb.RangeRequest{Key: o.ks.RecordKey(lid)})
		if err != nil {
			return Route{}, err
		}
		o.NoteHeader(resp.Header)
		if len(resp.Kvs) == 0 {
			o.upstreamLeases.add(lid)
			return Route{Kind: RouteUpstream}, nil
		}
		rec = lease.LeaseRecord{Carrier: lease.ID(resp.Kvs[0].Lease)}
		// The carrier's record is older than the lease's: the index has it
		// once it reaches the read's revision.
		o.WaitIndex(ctx, resp.Header.Revision, o.opts.HoldTimeout)
	}
	return o.routeCarrier(lid, rec.Carrier), nil
}

// routeCarrier routes lease id on carrier c, which this herald did not hold
// a moment ago.
func (o *Offloader) routeCarrier(id, c lease.ID) Route {
	var (
		owner     string
		live, ok  bool
		info      lease.SessionInfo
		haveOwner bool
	)
	o.idx.read(func(ix *lease.Index) {
		owner, live, ok = ix.OwnerOf(c)
		if s, has := ix.Session(owner); has {
			info, haveOwner = s.Info, true
		}
	})
	// Whether this herald owns c and holds the lease is read at once: a
	// takeover restores a carrier's leases and claims it in one step, and a
	// lease restored since the caller looked must not read as ended.
	o.mu.Lock()
	owns := o.own.Owns(c)
	_, held := o.table.CarrierOf(id)
	o.mu.Unlock()
	switch {
	case held:
		return Route{Kind: RouteLocal}
	case !ok:
		// No carrier record: the carrier expired (and took the lease's
		// record with it), or the index is behind a brand new carrier.
		return Route{Kind: RouteGone}
	case owns:
		// This herald owns the carrier but not the lease: it has ended.
		return Route{Kind: RouteGone}
	case !live || owner == o.opts.Name || !haveOwner || info.URL == "":
		return Route{Kind: RouteHold}
	}
	return Route{Kind: RouteForward, Owner: owner, URL: info.URL}
}

// leaseSet is a bounded set of lease IDs known not to be virtual (granted
// at etcd directly): a Put or keepalive with one needs no lookup again. IDs
// are never reused, so an entry never goes stale; the set is cleared when
// full.
type leaseSet struct {
	mu  sync.Mutex
	ids map[lease.ID]struct{}
}

const maxUpstreamLeases = 1 << 14

func (s *leaseSet) has(id lease.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *leaseSet) add(id lease.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil || len(s.ids) >= maxUpstreamLeases {
		s.ids = map[lease.ID]struct{}{}
	}
	s.ids[id] = struct{}{}
}
