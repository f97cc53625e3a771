package tests

import (
	"context"
	"fmt"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The checks a test runs on a LeaseLoadRun at the moments it chooses; every
// failure is recorded against its node (see Report).

// CheckAlive asks, through each live node's own client, TimeToLive with
// keys: the lease must exist with the TTL it was granted and list the node's
// key (op "timetolive"). Once per client it asks Leases: every live node's
// lease must be listed (op "leases"). A remaining TTL of 0 is not an error:
// etcd truncates the remaining time to whole seconds.
func (r *LeaseLoadRun) CheckAlive(ctx context.Context) {
	live := r.liveNodes()
	r.forEach(live, func(n *leaseNode) {
		r.mu.Lock()
		id, granted := n.lease, n.grantedTTL
		r.mu.Unlock()
		octx, cancel := r.boundCtx(ctx)
		defer cancel()
		resp, err := n.cli.TimeToLive(octx, id, clientv3.WithAttachedKeys())
		switch {
		case err != nil:
			r.fail(n, "timetolive", err)
		case resp.TTL < 0:
			r.fail(n, "timetolive", fmt.Errorf("lease %x not found (TTL %d) while kept alive", id, resp.TTL))
		case resp.GrantedTTL != granted:
			r.fail(n, "timetolive", fmt.Errorf("lease %x: granted TTL %d, was granted %d", id, resp.GrantedTTL, granted))
		case !slices.ContainsFunc(resp.Keys, func(k []byte) bool { return string(k) == n.key }):
			r.fail(n, "timetolive", fmt.Errorf("lease %x: keys %q do not list %q", id, resp.Keys, n.key))
		}
	})
	byClient := map[*clientv3.Client][]*leaseNode{}
	for _, n := range live {
		byClient[n.cli] = append(byClient[n.cli], n)
	}
	for cli, nodes := range byClient {
		octx, cancel := r.boundCtx(ctx)
		resp, err := cli.Leases(octx)
		cancel()
		listed := map[clientv3.LeaseID]bool{}
		if err == nil {
			for _, l := range resp.Leases {
				listed[l.ID] = true
			}
		}
		for _, n := range nodes {
			r.mu.Lock()
			id := n.lease
			r.mu.Unlock()
			switch {
			case err != nil:
				r.fail(n, "leases", err)
			case !listed[id]:
				r.fail(n, "leases", fmt.Errorf("lease %x not listed among %d leases", id, len(resp.Leases)))
			}
		}
	}
}

// VerifyKeys reads the prefix through cli (etcd itself is the ground truth)
// and counts the key of every node that was live before and after the read
// and is absent as lost. With checkLeaseIDs it also wants each key to carry
// its node's lease ID (op "verify"): true through the path the nodes use,
// false through etcd when the nodes' leases are herald's virtual leases
// (etcd shows the carrier's ID).
func (r *LeaseLoadRun) VerifyKeys(ctx context.Context, cli *clientv3.Client, checkLeaseIDs bool) error {
	before := r.liveNodes()
	octx, cancel := r.boundCtx(ctx)
	defer cancel()
	resp, err := cli.Get(octx, r.cfg.Prefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("lease load: verify: get %q: %w", r.cfg.Prefix, err)
	}
	leaseOf := map[string]int64{}
	for _, kv := range resp.Kvs {
		leaseOf[string(kv.Key)] = kv.Lease
	}
	for _, n := range before {
		lease, present := leaseOf[n.key]
		r.mu.Lock()
		switch {
		case !n.live: // stopped or failed meanwhile: its absence proves nothing
		case !present:
			if n.lostWhy == "" {
				n.lostWhy = fmt.Sprintf("absent at revision %d while its lease was kept alive", resp.Header.Revision)
			}
		case checkLeaseIDs && clientv3.LeaseID(lease) != n.lease:
			n.errs = append(n.errs, nodeError{op: "verify", err: fmt.Sprintf("key %s has lease %x, the node holds %x", n.key, lease, n.lease)})
		}
		r.mu.Unlock()
	}
	return nil
}

// RevokeAll ends every live node: it stops its keepalives, revokes its lease
// through its own client (op "revoke") and checks there that the key is gone
// (op "revoke" too). Each node is kept alive until its own revoke: revoking
// many leases can take longer than a TTL.
func (r *LeaseLoadRun) RevokeAll(ctx context.Context) {
	live := r.liveNodes()
	now := time.Now()
	r.mu.Lock()
	for _, n := range live {
		n.live = false // from now on, its key's DELETE is expected
		n.endedAt = now
	}
	r.mu.Unlock()
	r.forEach(live, func(n *leaseNode) {
		octx, cancel := r.boundCtx(ctx)
		defer cancel()
		n.stopKA()
		if _, err := n.cli.Revoke(octx, n.lease); err != nil {
			r.fail(n, "revoke", err)
			return
		}
		resp, err := n.cli.Get(octx, n.key)
		switch {
		case err != nil:
			r.fail(n, "revoke", fmt.Errorf("get after revoke: %w", err))
		case len(resp.Kvs) != 0:
			r.fail(n, "revoke", fmt.Errorf("key %s still there after its lease was revoked", n.key))
		}
	})
}

// boundCtx is ctx bounded by OpTimeout and by the workload's end.
func (r *LeaseLoadRun) boundCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	octx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	stop := context.AfterFunc(r.ctx, cancel)
	return octx, func() { stop(); cancel() }
}
