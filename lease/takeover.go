package lease

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Successors orders the candidates (heralds with a live session) for taking
// over orphaned carrier c, whose record names old: a herald named old
// itself — the owner restarted under a new session — comes first, the others
// follow by rendezvous hash of (c, name), so each carrier of a dead herald
// goes to its own successor and the load spreads. Every herald computes the
// same order from the same index.
func Successors(c ID, old string, candidates []string) []string {
	out := slices.Clone(candidates)
	slices.SortFunc(out, func(a, b string) int {
		if (a == old) != (b == old) {
			if a == old {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(successorRank(c, b), successorRank(c, a)), cmp.Compare(a, b))
	})
	return out
}

func successorRank(c ID, name string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(c))
	h.Write(b[:])
	h.Write([]byte(name))
	return mix64(h.Sum64())
}

// TakeoverTxn is the transaction with which herald me, holding session,
// claims carrier c whose record the index showed as seen: it succeeds only
// if nobody changed the record since and the session the record names is
// gone (the session key is absent, or hangs on another lease: a compare of a
// missing key's lease sees 0).
func (k Keyspace) TakeoverTxn(c ID, seen Carrier, me string, session ID) *pb.TxnRequest {
	return &pb.TxnRequest{
		Compare: []*pb.Compare{
			ModIs(k.CarrierKey(c), seen.Rev),
			{Key: k.SessionKey(seen.Owner), Target: pb.Compare_LEASE, Result: pb.Compare_NOT_EQUAL,
				TargetUnion: &pb.Compare_Lease{Lease: int64(seen.Session)}},
		},
		Success: []*pb.RequestOp{OpPut(k.CarrierKey(c), CarrierRecord{Owner: me, Session: session}.Encode(), c)},
	}
}

// ClaimNewTxn records a carrier that herald me has just granted.
func (k Keyspace) ClaimNewTxn(c ID, me string, session ID) *pb.TxnRequest {
	return &pb.TxnRequest{
		Compare: []*pb.Compare{Absent(k.CarrierKey(c))},
		Success: []*pb.RequestOp{OpPut(k.CarrierKey(c), CarrierRecord{Owner: me, Session: session}.Encode(), c)},
	}
}
