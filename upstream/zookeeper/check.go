package zookeeper

import (
	"bytes"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// checkTxn refuses what etcd's gRPC layer refuses before a txn runs: too
// many ops, empty keys, put flags that contradict, a key written twice or
// put inside a range the same branch deletes. Nested txns are refused by
// apply.
func (c *Client) checkTxn(r *pb.TxnRequest) error {
	if max(len(r.Compare), len(r.Success), len(r.Failure)) > c.cfg.MaxTxnOps {
		return rpctypes.ErrGRPCTooManyOps
	}
	for _, cmp := range r.Compare {
		if len(cmp.Key) == 0 {
			return rpctypes.ErrGRPCEmptyKey
		}
	}
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if err := checkOp(op); err != nil {
				return err
			}
		}
	}
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		if err := checkDuplicates(ops); err != nil {
			return err
		}
	}
	return nil
}

func checkOp(op *pb.RequestOp) error {
	switch v := op.Request.(type) {
	case *pb.RequestOp_RequestRange:
		return checkRange(v.RequestRange)
	case *pb.RequestOp_RequestPut:
		p := v.RequestPut
		switch {
		case len(p.Key) == 0:
			return rpctypes.ErrGRPCEmptyKey
		case p.IgnoreValue && len(p.Value) != 0:
			return rpctypes.ErrGRPCValueProvided
		case p.IgnoreLease && p.Lease != 0:
			return rpctypes.ErrGRPCLeaseProvided
		}
		return nil
	case *pb.RequestOp_RequestDeleteRange:
		if len(v.RequestDeleteRange.Key) == 0 {
			return rpctypes.ErrGRPCEmptyKey
		}
		return nil
	case *pb.RequestOp_RequestTxn:
		return errNestedTxn
	}
	// etcd's answer to an empty op.
	return rpctypes.ErrGRPCKeyNotFound
}

// checkDuplicates is etcd's overlap rule for one branch: a put's key may
// appear in no other put and in no delete of the branch. Deletes are
// intervals [key, range_end) compared as plain byte strings, as etcd's
// interval tree compares them (so a "\x00" end covers nothing after key).
func checkDuplicates(ops []*pb.RequestOp) error {
	puts := map[string]bool{}
	type interval struct{ key, end []byte }
	var dels []interval
	for _, op := range ops {
		if d := op.GetRequestDeleteRange(); d != nil {
			dels = append(dels, interval{d.Key, d.RangeEnd})
		}
	}
	for _, op := range ops {
		p := op.GetRequestPut()
		if p == nil {
			continue
		}
		if puts[string(p.Key)] {
			return rpctypes.ErrGRPCDuplicateKey
		}
		puts[string(p.Key)] = true
		for _, d := range dels {
			if len(d.end) == 0 && bytes.Equal(p.Key, d.key) ||
				len(d.end) > 0 && bytes.Compare(p.Key, d.key) >= 0 && bytes.Compare(p.Key, d.end) < 0 {
				return rpctypes.ErrGRPCDuplicateKey
			}
		}
	}
	return nil
}
