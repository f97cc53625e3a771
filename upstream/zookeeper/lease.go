package zookeeper

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"strconv"

	"github.com/go-zookeeper/zk"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Leases live in two znodes per lease, both persistent (doc.go, Leases):
//
//	<base>/leases/<id>   data: the granted TTL; children: the lease's keys
//	<base>/alive/<id>    no data; its mtime is the last renewal
//
// A lease's znode is at data version 0 while it lives; a revoke first
// sets it (version 1: revoking), so that no put attaches a key to it and
// no renewal keeps it, then deletes its keys, then both znodes.

const (
	// minLeaseTTL is etcd's smallest TTL with its default election
	// timeout (1 s): a shorter grant gets it.
	minLeaseTTL = 2
	// maxLeaseTTL is etcd's largest (lease.MaxLeaseTTL).
	maxLeaseTTL = 9_000_000_000
	// leaseRevoking is the lease znode's data version once a revoke began.
	leaseRevoking = 1
)

func (c *Client) leasePath(id int64) string { return c.paths.leases + "/" + leaseName(id) }
func (c *Client) alivePath(id int64) string { return c.paths.alive + "/" + leaseName(id) }

// leaseName is the lease's znode name: its ID in 16 hex digits.
func leaseName(id int64) string { return fmt.Sprintf("%016x", uint64(id)) }

// parseLeaseName is leaseName's inverse; names it does not produce are
// not herald's.
func parseLeaseName(name string) (int64, error) {
	if len(name) != 16 {
		return 0, fmt.Errorf("zookeeper: lease name %q: want 16 hex digits", name)
	}
	u, err := strconv.ParseUint(name, 16, 64)
	if err != nil || leaseName(int64(u)) != name || u == 0 {
		return 0, fmt.Errorf("zookeeper: lease name %q: not a lease", name)
	}
	return int64(u), nil
}

// encodeLeaseData is the lease znode's data: the granted TTL, 8 bytes big
// endian.
func encodeLeaseData(ttl int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(ttl)) }

var errBadLeaseData = errors.New("zookeeper: bad lease data")

// decodeLeaseData reads a lease znode's data (fuzzed: it comes from the
// network).
func decodeLeaseData(b []byte) (ttl int64, err error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: %d bytes, want 8", errBadLeaseData, len(b))
	}
	ttl = int64(binary.BigEndian.Uint64(b))
	if ttl < 1 || ttl > maxLeaseTTL {
		return 0, fmt.Errorf("%w: TTL %d", errBadLeaseData, ttl)
	}
	return ttl, nil
}

// keyEntry names a key among its lease's children: the whole key escaped
// as one name ('/' included), canonical as leafName makes it.
func keyEntry(key []byte) string { return leafName(key) }

// parseKeyEntry is keyEntry's inverse.
func parseKeyEntry(name string) ([]byte, error) {
	if name == emptyLeaf {
		return nil, fmt.Errorf("%w: %q is no key", errBadName, name)
	}
	key, err := unescape(name)
	if err != nil {
		return nil, err
	}
	if keyEntry(key) != name {
		return nil, fmt.Errorf("%w: %q is not canonical", errBadName, name)
	}
	return key, nil
}

// Grant creates a lease: the caller's ID, or a new random one for 0. A
// TTL below etcd's minimum gets the minimum, as in etcd.
func (c *Client) Grant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	if r.TTL > maxLeaseTTL {
		return nil, rpctypes.ErrGRPCLeaseTTLTooLarge
	}
	ttl := max(r.TTL, minLeaseTTL)
	for {
		id := r.ID
		if id == 0 {
			id = rand.Int64N(1<<62) + 1
		}
		_, err := c.conn.Multi(
			&zk.CreateRequest{Path: c.leasePath(id), Data: encodeLeaseData(ttl), Acl: zk.WorldACL(zk.PermAll)},
			&zk.CreateRequest{Path: c.alivePath(id), Acl: zk.WorldACL(zk.PermAll)},
		)
		switch {
		case errors.Is(err, zk.ErrNodeExists) && r.ID == 0:
			continue // another lease has that random ID: draw again
		case errors.Is(err, zk.ErrNodeExists):
			return nil, rpctypes.ErrGRPCLeaseExist
		case err != nil:
			return nil, grpcError(ctx, "lease grant", err)
		}
		c.ttls.Store(id, ttl)
		return &pb.LeaseGrantResponse{Header: c.header(), ID: id, TTL: ttl}, nil
	}
}

// leaseTTL is a live lease's granted TTL (cached: it never changes), or
// ok false when the lease is gone or being revoked.
func (c *Client) leaseTTL(id int64) (ttl int64, ok bool, err error) {
	data, st, err := c.conn.Get(c.leasePath(id))
	switch {
	case errors.Is(err, zk.ErrNoNode):
		c.ttls.Delete(id)
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	if ttl, err = decodeLeaseData(data); err != nil {
		return 0, false, fmt.Errorf("lease %x: %w", id, err)
	}
	c.ttls.Store(id, ttl)
	return ttl, st.Version < leaseRevoking, nil
}

// Revoke deletes the lease and every key attached to it, as etcd does,
// but in batches (a multi is bounded): a watcher may see the keys' deletes
// at several revisions. Once the revoke begins, the lease takes no keys
// and no renewals.
func (c *Client) Revoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	if err := c.revoke(ctx, r.ID); err != nil {
		return nil, grpcError(ctx, "lease revoke", err)
	}
	return &pb.LeaseRevokeResponse{Header: c.header()}, nil
}

func (c *Client) revoke(ctx context.Context, id int64) error {
	lp := c.leasePath(id)
	data, st, err := c.conn.Get(lp)
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return rpctypes.ErrGRPCLeaseNotFound
	case err != nil:
		return err
	case st.Version < leaseRevoking:
		_, err := c.conn.Set(lp, data, st.Version)
		if errors.Is(err, zk.ErrNoNode) {
			return rpctypes.ErrGRPCLeaseNotFound
		}
		if err != nil && !errors.Is(err, zk.ErrBadVersion) { // BadVersion: another revoke marked it
			return err
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		names, _, err := c.conn.Children(lp)
		if errors.Is(err, zk.ErrNoNode) {
			return nil // another revoke finished it
		}
		if err != nil {
			return err
		}
		if len(names) == 0 {
			_, err := c.conn.Multi(&zk.DeleteRequest{Path: lp, Version: -1}, &zk.DeleteRequest{Path: c.alivePath(id), Version: -1})
			switch {
			case err == nil, errors.Is(err, zk.ErrNoNode):
				c.ttls.Delete(id)
				return nil
			case errors.Is(err, zk.ErrNotEmpty):
				continue // a key came in before the mark: delete it too
			}
			return err
		}
		if err := c.deleteLeaseKeys(ctx, id, names); err != nil {
			return err
		}
	}
}

// deleteLeaseKeys deletes the keys named by a lease's children, each only
// while it is still attached to the lease, a txn per batch.
func (c *Client) deleteLeaseKeys(ctx context.Context, id int64, names []string) error {
	batch := max(1, c.cfg.MaxTxnOps/2)
	for start := 0; start < len(names); start += batch {
		txn := &pb.TxnRequest{}
		for _, name := range names[start:min(start+batch, len(names))] {
			key, err := parseKeyEntry(name)
			if err != nil {
				// Not an entry herald wrote: it would keep the lease
				// from being deleted.
				if err := c.conn.Delete(path.Join(c.leasePath(id), name), -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
					return err
				}
				continue
			}
			txn.Compare = append(txn.Compare, &pb.Compare{Key: key, Target: pb.Compare_LEASE, Result: pb.Compare_EQUAL,
				TargetUnion: &pb.Compare_Lease{Lease: id}})
			txn.Success = append(txn.Success, &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{
				RequestDeleteRange: &pb.DeleteRangeRequest{Key: key}}})
		}
		if len(txn.Compare) == 0 {
			continue
		}
		resp, err := c.Txn(ctx, txn)
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			// A key of the batch left the lease meanwhile (its put or
			// delete moved its entry): one at a time, then list again.
			if err := c.deleteLeaseKeysOneByOne(ctx, id, txn); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Client) deleteLeaseKeysOneByOne(ctx context.Context, id int64, batch *pb.TxnRequest) error {
	for i, cmp := range batch.Compare {
		resp, err := c.Txn(ctx, &pb.TxnRequest{Compare: []*pb.Compare{cmp}, Success: batch.Success[i : i+1]})
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			// The key is not on the lease: its entry is stale (the index
			// and the keys change in one multi, so only a foreign writer
			// leaves one). Remove it so that the lease can go.
			entry := path.Join(c.leasePath(id), keyEntry(cmp.Key))
			if err := c.conn.Delete(entry, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
		}
	}
	return nil
}

// TimeToLive answers as etcd: TTL -1 for a lease that does not exist, the
// remaining seconds otherwise, and the keys when asked.
func (c *Client) TimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	resp := &pb.LeaseTimeToLiveResponse{Header: c.header(), ID: r.ID, TTL: -1}
	ttl, live, err := c.leaseTTL(r.ID)
	if err != nil {
		return nil, grpcError(ctx, "lease time-to-live", err)
	}
	if !live {
		return resp, nil
	}
	ok, st, err := c.conn.Exists(c.alivePath(r.ID))
	if err != nil {
		return nil, grpcError(ctx, "lease time-to-live", err)
	}
	if !ok {
		return resp, nil
	}
	now, err := c.serverNow()
	if err != nil {
		return nil, grpcError(ctx, "lease time-to-live", err)
	}
	resp.GrantedTTL = ttl
	resp.TTL = max(0, (ttl*1000-(now-st.Mtime))/1000)
	if r.Keys {
		names, _, err := c.conn.Children(c.leasePath(r.ID))
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return nil, grpcError(ctx, "lease time-to-live", err)
		}
		for _, name := range names {
			if key, err := parseKeyEntry(name); err == nil {
				resp.Keys = append(resp.Keys, key)
			}
		}
	}
	return resp, nil
}

// Leases lists every lease, revoking ones included until they are gone.
func (c *Client) Leases(ctx context.Context, _ *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	names, _, err := c.conn.Children(c.paths.leases)
	if err != nil {
		return nil, grpcError(ctx, "lease leases", err)
	}
	resp := &pb.LeaseLeasesResponse{Header: c.header()}
	for _, name := range names {
		if id, err := parseLeaseName(name); err == nil {
			resp.Leases = append(resp.Leases, &pb.LeaseStatus{ID: id})
		}
	}
	return resp, nil
}
