package zookeeper

import (
	"bytes"
	"cmp"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// compare evaluates one txn compare on the state read, as etcd does, and
// pins what its result depends on, so that the multi fails (and the txn is
// planned again) if that changed before the commit:
//
//   - VERSION depends on existence and data version only: a present key's
//     data version is checked (a key deleted and created again up to the
//     same version has the same etcd version, so the answer stands), an
//     absent key by the generation of the directory that would hold it.
//   - CREATE, MOD, VALUE and LEASE depend on which incarnation of the
//     znode it is: the parent directory's generation is checked too, read
//     before the key, so no delete and re-create can come between. That is
//     the proof that mod_revision (mzxid) and create_revision (czxid) are
//     unchanged when the multi's checks pass.
//   - A compare over a range (range_end) pins every directory the range
//     lists and every key in it.
func (p *plan) compare(c *pb.Compare) (bool, error) {
	exact := c.Target != pb.Compare_VERSION
	leaves, err := p.readRange(c.Key, c.RangeEnd, exact)
	if err != nil {
		return false, err
	}
	if len(leaves) == 0 {
		if c.Target == pb.Compare_VALUE {
			// etcd: a value compare on no key fails (no value to compare).
			return false, nil
		}
		return compareKV(c, &mvccpb.KeyValue{}), nil
	}
	for _, l := range leaves {
		if !compareKV(c, l.kv()) {
			return false, nil
		}
	}
	return true, nil
}

// compareKV is etcd's comparison of one key with a compare's target.
func compareKV(c *pb.Compare, kv *mvccpb.KeyValue) bool {
	var r int
	switch c.Target {
	case pb.Compare_VALUE:
		r = bytes.Compare(kv.Value, c.GetValue())
	case pb.Compare_CREATE:
		r = cmp.Compare(kv.CreateRevision, c.GetCreateRevision())
	case pb.Compare_MOD:
		r = cmp.Compare(kv.ModRevision, c.GetModRevision())
	case pb.Compare_VERSION:
		r = cmp.Compare(kv.Version, c.GetVersion())
	case pb.Compare_LEASE:
		r = cmp.Compare(kv.Lease, c.GetLease())
	}
	switch c.Result {
	case pb.Compare_EQUAL:
		return r == 0
	case pb.Compare_NOT_EQUAL:
		return r != 0
	case pb.Compare_GREATER:
		return r > 0
	case pb.Compare_LESS:
		return r < 0
	}
	return true
}
