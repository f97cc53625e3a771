package zookeeper

import (
	"bytes"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// checkTxn refuses what etcd's gRPC layer refuses before a txn runs
// (checkTxnRequest, checkIntervals): too many ops, empty keys, put flags
// that contradict, a key written twice or put inside a range deleted by
// the same branch or by a txn nested in it.
func (c *Client) checkTxn(r *pb.TxnRequest) error {
	if err := checkTxnRequest(r, c.cfg.MaxTxnOps); err != nil {
		return err
	}
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		if _, _, err := checkIntervals(ops); err != nil {
			return err
		}
	}
	return nil
}

// checkTxnRequest checks one txn and, within what its own ops leave of
// maxOps, the txns nested in it, as etcd does.
func checkTxnRequest(r *pb.TxnRequest, maxOps int) error {
	n := max(len(r.Compare), len(r.Success), len(r.Failure))
	if n > maxOps {
		return rpctypes.ErrGRPCTooManyOps
	}
	for _, cmp := range r.Compare {
		if len(cmp.Key) == 0 {
			return rpctypes.ErrGRPCEmptyKey
		}
	}
	for _, ops := range [][]*pb.RequestOp{r.Success, r.Failure} {
		for _, op := range ops {
			if err := checkOp(op, maxOps-n); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkOp(op *pb.RequestOp, maxOps int) error {
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
		return checkTxnRequest(v.RequestTxn, maxOps)
	}
	// etcd's answer to an empty op.
	return rpctypes.ErrGRPCKeyNotFound
}

// deleted is a delete's interval [key, end), or the point key when end is
// empty, compared as plain byte strings, as etcd's interval tree compares
// them (so a "\x00" end covers nothing after key).
type deleted struct{ key, end []byte }

func covered(dels []deleted, key []byte) bool {
	for _, d := range dels {
		if len(d.end) == 0 && bytes.Equal(key, d.key) ||
			len(d.end) > 0 && bytes.Compare(key, d.key) >= 0 && bytes.Compare(key, d.end) < 0 {
			return true
		}
	}
	return false
}

// checkIntervals is etcd's overlap rule for one branch: a put's key may
// appear in no other put and in no delete of the branch or of the txns
// nested in it, except that a nested txn's two branches may put the same
// key (only one of them runs). It returns the branch's puts and deletes,
// nested ones included.
func checkIntervals(ops []*pb.RequestOp) (map[string]bool, []deleted, error) {
	var dels []deleted
	for _, op := range ops {
		if d := op.GetRequestDeleteRange(); d != nil {
			dels = append(dels, deleted{d.Key, d.RangeEnd})
		}
	}
	puts := map[string]bool{}
	for _, op := range ops {
		t := op.GetRequestTxn()
		if t == nil {
			continue
		}
		putsThen, delsThen, err := checkIntervals(t.Success)
		if err != nil {
			return nil, nil, err
		}
		putsElse, delsElse, err := checkIntervals(t.Failure)
		if err != nil {
			return nil, nil, err
		}
		for k := range putsThen {
			if puts[k] || covered(dels, []byte(k)) {
				return nil, nil, rpctypes.ErrGRPCDuplicateKey
			}
			puts[k] = true
		}
		for k := range putsElse {
			if puts[k] && !putsThen[k] || covered(dels, []byte(k)) {
				return nil, nil, rpctypes.ErrGRPCDuplicateKey
			}
			puts[k] = true
		}
		dels = append(append(dels, delsThen...), delsElse...)
	}
	for _, op := range ops {
		p := op.GetRequestPut()
		if p == nil {
			continue
		}
		if puts[string(p.Key)] || covered(dels, p.Key) {
			return nil, nil, rpctypes.ErrGRPCDuplicateKey
		}
		puts[string(p.Key)] = true
	}
	return puts, dels, nil
}
