package lease

import (
	"slices"
	"strings"

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
	// Records says it deletes lease records: the carrier's keys must wait
	// until every such txn of the carrier has run (the crash ordering);
	// txns of one phase may run in any order, or at once.
	Records bool
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
// The one crash ordering: a lease's record goes no later than its keys.
// Whole leases are packed into transactions — a lease's record, then each
// of its keys with its attachment — so a lease that fits in one (up to
// maxOps/2 − 1 keys: nearly every lease) is deleted whole or not at all; a
// revoke normally moves etcd's revision once, as etcd's own does. A larger
// lease has its record deleted in the first phase (Records) and its keys in
// the second, after every first-phase transaction of its carrier. So
//
//   - a Put racing with the expiry fails as soon as the lease's record is
//     gone (every Put with a virtual lease compares it), and
//   - a herald that dies between two transactions leaves each lease either
//     whole (its successor adopts it and it expires again) or, for a large
//     lease, attachments without a record, which the restarted herald or
//     its successor deletes (orphans).
//
// Transactions of one phase are independent of each other: the driver may
// run them at once.
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
// doomed, a lease's keys in input order; deleting what is already gone
// changes nothing, so replaying a plan after a failure is safe.
//
// A carrier's leases are packed in the order of their first key (a
// stable sort: leases without keys, then by key), so that the leases of
// one service, whose keys share its prefix, go in as few transactions as
// the op limit allows. Each transaction is one revision, and a watcher of
// that prefix gets one response per revision: a rack's expiry that spread
// one service's 50 leases over 50 revisions sent each of its watchers 50
// responses instead of a few (docs/benchmarks.md, the founding scenario).
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
		slices.SortStableFunc(byCarrier[c], func(a, b Expired) int { return strings.Compare(firstKey(a), firstKey(b)) })
		first, second := &txnPacker{k: k, carrier: c, fence: fence(c), per: per, records: true},
			&txnPacker{k: k, carrier: c, fence: fence(c), per: per}
		for _, e := range byCarrier[c] {
			ops, guards := k.leaseOps(e)
			if len(ops) <= per {
				first.add(ops, guards, true)
				continue
			}
			first.add(ops[:1], nil, true) // the record alone
			for i := 1; i < len(ops); i += 2 {
				g := guards[i]
				g.Op = 0
				second.add(ops[i:i+2], map[int]Guard{0: g}, false)
			}
		}
		out = append(out, first.done()...)
		out = append(out, second.done()...)
	}
	return out
}

// firstKey is the first of e's keys, "" when it has none.
func firstKey(e Expired) string {
	if len(e.Keys) == 0 {
		return ""
	}
	return e.Keys[0].Key
}

// leaseOps are a lease's deletes in order: its record, then each key's
// guarded delete and its attachment's; guards by position.
func (k Keyspace) leaseOps(e Expired) ([]*pb.RequestOp, map[int]Guard) {
	ops := []*pb.RequestOp{OpDelete(k.RecordKey(e.ID), nil)}
	guards := map[int]Guard{}
	for _, ak := range e.Keys {
		key := []byte(ak.Key)
		guards[len(ops)] = Guard{Lease: e.ID, Key: ak}
		ops = append(ops, guardedDelete(key, e.Carrier, ak.Rev), OpDelete(k.AttachKey(e.ID, key), nil))
	}
	return ops, guards
}

// txnPacker fills transactions of one carrier and phase.
type txnPacker struct {
	k       Keyspace
	carrier ID
	fence   *pb.Compare
	per     int
	records bool
	out     []DeleteTxn
	cur     *DeleteTxn
}

// add puts ops (a unit kept in one transaction: whole starts a new one if
// they do not fit) with their guards (by position in ops).
func (p *txnPacker) add(ops []*pb.RequestOp, guards map[int]Guard, whole bool) {
	if p.cur != nil && whole && p.cur.Ops+len(ops) > p.per {
		p.flush()
	}
	for i, op := range ops {
		if p.cur != nil && p.cur.Ops == p.per {
			p.flush()
		}
		if p.cur == nil {
			p.cur = &DeleteTxn{Carrier: p.carrier, Txn: &pb.TxnRequest{}, Records: p.records}
			if p.fence != nil {
				p.cur.Txn.Compare = []*pb.Compare{p.fence}
			}
		}
		if g, ok := guards[i]; ok {
			g.Op = p.cur.Ops
			p.cur.Guards = append(p.cur.Guards, g)
		}
		p.cur.Txn.Success = append(p.cur.Txn.Success, op)
		p.cur.Ops++
	}
}

func (p *txnPacker) flush() {
	if p.cur != nil {
		p.out = append(p.out, *p.cur)
		p.cur = nil
	}
}

func (p *txnPacker) done() []DeleteTxn {
	p.flush()
	return p.out
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
