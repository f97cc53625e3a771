package zookeeper

import (
	"fmt"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// A key attached to a lease has an entry among the lease znode's children
// (lease.go), created and deleted in the same multi as the key's own
// write: the entries are exactly the lease's keys, which is what a revoke
// deletes and what TimeToLive lists. The planning below adds those ops.

// relink moves key's entry from lease from to lease to (0: none). The
// lease it joins must live: the multi checks the lease znode's version,
// so a revoke that begins first makes the put fail with etcd's "lease not
// found" when planned again.
func (p *plan) relink(key []byte, from, to int64) error {
	if from == to {
		return nil
	}
	if to != 0 {
		lp := p.c.leasePath(to)
		ok, st, err := p.c.conn.Exists(lp)
		if err != nil {
			return fmt.Errorf("stat %s: %w", lp, err)
		}
		if !ok || st.Version >= leaseRevoking {
			return rpctypes.ErrGRPCLeaseNotFound
		}
		p.pin(lp, st.Version)
		entry := lp + "/" + keyEntry(key)
		p.writes = append(p.writes, &zk.CreateRequest{Path: entry, Acl: zk.WorldACL(zk.PermAll)})
		p.bytes += len(entry) + opOverhead
	}
	if from != 0 {
		p.unlink(key, from)
	}
	return nil
}

// unlink removes key's entry from lease from: the key is deleted or moves
// to another lease.
func (p *plan) unlink(key []byte, from int64) {
	entry := p.c.leasePath(from) + "/" + keyEntry(key)
	p.writes = append(p.writes, &zk.DeleteRequest{Path: entry, Version: -1})
	p.bytes += len(entry) + opOverhead
}
