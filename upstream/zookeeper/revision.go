package zookeeper

import (
	"fmt"

	"github.com/go-zookeeper/zk"
)

// The revision znode (<chroot>/herald/rev) is set by every multi herald
// writes, as its last op. Its mzxid is therefore the zxid of herald's last
// write: the etcd revision of the store. A write's header revision is the
// mzxid that its own multi gave it; a read's is the mzxid read at its
// start (after a sync unless the read is serializable), which is at least
// the revision of every write acknowledged before the read began.

// bumpRevision is the last op of every write multi.
func (c *Client) bumpRevision() *zk.SetDataRequest {
	return &zk.SetDataRequest{Path: c.paths.rev, Version: -1}
}

// currentRevision returns the store's revision. Unless serializable, it
// first syncs the session's server with the leader, so that a read that
// follows sees every write acknowledged before the call (ZooKeeper's reads
// are otherwise served from the server's possibly lagging state).
func (c *Client) currentRevision(serializable bool) (int64, error) {
	if !serializable {
		if _, err := c.conn.Sync(c.paths.rev); err != nil {
			return 0, fmt.Errorf("sync: %w", err)
		}
	}
	ok, st, err := c.conn.Exists(c.paths.rev)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", c.paths.rev, err)
	}
	if !ok {
		return 0, fmt.Errorf("stat %s: the revision znode is missing", c.paths.rev)
	}
	c.saw(st.Mzxid)
	return st.Mzxid, nil
}

// saw records a revision read or written (the lease answers' header).
func (c *Client) saw(rev int64) {
	for {
		old := c.seenRev.Load()
		if rev <= old || c.seenRev.CompareAndSwap(old, rev) {
			return
		}
	}
}
