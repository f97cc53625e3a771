package offload

import (
	"context"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// TestRevokeDeletesKeysInOneRevisionWhileTheIndexTrails: the lease index
// (the feed of etcd's watch) is held behind etcd while a lease with two
// keys is revoked, and it delivers the keys' attachments only after the
// revoke has taken the lease out of the table and before its delete has
// reached etcd. Those are keys of a lease that has ended, owned by this
// herald: the index must leave them to the revoke's delete, so that both
// keys go in one revision, the one the revoke answers, as etcd deletes a
// revoked lease's keys.
func TestRevokeDeletesKeysInOneRevisionWhileTheIndexTrails(t *testing.T) {
	f := newFleet(t)
	n := f.start("a")
	id := n.grant(4)

	n.conn.holdAnswers(watchMethod) // the index sees nothing of what follows
	k1, k2 := f.key("k1"), f.key("k2")
	n.put(k1, "1", id)
	last := n.put(k2, "2", id).Header.Revision

	n.conn.holdTxns()
	revoked := n.revokeAsync(id)
	waitUntil(t, "the revoke to take the lease out of the table", func() bool { return !n.holds(id) })

	n.conn.releaseAnswers(watchMethod)
	n.waitIndex(last) // the index has seen both attachments, the lease gone
	n.conn.release()
	a := receive(t, "the revoke's answer", revoked)
	if a.err != nil || a.resp == nil {
		t.Fatalf("revoke: %v %v", a.resp, a.err)
	}
	rev := a.resp.Header.Revision

	cli := harness.Client(t, member.Endpoint(t))
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	wch := cli.Watch(ctx, f.keys, clientv3.WithPrefix(), clientv3.WithRev(last+1))
	deletedAt := map[string]int64{}
	for resp := range wch {
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete {
				deletedAt[string(ev.Kv.Key)] = ev.Kv.ModRevision
			}
		}
		if len(deletedAt) == 2 || resp.Err() != nil {
			break
		}
	}
	if deletedAt[k1] == 0 || deletedAt[k1] != deletedAt[k2] || deletedAt[k1] != rev {
		t.Fatalf("keys deleted at %v, revoke answered revision %d: want both at that one revision", deletedAt, rev)
	}
	if strings.Contains(n.log.String(), "deleting keys attached to leases that had ended") {
		t.Errorf("the index deleted keys of the revoked lease on its own:\n%s", n.log.String())
	}
}
