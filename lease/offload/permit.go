package offload

import (
	"context"
	"errors"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/heraldproj/herald/lease"
	"github.com/heraldproj/herald/upstream"
)

// Permit asks etcd, with one client's own metadata, whether the client may
// do what it asked herald to do with virtual leases, exactly as etcd would
// judge the same call made to it directly; herald then acts as its own
// etcd user. Each check is asked when the call comes and nothing is kept,
// so a revoked permission, a deleted user or an expired token takes effect
// at once, as in etcd. docs/design.md ("etcd auth") says why this design.
//
// A probe is a request that etcd checks as it checks the client's call
// and then does nothing with: a Txn whose operations sit in the failure
// branch of a txn without compares (etcd checks the permissions of both
// branches and runs the empty success branch), or a serializable read
// whose refusal tells a valid token from an invalid one (Authenticated).
//
// A nil *Permit permits everything: etcd cannot have auth on for the call.
type Permit struct {
	o     *Offloader
	ctx   context.Context // the client's call, its metadata outgoing
	token bool
}

// PermitFor returns the checks of a client's call (its incoming metadata):
// nil when the call carries no token and herald has no etcd user (etcd
// cannot have auth on: herald's own writes would be refused).
func (o *Offloader) PermitFor(client context.Context) *Permit {
	token := upstream.HasToken(client)
	if !token && !o.opts.CheckPermissions {
		return nil
	}
	return &Permit{o: o, ctx: upstream.Outgoing(client), token: token}
}

// Token reports whether the client's call carries a token.
func (p *Permit) Token() bool { return p != nil && p.token }

// Authenticated is etcd's check of LeaseGrant and LeaseTimeToLive without
// keys (requireAuthInfo): with auth on, a valid token. It is also the
// whole check of a tokenless client: without a token etcd refuses every
// call alike (ErrUserEmpty) with auth on, and none with it off.
//
// The probe is a serializable count of one of herald's record keys: etcd
// validates the token before anything else (ErrInvalidAuthToken) and
// refuses a call without one (ErrUserEmpty); what it says after that
// (permission denied on herald's key, or an auth revision older than the
// store's, which requireAuthInfo does not look at) means the token is
// valid. A serializable read is answered by the member herald talks to,
// without a raft round or a wait for its applied index.
func (p *Permit) Authenticated() error {
	if p == nil {
		return nil
	}
	_, err := p.o.client.Range(p.ctx, &pb.RangeRequest{Key: p.o.ks.RecordsPrefix(), CountOnly: true, Serializable: true})
	switch {
	case err == nil, errors.Is(rpctypes.Error(err), rpctypes.ErrPermissionDenied), errors.Is(rpctypes.Error(err), rpctypes.ErrAuthOldRevision):
		return nil
	}
	return err
}

// Read is etcd's check of LeaseTimeToLive with keys
// (checkLeaseTimeToLive): read permission on every key on the lease.
func (p *Permit) Read(keys [][]byte) error {
	return p.each(keys, func(k []byte) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: k, CountOnly: true}}}
	})
}

// Write is etcd's check of LeaseRevoke, and of a Put's lease
// (checkLeasePuts): write permission on every key on the lease.
func (p *Permit) Write(keys [][]byte) error {
	return p.each(keys, func(k []byte) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: k}}}
	})
}

// each probes op(k) for every key, a few keys per txn; no keys, or no
// token: Authenticated.
func (p *Permit) each(keys [][]byte, op func([]byte) *pb.RequestOp) error {
	if p == nil {
		return nil
	}
	if !p.token || len(keys) == 0 {
		return p.Authenticated()
	}
	for chunk := range slices.Chunk(keys, max(p.o.opts.MaxTxnOps, 1)) {
		ops := make([]*pb.RequestOp, len(chunk))
		for i, k := range chunk {
			ops[i] = op(k)
		}
		if err := p.probe(ops...); err != nil {
			return err
		}
	}
	return nil
}

// probe asks etcd to check ops as the client's and run none of them.
func (p *Permit) probe(ops ...*pb.RequestOp) error {
	_, err := p.o.client.Txn(p.ctx, &pb.TxnRequest{Failure: ops})
	return err
}

// Txn is etcd's check of a client's txn r (a Put or a DeleteRange comes as
// a one-op txn): its compares, reads, writes, prev_kv and nested txns as
// etcd checks them (r itself is probed, nested), and for every virtual
// lease r puts a key with, write permission on the keys already on the
// lease (checkLeasePuts). ctx is herald's own, for reading those keys.
func (p *Permit) Txn(ctx context.Context, r *pb.TxnRequest) error {
	if p == nil {
		return nil
	}
	if !p.token {
		return p.Authenticated()
	}
	if err := p.probe(&pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: r}}); err != nil {
		return err
	}
	written := putKeys(r)
	for _, id := range putLeases(r) {
		c, virtual, err := p.o.carrierOf(ctx, id)
		if err != nil {
			return err
		}
		if !virtual {
			continue // etcd's own lease: the probe of r checked it
		}
		keys, _, err := p.o.keysOn(ctx, id, c, nil, func(key string) bool { return written[key] })
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := p.Write(keys); err != nil {
				return err
			}
		}
	}
	return nil
}

// putKeys are the keys r puts, in any branch at any depth: the probe of r
// checks write permission on each.
func putKeys(r *pb.TxnRequest) map[string]bool {
	keys := map[string]bool{}
	lease.WalkTxn(r, nil, func(put *pb.PutRequest) { keys[string(put.Key)] = true })
	return keys
}

// putLeases are the distinct leases r puts keys with.
func putLeases(r *pb.TxnRequest) []lease.ID {
	var ids []lease.ID
	lease.WalkTxn(r, nil, func(put *pb.PutRequest) {
		if id := lease.ID(put.Lease); !put.IgnoreLease && id != lease.NoLease && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	})
	return ids
}
