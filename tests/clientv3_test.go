package tests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/tests/harness"
)

// opTimeout bounds one client call: a hang becomes a failure.
const opTimeout = 30 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

// TestClientV3 runs the Go client through herald: KV, Txn, Watch options and
// Lease; the concurrency package is in clientv3_concurrency_test.go. One etcd
// and one herald serve all subtests, each on its own key prefix.
func TestClientV3(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	tgt := heraldTarget(t, harness.EtcdOptions{})
	cli := harness.Client(t, tgt.endpoints...)
	t.Run("KV", func(t *testing.T) { testKV(t, cli) })
	t.Run("Txn", func(t *testing.T) { testTxn(t, cli) })
	t.Run("Watch", func(t *testing.T) { testWatch(t, cli) })
	t.Run("Lease", func(t *testing.T) { testLease(t, cli, tgt.herald != nil) })
	t.Run("Compaction", func(t *testing.T) { testCompaction(t, cli) })
}

func mustPut(t *testing.T, cli *clientv3.Client, k, v string, opts ...clientv3.OpOption) *clientv3.PutResponse {
	t.Helper()
	resp, err := cli.Put(ctxT(t), k, v, opts...)
	if err != nil {
		t.Fatalf("Put(%q): %v", k, err)
	}
	return resp
}

func mustGet(t *testing.T, cli *clientv3.Client, k string, opts ...clientv3.OpOption) *clientv3.GetResponse {
	t.Helper()
	resp, err := cli.Get(ctxT(t), k, opts...)
	if err != nil {
		t.Fatalf("Get(%q): %v", k, err)
	}
	return resp
}

func keysOf(kvs []*mvccpb.KeyValue) []string {
	var ks []string
	for _, kv := range kvs {
		ks = append(ks, string(kv.Key))
	}
	return ks
}

func testKV(t *testing.T, cli *clientv3.Client) {
	p := "kv/"
	first := mustPut(t, cli, p+"a", "1")
	mustPut(t, cli, p+"b", "2")
	mustPut(t, cli, p+"c", "3")
	prev := mustPut(t, cli, p+"a", "1b", clientv3.WithPrevKV())
	if prev.PrevKv == nil || string(prev.PrevKv.Value) != "1" {
		t.Errorf("Put WithPrevKV: prev = %v, want value 1", prev.PrevKv)
	}
	if prev.Header.Revision != first.Header.Revision+3 {
		t.Errorf("revision after 4 puts = %d, want %d", prev.Header.Revision, first.Header.Revision+3)
	}

	all := mustGet(t, cli, p, clientv3.WithPrefix())
	if got := keysOf(all.Kvs); !slices.Equal(got, []string{p + "a", p + "b", p + "c"}) || all.Count != 3 {
		t.Errorf("Get prefix = %v (count %d)", got, all.Count)
	}
	a := all.Kvs[0]
	if string(a.Value) != "1b" || a.Version != 2 || a.CreateRevision != first.Header.Revision || a.ModRevision != prev.Header.Revision {
		t.Errorf("kv a = %+v", a)
	}
	lim := mustGet(t, cli, p, clientv3.WithPrefix(), clientv3.WithLimit(2), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	if got := keysOf(lim.Kvs); !slices.Equal(got, []string{p + "c", p + "b"}) || !lim.More || lim.Count != 3 {
		t.Errorf("Get limit 2 descending = %v more=%v count=%d", got, lim.More, lim.Count)
	}
	old := mustGet(t, cli, p+"a", clientv3.WithRev(first.Header.Revision))
	if len(old.Kvs) != 1 || string(old.Kvs[0].Value) != "1" {
		t.Errorf("Get WithRev(%d) = %v", first.Header.Revision, old.Kvs)
	}
	cnt := mustGet(t, cli, p, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if cnt.Count != 3 || len(cnt.Kvs) != 0 {
		t.Errorf("Get count only = %d, %d kvs", cnt.Count, len(cnt.Kvs))
	}
	ko := mustGet(t, cli, p, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if len(ko.Kvs) != 3 || len(ko.Kvs[0].Value) != 0 {
		t.Errorf("Get keys only = %v", ko.Kvs)
	}
	ser := mustGet(t, cli, p+"b", clientv3.WithSerializable())
	if len(ser.Kvs) != 1 || string(ser.Kvs[0].Value) != "2" {
		t.Errorf("serializable Get = %v", ser.Kvs)
	}
	fromKey := mustGet(t, cli, p+"b", clientv3.WithFromKey(), clientv3.WithLimit(10))
	if got := keysOf(fromKey.Kvs); len(got) < 2 || got[0] != p+"b" || got[1] != p+"c" {
		t.Errorf("Get from key = %v", got)
	}

	del, err := cli.Delete(ctxT(t), p+"a", clientv3.WithRange(p+"c"), clientv3.WithPrevKV())
	if err != nil {
		t.Fatalf("Delete range: %v", err)
	}
	if del.Deleted != 2 || !slices.Equal(keysOf(del.PrevKvs), []string{p + "a", p + "b"}) {
		t.Errorf("Delete [a,c) deleted %d, prev %v", del.Deleted, keysOf(del.PrevKvs))
	}
	if got := mustGet(t, cli, p, clientv3.WithPrefix()); !slices.Equal(keysOf(got.Kvs), []string{p + "c"}) {
		t.Errorf("after delete: %v", keysOf(got.Kvs))
	}
	if _, err := cli.Put(ctxT(t), p+"x", "", clientv3.WithIgnoreValue()); !errors.Is(err, rpctypes.ErrKeyNotFound) {
		t.Errorf("Put ignore_value on a missing key: %v, want %v", err, rpctypes.ErrKeyNotFound)
	}
}

func testTxn(t *testing.T, cli *clientv3.Client) {
	p := "txn/"
	mustPut(t, cli, p+"k", "v1")
	resp, err := cli.Txn(ctxT(t)).
		If(clientv3.Compare(clientv3.Value(p+"k"), "=", "v1"), clientv3.Compare(clientv3.Version(p+"k"), "=", 1)).
		Then(clientv3.OpPut(p+"k", "v2"), clientv3.OpGet(p+"k")).
		Else(clientv3.OpGet(p + "missing")).
		Commit()
	if err != nil {
		t.Fatalf("Txn: %v", err)
	}
	if !resp.Succeeded || len(resp.Responses) != 2 || string(resp.Responses[1].GetResponseRange().Kvs[0].Value) != "v2" {
		t.Errorf("Txn success branch: %+v", resp)
	}
	resp, err = cli.Txn(ctxT(t)).
		If(clientv3.Compare(clientv3.ModRevision(p+"k"), "<", 1)).
		Then(clientv3.OpPut(p+"k", "never")).
		Else(clientv3.OpTxn(
			[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(p+"new"), "=", 0)},
			[]clientv3.Op{clientv3.OpPut(p+"new", "nested")},
			nil)).
		Commit()
	if err != nil {
		t.Fatalf("nested Txn: %v", err)
	}
	if resp.Succeeded || !resp.Responses[0].GetResponseTxn().Succeeded {
		t.Errorf("nested Txn: %+v", resp)
	}
	if got := mustGet(t, cli, p+"new"); len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "nested" {
		t.Errorf("nested Txn put: %v", got.Kvs)
	}
	_, err = cli.Txn(ctxT(t)).Then(clientv3.OpPut(p+"dup", "1"), clientv3.OpPut(p+"dup", "2")).Commit()
	if !errors.Is(err, rpctypes.ErrDuplicateKey) {
		t.Errorf("Txn with a duplicate put: %v, want %v", err, rpctypes.ErrDuplicateKey)
	}
}

// recvEvents reads watch responses until n events arrived.
func recvEvents(t *testing.T, wch clientv3.WatchChan, n int) []*clientv3.Event {
	t.Helper()
	var evs []*clientv3.Event
	timeout := time.After(opTimeout)
	for len(evs) < n {
		select {
		case resp, ok := <-wch:
			if !ok {
				t.Fatalf("watch closed after %d of %d events", len(evs), n)
			}
			if err := resp.Err(); err != nil {
				t.Fatalf("watch error after %d events: %v", len(evs), err)
			}
			evs = append(evs, resp.Events...)
		case <-timeout:
			t.Fatalf("got %d of %d events within %v", len(evs), n, opTimeout)
		}
	}
	return evs
}

func describeEvents(evs []*clientv3.Event) []string {
	var out []string
	for _, e := range evs {
		s := fmt.Sprintf("%s %s=%s", e.Type, e.Kv.Key, e.Kv.Value)
		if e.PrevKv != nil {
			s += fmt.Sprintf(" (prev %s)", e.PrevKv.Value)
		}
		out = append(out, s)
	}
	return out
}

func testWatch(t *testing.T, cli *clientv3.Client) {
	p := "watch/"
	start := mustPut(t, cli, p+"a", "1").Header.Revision
	mustPut(t, cli, p+"b", "2")
	mustPut(t, cli, "other", "x")

	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	history := cli.Watch(ctx, p, clientv3.WithPrefix(), clientv3.WithRev(start), clientv3.WithPrevKV())
	live := cli.Watch(ctx, p, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	noPut := cli.Watch(ctx, p, clientv3.WithPrefix(), clientv3.WithFilterPut(), clientv3.WithCreatedNotify())
	noDel := cli.Watch(ctx, p, clientv3.WithPrefix(), clientv3.WithFilterDelete(), clientv3.WithCreatedNotify(), clientv3.WithRev(start))
	for name, w := range map[string]clientv3.WatchChan{"live": live, "noPut": noPut} {
		if resp := <-w; !resp.Created {
			t.Fatalf("%s watch: first response %+v, want Created", name, resp)
		}
	}
	mustPut(t, cli, p+"a", "1b")
	if _, err := cli.Delete(ctxT(t), p+"b"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, cli, p+"c", "3")

	want := []string{"PUT watch/a=1", "PUT watch/b=2", "PUT watch/a=1b (prev 1)", "DELETE watch/b= (prev 2)", "PUT watch/c=3"}
	if got := describeEvents(recvEvents(t, history, 5)); !slices.Equal(got, want) {
		t.Errorf("WithRev+WithPrevKV events:\n got %q\nwant %q", got, want)
	}
	want = []string{"PUT watch/a=1b", "DELETE watch/b=", "PUT watch/c=3"}
	if got := describeEvents(recvEvents(t, live, 3)); !slices.Equal(got, want) {
		t.Errorf("live events:\n got %q\nwant %q", got, want)
	}
	if got := describeEvents(recvEvents(t, noPut, 1)); !slices.Equal(got, []string{"DELETE watch/b="}) {
		t.Errorf("WithFilterPut events: %q", got)
	}
	noDelEvents := recvEvents(t, noDel, 1) // the Created response carries no events
	noDelEvents = append(noDelEvents, recvEvents(t, noDel, 4-len(noDelEvents))...)
	if got := describeEvents(noDelEvents); !slices.Equal(got, []string{"PUT watch/a=1", "PUT watch/b=2", "PUT watch/a=1b", "PUT watch/c=3"}) {
		t.Errorf("WithFilterDelete events: %q", got)
	}

	// Progress: a requested notification carries the current revision and
	// no events.
	progress := cli.Watch(ctx, p+"quiet", clientv3.WithCreatedNotify(), clientv3.WithProgressNotify())
	<-progress
	if err := cli.RequestProgress(ctx); err != nil {
		t.Fatalf("RequestProgress: %v", err)
	}
	head := mustGet(t, cli, "other").Header.Revision
	select {
	case resp := <-progress:
		if !resp.IsProgressNotify() || resp.Header.Revision != head {
			t.Errorf("after RequestProgress: %+v (progress %v), want a notification at revision %d", resp, resp.IsProgressNotify(), head)
		}
	case <-time.After(opTimeout):
		t.Errorf("no progress notification after RequestProgress")
	}

	// Cancelling the context closes the channel.
	cancel()
	for _, w := range []clientv3.WatchChan{history, live, noPut, noDel, progress} {
		for range w {
		}
	}
}

// testLease: viaHerald says the lease is a virtual one, whose grant writes
// its record (docs/fleet-leases.md): etcd's revision moves by one where a
// plain etcd's grant moves it by none.
func testLease(t *testing.T, cli *clientv3.Client, viaHerald bool) {
	p := "lease/"
	if viaHerald {
		// A herald's first grant also starts its session and carriers.
		if _, err := cli.Grant(ctxT(t), 60); err != nil {
			t.Fatalf("Grant: %v", err)
		}
	}
	before := mustGet(t, cli, p+"none").Header.Revision
	grant, err := cli.Grant(ctxT(t), 60)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	if grant.TTL != 60 || grant.ID == 0 {
		t.Errorf("Grant = %+v", grant)
	}
	// etcd keeps leases outside the key space: granting one changes no
	// key, so the store revision stays where it was; herald writes the
	// virtual lease's record, one revision. Either way the header is the
	// store's revision right after the grant.
	want := before
	if viaHerald {
		want++
	}
	if grant.ResponseHeader.Revision != want {
		t.Errorf("LeaseGrant response header revision = %d, want %d (the revision before was %d)", grant.ResponseHeader.Revision, want, before)
	}
	if after := mustGet(t, cli, p+"none").Header.Revision; after != want {
		t.Errorf("store revision after LeaseGrant = %d, want %d", after, want)
	}
	mustPut(t, cli, p+"a", "1", clientv3.WithLease(grant.ID))
	mustPut(t, cli, p+"b", "2", clientv3.WithLease(grant.ID))
	if got := mustGet(t, cli, p+"a"); got.Kvs[0].Lease != int64(grant.ID) {
		t.Errorf("key lease = %x, want %x", got.Kvs[0].Lease, grant.ID)
	}
	ttl, err := cli.TimeToLive(ctxT(t), grant.ID, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatalf("TimeToLive: %v", err)
	}
	var keys []string
	for _, k := range ttl.Keys {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	if ttl.GrantedTTL != 60 || ttl.TTL <= 0 || ttl.TTL > 60 || !slices.Equal(keys, []string{p + "a", p + "b"}) {
		t.Errorf("TimeToLive = granted %d, ttl %d, keys %q", ttl.GrantedTTL, ttl.TTL, keys)
	}
	ka, err := cli.KeepAliveOnce(ctxT(t), grant.ID)
	if err != nil || ka.TTL != 60 || ka.ID != grant.ID {
		t.Errorf("KeepAliveOnce = %+v, %v", ka, err)
	}
	leases, err := cli.Leases(ctxT(t))
	if err != nil {
		t.Fatalf("Leases: %v", err)
	}
	var found bool
	for _, l := range leases.Leases {
		found = found || l.ID == grant.ID
	}
	if !found {
		t.Errorf("Leases = %v, missing %x", leases.Leases, grant.ID)
	}

	kctx, kcancel := context.WithCancel(ctxT(t))
	kach, err := cli.KeepAlive(kctx, grant.ID)
	if err != nil {
		t.Fatalf("KeepAlive: %v", err)
	}
	select {
	case resp := <-kach:
		if resp == nil || resp.ID != grant.ID || resp.TTL != 60 {
			t.Errorf("KeepAlive response %+v", resp)
		}
	case <-time.After(opTimeout):
		t.Errorf("no KeepAlive response")
	}
	kcancel()

	if _, err := cli.Revoke(ctxT(t), grant.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if got := mustGet(t, cli, p, clientv3.WithPrefix()); len(got.Kvs) != 0 {
		t.Errorf("keys after Revoke: %v", keysOf(got.Kvs))
	}
	if _, err := cli.Revoke(ctxT(t), grant.ID); !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Errorf("second Revoke: %v, want %v", err, rpctypes.ErrLeaseNotFound)
	}
	if _, err := cli.KeepAliveOnce(ctxT(t), grant.ID); !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Errorf("KeepAliveOnce of a revoked lease: %v, want %v", err, rpctypes.ErrLeaseNotFound)
	}

	// Expiry: a short lease's key is deleted, and a watcher sees it.
	short, err := cli.Grant(ctxT(t), 2)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	put := mustPut(t, cli, p+"short", "x", clientv3.WithLease(short.ID))
	wch := cli.Watch(ctxT(t), p+"short", clientv3.WithRev(put.Header.Revision+1))
	evs := recvEvents(t, wch, 1)
	if evs[0].Type != clientv3.EventTypeDelete {
		t.Errorf("after the lease's TTL: %q, want a DELETE", describeEvents(evs))
	}
}

func testCompaction(t *testing.T, cli *clientv3.Client) {
	p := "compact/"
	first := mustPut(t, cli, p+"k", "1").Header.Revision
	last := mustPut(t, cli, p+"k", "2").Header.Revision
	if _, err := cli.Compact(ctxT(t), last); err != nil {
		t.Fatalf("Compact(%d): %v", last, err)
	}
	if _, err := cli.Get(ctxT(t), p+"k", clientv3.WithRev(first)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("Get at a compacted revision: %v, want %v", err, rpctypes.ErrCompacted)
	}
	if _, err := cli.Compact(ctxT(t), last+1000); !errors.Is(err, rpctypes.ErrFutureRev) {
		t.Errorf("Compact of a future revision: %v, want %v", err, rpctypes.ErrFutureRev)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	resp := <-cli.Watch(ctx, p+"k", clientv3.WithRev(first))
	if !resp.Canceled || resp.CompactRevision != last || !errors.Is(resp.Err(), rpctypes.ErrCompacted) {
		t.Errorf("watch from a compacted revision: canceled=%v compact=%d err=%v; want canceled at %d", resp.Canceled, resp.CompactRevision, resp.Err(), last)
	}
}
