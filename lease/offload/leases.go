package offload

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// MergeLeases turns etcd's LeaseLeases answer into the fleet's: herald's
// internal leases (carriers, sessions) removed, every virtual lease of every
// herald added. The virtual leases are read from their records at etcd, so
// a lease granted through any herald before the call is listed.
func (o *Offloader) MergeLeases(ctx context.Context, resp *pb.LeaseLeasesResponse) (*pb.LeaseLeasesResponse, error) {
	virtual, err := o.readRecords(ctx)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	held := o.table.Leases(o.now())
	o.mu.Unlock()
	resp = o.HideInternal(resp)
	out := resp.Leases
	seen := map[int64]bool{}
	for _, l := range out {
		seen[l.ID] = true
	}
	for _, ids := range [][]lease.ID{held, virtual} {
		for _, id := range ids {
			if !seen[int64(id)] {
				seen[int64(id)] = true
				out = append(out, &pb.LeaseStatus{ID: int64(id)})
			}
		}
	}
	resp.Leases = out
	return resp, nil
}

// readRecords lists the virtual leases recorded at etcd.
func (o *Offloader) readRecords(ctx context.Context) ([]lease.ID, error) {
	p := o.ks.RecordsPrefix()
	resp, err := o.up.Range(ctx, &pb.RangeRequest{Key: p, RangeEnd: lease.PrefixEnd(p), KeysOnly: true})
	if err != nil {
		return nil, err
	}
	o.NoteHeader(resp.Header)
	ids := make([]lease.ID, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if pk, ok := o.ks.Parse(kv.Key); ok && pk.Kind == lease.KindRecord {
			ids = append(ids, pk.ID)
		}
	}
	return ids, nil
}

// HideInternal removes herald's internal leases (carriers, sessions) from
// etcd's LeaseLeases answer: they are nobody's client leases.
func (o *Offloader) HideInternal(resp *pb.LeaseLeasesResponse) *pb.LeaseLeasesResponse {
	internal := o.internalPrefix()
	known := map[int64]bool{}
	o.idx.read(func(ix *lease.Index) {
		for _, c := range ix.Carriers() {
			known[int64(c)] = true
		}
		for _, name := range ix.Sessions() {
			s, _ := ix.Session(name)
			known[int64(s.Lease)] = true
		}
	})
	out := resp.Leases[:0]
	for _, l := range resp.Leases {
		if !known[l.ID] && !lease.IsInternal(lease.ID(l.ID), internal) {
			out = append(out, l)
		}
	}
	resp.Leases = out
	return resp
}
