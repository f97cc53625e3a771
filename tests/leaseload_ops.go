package tests

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/status"
)

// The op mix: every lease operation a node can make, in one sequence, with
// each answer reduced to what must be the same on any path to any etcd (no
// lease IDs, revisions or exact remaining TTLs):
//
//	grant; put with the lease; get; keepalive once; timetolive with keys;
//	leases; revoke; get; timetolive; keepalive once; revoke; put with the
//	revoked lease
//
// The expected transcript is not written by hand: RunOpMix runs the same
// sequence through a reference client (etcd itself) and compares every
// node's transcript with it, step by step.

// opMixTTL is the TTL of the op mix's leases: long enough that none expires
// during the sequence on a loaded machine. The sequence revokes its lease.
const opMixTTL = 30

// RunOpMix runs the op mix for each given node through its own client, on
// the key <Prefix>ops/<node>, in parallel (Parallel at a time), after running
// it once through reference (on <Prefix>ops/reference). Every step that
// answers differently from the reference is an error of its node (op
// "opmix"). It returns the reference transcript, for the log; an error only
// if the reference itself could not complete a step.
func (r *LeaseLoadRun) RunOpMix(ctx context.Context, reference *clientv3.Client, nodes []int) ([]string, error) {
	rctx, cancel := r.boundCtx(ctx)
	want := LeaseOpTranscript(rctx, reference, r.cfg.Prefix+"ops/reference")
	expired := rctx.Err()
	cancel()
	if expired != nil {
		return want, fmt.Errorf("lease load: op mix through the reference did not complete (%v): %q", expired, want)
	}
	targets := make([]*leaseNode, len(nodes))
	for i, idx := range nodes {
		targets[i] = r.nodes[idx]
	}
	r.forEach(targets, func(n *leaseNode) {
		octx, cancel := r.boundCtx(ctx)
		defer cancel()
		got := LeaseOpTranscript(octx, n.cli, r.cfg.Prefix+"ops/"+NodeName(n.idx))
		for i := range max(len(got), len(want)) {
			g, w := stepAt(got, i), stepAt(want, i)
			if g != w {
				r.fail(n, "opmix", fmt.Errorf("step %d: %s; etcd answers %s", i+1, g, w))
			}
		}
	})
	return want, nil
}

// LeaseOpTranscript runs the op mix through cli on key and returns one
// normalised line per step. It stops after a failed grant (nothing else
// would mean anything).
func LeaseOpTranscript(ctx context.Context, cli *clientv3.Client, key string) []string {
	var out []string
	step := func(name, outcome string) { out = append(out, name+": "+outcome) }

	g, err := cli.Grant(ctx, opMixTTL)
	if err != nil {
		step("grant", errOutcome(err))
		return out
	}
	id := g.ID
	step("grant", fmt.Sprintf("TTL %d, ID set %v", g.TTL, id != 0))

	_, err = cli.Put(ctx, key, "v", clientv3.WithLease(id))
	step("put with the lease", okOutcome(err))

	get, err := cli.Get(ctx, key)
	if err != nil {
		step("get", errOutcome(err))
	} else {
		step("get", keysOutcome(get, id))
	}

	ka, err := cli.KeepAliveOnce(ctx, id)
	if err != nil {
		step("keepalive once", errOutcome(err))
	} else {
		step("keepalive once", fmt.Sprintf("TTL %d, ID ours %v", ka.TTL, ka.ID == id))
	}

	ttl, err := cli.TimeToLive(ctx, id, clientv3.WithAttachedKeys())
	if err != nil {
		step("timetolive", errOutcome(err))
	} else {
		step("timetolive", fmt.Sprintf("ID ours %v, granted TTL %d, remaining in (0, granted] %v, keys %s",
			ttl.ID == id, ttl.GrantedTTL, ttl.TTL > 0 && ttl.TTL <= ttl.GrantedTTL, keysListed(ttl.Keys, key)))
	}

	leases, err := cli.Leases(ctx)
	if err != nil {
		step("leases", errOutcome(err))
	} else {
		listed := false
		for _, l := range leases.Leases {
			listed = listed || l.ID == id
		}
		step("leases", fmt.Sprintf("ours listed %v", listed))
	}

	_, err = cli.Revoke(ctx, id)
	step("revoke", okOutcome(err))

	get, err = cli.Get(ctx, key)
	if err != nil {
		step("get after revoke", errOutcome(err))
	} else {
		step("get after revoke", keysOutcome(get, id))
	}

	ttl, err = cli.TimeToLive(ctx, id, clientv3.WithAttachedKeys())
	if err != nil {
		step("timetolive after revoke", errOutcome(err))
	} else {
		step("timetolive after revoke", fmt.Sprintf("TTL %d, granted TTL %d, keys %s", ttl.TTL, ttl.GrantedTTL, keysListed(ttl.Keys, key)))
	}

	_, err = cli.KeepAliveOnce(ctx, id)
	step("keepalive once after revoke", okOutcome(err))

	_, err = cli.Revoke(ctx, id)
	step("revoke after revoke", okOutcome(err))

	_, err = cli.Put(ctx, key, "v", clientv3.WithLease(id))
	step("put with the revoked lease", okOutcome(err))
	return out
}

// stepAt is line i of a transcript, or a placeholder past its end.
func stepAt(transcript []string, i int) string {
	if i < len(transcript) {
		return transcript[i]
	}
	return "(no step)"
}

func okOutcome(err error) string {
	if err != nil {
		return errOutcome(err)
	}
	return "ok"
}

// errOutcome is an error as an etcd client can tell it: its gRPC code and
// etcd's message (a context error as itself).
func errOutcome(err error) string {
	var etcdErr rpctypes.EtcdError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "error " + err.Error()
	case errors.As(err, &etcdErr):
		return fmt.Sprintf("error %v: %s", etcdErr.Code(), etcdErr.Error())
	}
	if s, ok := status.FromError(err); ok {
		return fmt.Sprintf("error %v: %s", s.Code(), s.Message())
	}
	return "error " + err.Error()
}

func keysOutcome(get *clientv3.GetResponse, id clientv3.LeaseID) string {
	if len(get.Kvs) == 0 {
		return "no key"
	}
	return fmt.Sprintf("%d key(s), the first with our lease %v", len(get.Kvs), clientv3.LeaseID(get.Kvs[0].Lease) == id)
}

// keysListed lists keys with key itself shown as <key>.
func keysListed(keys [][]byte, key string) string {
	var names []string
	for _, k := range keys {
		if string(k) == key {
			names = append(names, "<key>")
		} else {
			names = append(names, fmt.Sprintf("%q", k))
		}
	}
	return "[" + strings.Join(names, " ") + "]"
}
