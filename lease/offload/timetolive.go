package offload

import (
	"context"
	"slices"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/lease"
)

// TimeToLive answers LeaseTimeToLive for a lease this herald holds. With
// keys, the lease's attachments are read from etcd (keys that clients put
// through other heralds a moment ago included, without waiting for the
// index) and each key is checked there: a key deleted, moved to another
// lease or rewritten since its attachment (through any herald, or at etcd
// directly) is not listed, as etcd would not list it. p is the client's
// Permit: read permission on every key listed, as etcd asks.
func (o *Offloader) TimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest, p *Permit) (*pb.LeaseTimeToLiveResponse, Verdict, error) {
	o.mu.Lock()
	c, v := o.vouchLocked(lease.ID(r.ID), o.wall())
	if v != Answered {
		o.mu.Unlock()
		return nil, v, nil
	}
	st := o.table.TimeToLive(lease.ID(r.ID), o.now(), r.Keys)
	o.mu.Unlock()
	resp := &pb.LeaseTimeToLiveResponse{Header: o.LocalHeader(), ID: r.ID, TTL: st.TTL, GrantedTTL: st.GrantedTTL}
	if st.TTL < 0 || !r.Keys {
		if err := p.Authenticated(); err != nil {
			return nil, Answered, err
		}
		return resp, Answered, nil
	}
	keys, hdr, err := o.keysOn(ctx, lease.ID(r.ID), c, st.Keys, nil)
	if err != nil {
		return nil, Answered, err
	}
	if err := p.Read(keys); err != nil {
		return nil, Answered, err
	}
	if hdr != nil {
		resp.Header = hdr
	}
	resp.Keys = keys
	return resp, Answered, nil
}

// KeysOf lists the keys on lease id as this herald's table knows them:
// none for a lease it does not hold.
func (o *Offloader) KeysOf(id int64) [][]byte {
	o.mu.Lock()
	st := o.table.TimeToLive(lease.ID(id), o.now(), true)
	o.mu.Unlock()
	keys := make([][]byte, len(st.Keys))
	for i, k := range st.Keys {
		keys[i] = []byte(k.Key)
	}
	return keys
}

// keysOn lists the keys on virtual lease id (on carrier c) as etcd would
// list them: its attachment records at etcd and the known ones, each
// checked there (verifyKeys), except the keys skip names (nil: none).
func (o *Offloader) keysOn(ctx context.Context, id, c lease.ID, known []lease.AttachedKey, skip func(key string) bool) ([][]byte, *pb.ResponseHeader, error) {
	attached, err := o.readAttachments(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	keys := mergeKeys(known, attached)
	if skip != nil {
		keys = slices.DeleteFunc(keys, func(k lease.AttachedKey) bool { return skip(k.Key) })
	}
	if len(keys) == 0 {
		return nil, nil, nil
	}
	return o.verifyKeys(ctx, c, keys)
}

// verifyKeys checks keys at etcd and returns those still attached: on
// carrier c, and not written since their attachment except by a Put that
// kept the lease (which refreshes the attachment). Each key is one nested
// txn of compares, so nothing but the verdict comes back (a keys-only read
// would not show the lease).
func (o *Offloader) verifyKeys(ctx context.Context, c lease.ID, keys []lease.AttachedKey) ([][]byte, *pb.ResponseHeader, error) {
	out := [][]byte{}
	var hdr *pb.ResponseHeader
	per := max(o.opts.MaxTxnOps-2, 1) // each nested txn carries two compares
	for len(keys) > 0 {
		n := min(len(keys), per)
		ops := make([]*pb.RequestOp, 0, n)
		for _, k := range keys[:n] {
			key := []byte(k.Key)
			ops = append(ops, &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Compare: []*pb.Compare{
				{Key: key, Target: pb.Compare_LEASE, Result: pb.Compare_EQUAL, TargetUnion: &pb.Compare_Lease{Lease: int64(c)}},
				{Key: key, Target: pb.Compare_MOD, Result: pb.Compare_GREATER, TargetUnion: &pb.Compare_ModRevision{ModRevision: k.Rev - 1}},
			}}}})
		}
		resp, err := o.up.Txn(ctx, &pb.TxnRequest{Success: ops})
		if err != nil {
			return nil, nil, err
		}
		o.NoteHeader(resp.Header)
		hdr = resp.Header
		for i, r := range resp.Responses {
			if r.GetResponseTxn().GetSucceeded() {
				out = append(out, []byte(keys[i].Key))
			}
		}
		keys = keys[n:]
	}
	return out, hdr, nil
}

// readAttachments reads lease id's attachment records at etcd.
func (o *Offloader) readAttachments(ctx context.Context, id lease.ID) ([]lease.AttachedKey, error) {
	p := o.ks.AttachPrefix(id)
	resp, err := o.up.Range(ctx, &pb.RangeRequest{Key: p, RangeEnd: lease.PrefixEnd(p), KeysOnly: true})
	if err != nil {
		return nil, err
	}
	o.NoteHeader(resp.Header)
	keys := make([]lease.AttachedKey, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		keys = append(keys, lease.AttachedKey{Key: string(kv.Key[len(p):]), Rev: kv.ModRevision})
	}
	return keys, nil
}

// mergeKeys unites two sorted key lists, keeping the newer revision of a
// key in both.
func mergeKeys(a, b []lease.AttachedKey) []lease.AttachedKey {
	out := slices.Concat(a, b)
	slices.SortFunc(out, func(x, y lease.AttachedKey) int {
		if c := strings.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		return int(y.Rev - x.Rev)
	})
	return slices.CompactFunc(out, func(x, y lease.AttachedKey) bool { return x.Key == y.Key })
}
