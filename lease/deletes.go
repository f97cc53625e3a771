package lease

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// DefaultMaxOpsPerTxn is etcd's default --max-txn-ops.
const DefaultMaxOpsPerTxn = 128

// DeleteTxn is one upstream transaction of DeleteTxns: it deletes part of
// what some leases on one carrier left upstream.
type DeleteTxn struct {
	Carrier ID
	Txn     *pb.TxnRequest
	// Ops counts the operations in Txn's success branch.
	Ops int
	// Guards are the guarded key deletes in it: a guard whose nested txn
	// did not succeed left its key in place (written since its attachment).
	Guards []Guard
}

// Guard is one guarded key delete of a DeleteTxn.
type Guard struct {
	Op    int // its position in Txn.Success
	Lease ID
	Key   AttachedKey
}

// DeleteTxns plans the upstream transactions that remove ended leases (Tick
// or Revoke output): their records, their keys and the keys' attachments.
//
// The one crash ordering: for each carrier, every record of the doomed leases
// goes first, then the keys, each with its attachment. So
//
//   - a Put racing with the expiry fails as soon as the first transaction has
//     run (every Put with a virtual lease compares the lease's record), and
//   - a herald that dies between two transactions leaves attachments without a
//     record, which the restarted herald or its successor deletes (orphans).
//
// Each key's delete is guarded by mod_revision(key) == its attachment
// revision, in a nested txn, so a key written since by anyone (moved to
// another lease, rewritten without a lease, even directly at etcd) survives,
// and one such key does not abort the batch. Every transaction is fenced with
// fence(carrier), the compare that holds only while this herald still owns
// the carrier; a transaction whose fence fails changes nothing, and the new
// owner finishes the job from what is left upstream.
//
// Transactions hold at most maxOps-1 operations (≤ 0: DefaultMaxOpsPerTxn):
// etcd lets a nested txn hold maxOps minus its parent's operation count, and
// each guard is one. Carriers come in the order they first appear in
// doomed, leases and keys in input order; deleting what is already gone
// changes nothing, so replaying a plan after a failure is safe.
func (k Keyspace) DeleteTxns(doomed []Expired, fence func(carrier ID) *pb.Compare, maxOps int) []DeleteTxn {
	if maxOps <= 0 {
		maxOps = DefaultMaxOpsPerTxn
	}
	per := max(maxOps-1, 1)
	var carriers []ID
	byCarrier := map[ID][]Expired{}
	for _, e := range doomed {
		if _, ok := byCarrier[e.Carrier]; !ok {
			carriers = append(carriers, e.Carrier)
		}
		byCarrier[e.Carrier] = append(byCarrier[e.Carrier], e)
	}
	var out []DeleteTxn
	for _, c := range carriers {
		var ops []*pb.RequestOp
		guards := map[int]Guard{} // by position in ops
		for _, e := range byCarrier[c] {
			ops = append(ops, OpDelete(k.RecordKey(e.ID), nil))
		}
		for _, e := range byCarrier[c] {
			for _, ak := range e.Keys {
				key := []byte(ak.Key)
				guards[len(ops)] = Guard{Lease: e.ID, Key: ak}
				ops = append(ops, guardedDelete(key, c, ak.Rev), OpDelete(k.AttachKey(e.ID, key), nil))
			}
		}
		for start := 0; start < len(ops); start += per {
			n := min(len(ops)-start, per)
			// A key and its attachment may land in two transactions: a crash
			// between them leaves an orphan attachment, cleaned up like any.
			txn := &pb.TxnRequest{Success: ops[start : start+n : start+n]}
			if f := fence(c); f != nil {
				txn.Compare = []*pb.Compare{f}
			}
			dt := DeleteTxn{Carrier: c, Txn: txn, Ops: n}
			for i := start; i < start+n; i++ {
				if g, ok := guards[i]; ok {
					g.Op = i - start
					dt.Guards = append(dt.Guards, g)
				}
			}
			out = append(out, dt)
		}
	}
	return out
}

// guardedDelete deletes key only if it has not been written since revision
// rev (rev 0, an attachment of unknown revision: only if it still hangs on
// carrier).
func guardedDelete(key []byte, carrier ID, rev int64) *pb.RequestOp {
	cmp := &pb.Compare{Key: key, Target: pb.Compare_MOD, Result: pb.Compare_EQUAL,
		TargetUnion: &pb.Compare_ModRevision{ModRevision: rev}}
	if rev == 0 {
		cmp = &pb.Compare{Key: key, Target: pb.Compare_LEASE, Result: pb.Compare_EQUAL,
			TargetUnion: &pb.Compare_Lease{Lease: int64(carrier)}}
	}
	return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{
		Compare: []*pb.Compare{cmp},
		Success: []*pb.RequestOp{OpDelete(key, nil)},
	}}}
}

// OpDelete is a DeleteRange of [key, end) as a txn operation.
func OpDelete(key, end []byte) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: key, RangeEnd: end}}}
}

// OpPut is a Put as a txn operation.
func OpPut(key, value []byte, lease ID) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: key, Value: value, Lease: int64(lease)}}}
}

// ModIs compares key's mod revision with rev (0: the key does not exist).
func ModIs(key []byte, rev int64) *pb.Compare {
	return &pb.Compare{Key: key, Target: pb.Compare_MOD, Result: pb.Compare_EQUAL,
		TargetUnion: &pb.Compare_ModRevision{ModRevision: rev}}
}

// Exists compares that key exists (version > 0).
func Exists(key []byte) *pb.Compare {
	return &pb.Compare{Key: key, Target: pb.Compare_VERSION, Result: pb.Compare_GREATER,
		TargetUnion: &pb.Compare_Version{Version: 0}}
}

// Absent compares that key does not exist (version == 0).
func Absent(key []byte) *pb.Compare {
	return &pb.Compare{Key: key, Target: pb.Compare_VERSION, Result: pb.Compare_EQUAL,
		TargetUnion: &pb.Compare_Version{Version: 0}}
}
