package tests

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heraldproj/herald/tests/harness"
)

// heraldReserved is herald's default --reserved-prefix.
const heraldReserved = "\x00herald/"

// TestOffloadReservedPrefix: herald's lease records under its reserved
// prefix are invisible to etcdctl through herald (get --prefix, --from-key,
// --count-only, watch) and cannot be written; a delete of the whole key space
// through herald removes only the clients' keys, and the records stay at
// etcd. It has an etcd of its own: it deletes every key.
//
// A NUL byte cannot travel in a command-line argument, so the writes into the
// prefix go through `etcdctl txn -i`, whose parser unquotes "\x00".
func TestOffloadReservedPrefix(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	tgt := heraldTarget(t, harness.EtcdOptions{})
	if tgt.herald == nil {
		t.Skip("herald's reserved prefix; the target is not a herald")
	}
	via := harness.Client(t, tgt.endpoints...)
	direct := harness.Client(t, tgt.upstream.Endpoints()...)
	ctl := func(args ...string) (string, string, int) {
		t.Helper()
		stdout, stderr, err := harness.Etcdctl(t, tgt.endpoints, args...)
		return stdout, stderr, harness.ExitCode(err)
	}
	mustCtl := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := ctl(args...)
		if code != 0 {
			t.Fatalf("etcdctl %q through herald: exit %d, stderr %q", args, code, stderr)
		}
		if strings.Contains(stdout, "herald/") {
			t.Errorf("etcdctl %q through herald shows herald's records:\n%q", args, stdout)
		}
		return stdout
	}
	lines := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
		return out
	}

	// Two watchers of everything: one live (in place before the writes:
	// a ping key is written until it sees it), one replaying from the
	// revision before the writes.
	live := harness.StartEtcdctl(t, tgt.endpoints, "", "watch", "", "--prefix", "--prev-kv")
	for i := 0; ; i++ {
		mustPut(t, via, "r/ping", strconv.Itoa(i))
		if strings.Contains(live.Stdout(), "r/ping") {
			break
		}
		if i == 600 {
			t.Fatalf("watch \"\" --prefix through herald saw none of %d puts: %q %q", i, live.Stdout(), live.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := via.Delete(ctxT(t), "r/ping"); err != nil {
		t.Fatal(err)
	}
	start := mustGet(t, via, "r/none").Header.Revision
	watch := harness.StartEtcdctl(t, tgt.endpoints, "", "watch", "", "--prefix", "--prev-kv", "--rev="+strconv.FormatInt(start+1, 10))

	l, err := via.Grant(ctxT(t), 60)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	mustPut(t, via, "r/a", "1", clientv3.WithLease(l.ID))
	mustPut(t, via, "r/b", "2")
	mustPut(t, via, "r/c", "3")
	// A second lease whose record is written and deleted again.
	l2, err := via.Grant(ctxT(t), 60)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	mustPut(t, via, "r/d", "4", clientv3.WithLease(l2.ID))
	if _, err := via.Revoke(ctxT(t), l2.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	user := []string{"r/a", "r/b", "r/c"}

	// The premise: herald keeps records at etcd under the prefix.
	record := fmt.Sprintf("%sleases/%016x", heraldReserved, int64(l.ID))
	records := keysOf(mustGet(t, direct, heraldReserved, clientv3.WithPrefix(), clientv3.WithKeysOnly()).Kvs)
	if !slices.Contains(records, record) || !slices.ContainsFunc(records, func(k string) bool { return strings.HasPrefix(k, heraldReserved+"carriers/") }) {
		t.Fatalf("at etcd under %q: %q; want lease %x's record and the carriers", heraldReserved, records, l.ID)
	}

	if got := lines(mustCtl("get", "", "--prefix", "--keys-only")); !slices.Equal(got, user) {
		t.Errorf(`get "" --prefix --keys-only through herald: %q, want %q`, got, user)
	}
	if got := lines(mustCtl("get", "", "--from-key", "--keys-only")); !slices.Equal(got, user) {
		t.Errorf(`get "" --from-key --keys-only through herald: %q, want %q`, got, user)
	}
	if got := lines(mustCtl("get", "", "--prefix")); !slices.Equal(got, []string{"r/a", "1", "r/b", "2", "r/c", "3"}) {
		t.Errorf(`get "" --prefix through herald: %q`, got)
	}
	wantCount := fmt.Sprintf(`"Count" : %d`, len(user))
	for _, args := range [][]string{
		{"get", "", "--prefix", "--count-only", "-w", "fields"},
		{"get", "", "--from-key", "--count-only", "-w", "fields"},
	} {
		if out := mustCtl(args...); !strings.Contains(out, wantCount) {
			t.Errorf("%q through herald: %q, want %s", args, out, wantCount)
		}
	}
	// Directly, etcd counts the records too: herald hid exactly them.
	if out, _, err := harness.Etcdctl(t, tgt.upstream.Endpoints(), "get", "", "--prefix", "--count-only", "-w", "fields"); err != nil ||
		!strings.Contains(out, fmt.Sprintf(`"Count" : %d`, len(user)+len(records))) {
		t.Errorf(`get "" --prefix --count-only at etcd: %q, %v; want %d (clients' keys and herald's records)`, out, err, len(user)+len(records))
	}
	if resp := mustGet(t, via, heraldReserved, clientv3.WithPrefix()); len(resp.Kvs) != 0 || resp.Count != 0 {
		t.Errorf("Get(%q, prefix) through herald: %d keys (count %d), want none", heraldReserved, len(resp.Kvs), resp.Count)
	}

	// Writes into the prefix are refused, with herald's message. First, the
	// same transaction on a client key goes through (the input is right).
	txnInput := func(req string) string { return "\n" + req + "\n\n\n" }
	if stdout, stderr, err := harness.EtcdctlInput(t, tgt.endpoints, txnInput(`put "r/\x62" 2`), "txn", "-i"); err != nil || !strings.Contains(stdout, "SUCCESS") {
		t.Fatalf("txn -i put \"r/\\x62\" 2 through herald: %q, %q, %v", stdout, stderr, err)
	}
	for _, req := range []string{
		`put "\x00herald/x" v`,
		fmt.Sprintf(`put "%s" v`, strings.ReplaceAll(record, "\x00", `\x00`)),
		fmt.Sprintf(`del "%s"`, strings.ReplaceAll(record, "\x00", `\x00`)),
		`del "\x00herald/" --prefix`,
	} {
		stdout, stderr, err := harness.EtcdctlInput(t, tgt.endpoints, txnInput(req), "txn", "-i")
		if code := harness.ExitCode(err); code == 0 || !strings.Contains(stderr, "PermissionDenied") || !strings.Contains(stderr, "reserved for herald") {
			t.Errorf("txn -i %s through herald: exit %d, stdout %q, stderr %q; want PermissionDenied with herald's message", req, code, stdout, stderr)
		}
	}
	if _, err := via.Put(ctxT(t), heraldReserved+"x", "v"); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "reserved for herald") {
		t.Errorf("Put(%q) through herald: %v (code %v), want PermissionDenied with herald's message", heraldReserved+"x", err, status.Code(err))
	}
	if got := keysOf(mustGet(t, direct, heraldReserved, clientv3.WithPrefix(), clientv3.WithKeysOnly()).Kvs); !slices.Equal(got, records) {
		t.Errorf("at etcd after the refused writes, %q holds %q, want %q", heraldReserved, got, records)
	}

	// Deleting everything through herald deletes the clients' keys only.
	if out := mustCtl("del", "", "--from-key"); strings.TrimSpace(out) != strconv.Itoa(len(user)) {
		t.Errorf(`del "" --from-key through herald: %q, want %d`, out, len(user))
	}
	left := keysOf(mustGet(t, direct, "", clientv3.WithFromKey(), clientv3.WithKeysOnly()).Kvs)
	if slices.ContainsFunc(left, func(k string) bool { return !strings.HasPrefix(k, heraldReserved) }) {
		t.Errorf("at etcd after del \"\" --from-key through herald: %q; want only herald's records", left)
	}
	if !slices.Contains(left, record) || !slices.ContainsFunc(left, func(k string) bool { return strings.HasPrefix(k, heraldReserved+"carriers/") }) {
		t.Errorf("at etcd after del \"\" --from-key through herald: %q; lease %x's record or the carriers are gone", left, l.ID)
	}
	if out := mustCtl("get", "", "--prefix", "--count-only", "-w", "fields"); !strings.Contains(out, `"Count" : 0`) {
		t.Errorf(`get "" --prefix --count-only after the delete: %q, want 0`, out)
	}
	// The lease herald keeps is intact.
	mustPut(t, via, "r/e", "5", clientv3.WithLease(l.ID))
	if ttl, err := via.TimeToLive(ctxT(t), l.ID, clientv3.WithAttachedKeys()); err != nil || ttl.TTL <= 0 || len(ttl.Keys) != 1 || string(ttl.Keys[0]) != "r/e" {
		t.Errorf("TimeToLive(%x, keys) after the delete: %s, %v; want alive with r/e only", l.ID, describeTTL(ttl), err)
	}
	if _, err := via.Revoke(ctxT(t), l.ID); err != nil {
		t.Errorf("Revoke: %v", err)
	}
	if got := mustGet(t, direct, "r/", clientv3.WithPrefix()); len(got.Kvs) != 0 {
		t.Errorf("at etcd after the revoke: %q", keysOf(got.Kvs))
	}

	mustPut(t, via, "r/zz-end", "x")
	// PUT r/a r/b r/c r/d r/b (txn) r/e r/zz-end; DELETE r/d (revoke),
	// r/a r/b r/c (del --from-key), r/e (revoke); the live watcher also
	// saw the pings and their delete.
	for _, w := range []struct {
		name          string
		ctl           *harness.BackgroundCtl
		pings, delete int
	}{{"from the revision before the writes", watch, 0, 0}, {"live", live, -1, 1}} {
		if err := w.ctl.WaitOutput("r/zz-end", 1); err != nil {
			t.Fatal(err)
		}
		out, stderr := w.ctl.Interrupt()
		if strings.Contains(out, "herald/") {
			t.Errorf(`watch "" --prefix (%s) through herald shows herald's records:\n%q`, w.name, out)
		}
		var puts, deletes int
		for _, l := range strings.Split(out, "\n") {
			switch l {
			case "PUT":
				puts++
			case "DELETE":
				deletes++
			}
		}
		pings := strings.Count(out, "PUT\nr/ping\n")
		if w.pings == 0 && pings != 0 || puts-pings != 7 || deletes != 5+w.delete {
			t.Errorf("watch \"\" --prefix (%s) through herald: %d PUTs (%d of the ping) and %d DELETEs, want 7 (and the pings) and %d:\n%s\nstderr: %s",
				w.name, puts, pings, deletes, 5+w.delete, out, stderr)
		}
	}
}
