package lease

// DefaultMaxOpsPerTxn is etcd's default --max-txn-ops.
const DefaultMaxOpsPerTxn = 128

// DeleteOp is one operation of an upstream delete transaction: delete Key
// (attached to Lease), or, when Record is set, delete Lease's record.
type DeleteOp struct {
	Lease  ID
	Key    string
	Record bool
}

// Batches splits the keys of expired or revoked leases into transactions of
// at most maxOps operations (≤ 0 means DefaultMaxOpsPerTxn), in input order,
// filling each transaction before starting the next, so a rack's worth of
// expiries costs few transactions. Each lease's record delete comes right
// after its last key (in the same transaction, or the next one when the key
// filled a transaction): if the caller stops half-way, every key not yet
// deleted is still listed in a record upstream.
//
// The caller may guard each delete with a nested Txn (compare mod_revision,
// then delete) so one rewritten key does not abort the batch; etcd checks a
// nested Txn against maxTxnOps minus the outer op count, so pass at most
// maxTxnOps-1 in that case.
func Batches(expired []Expired, maxOps int) [][]DeleteOp {
	if maxOps <= 0 {
		maxOps = DefaultMaxOpsPerTxn
	}
	var (
		out [][]DeleteOp
		cur []DeleteOp
	)
	add := func(op DeleteOp) {
		if len(cur) == maxOps {
			out = append(out, cur)
			cur = nil
		}
		if cur == nil {
			cur = make([]DeleteOp, 0, maxOps)
		}
		cur = append(cur, op)
	}
	for _, e := range expired {
		for _, k := range e.Keys {
			add(DeleteOp{Lease: e.ID, Key: k})
		}
		add(DeleteOp{Lease: e.ID, Record: true})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
