package lease

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// seqIDs is a readable IDSource for scripts: 101, 102, …
type seqIDs struct{ next ID }

func (s *seqIDs) Next() ID { s.next++; return s.next }

// scriptEnv is the state one datadriven file drives.
type scriptEnv struct {
	table *Table
	base  time.Time
	now   time.Time
	rev   int64 // etcd's revision, one per attach or detach unless rev= is given
}

func newScriptEnv(cfg Config) *scriptEnv {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &scriptEnv{table: New(cfg, &seqIDs{next: 100}), base: base, now: base}
}

// TestScripts runs testdata/*.txt. Rewrite expectations with
// go test ./lease -run TestScripts -rewrite.
func TestScripts(t *testing.T) {
	// Glob, not datadriven.Walk: testdata/fuzz holds fuzz corpora.
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			env := newScriptEnv(Config{Owner: "h1"})
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				return env.run(t, d)
			})
		})
	}
}

func (e *scriptEnv) at() string { return "t=" + e.now.Sub(e.base).String() }

func (e *scriptEnv) run(t *testing.T, d *datadriven.TestData) string {
	var id int64
	d.MaybeScanArgs(t, "id", &id)
	var key string
	d.MaybeScanArgs(t, "key", &key)
	rev := e.rev + 1
	d.MaybeScanArgs(t, "rev", &rev)
	var carrier int64 = 9
	d.MaybeScanArgs(t, "carrier", &carrier)
	switch d.Cmd {
	case "reset":
		var minTTL int64
		d.MaybeScanArgs(t, "min-ttl", &minTTL)
		*e = *newScriptEnv(Config{Owner: "h1", MinTTL: minTTL})
		return "ok"
	case "advance":
		var by string
		d.ScanArgs(t, "by", &by)
		dur, err := time.ParseDuration(by)
		if err != nil {
			d.Fatalf(t, "%v", err)
		}
		e.now = e.now.Add(dur)
		return e.at()
	case "grant":
		var ttl int64
		d.ScanArgs(t, "ttl", &ttl)
		got, granted, err := e.table.Grant(ID(id), ttl, ID(carrier), e.now)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("lease %d ttl=%d", got, granted)
	case "keepalive":
		ttl, err := e.table.KeepAlive(ID(id), e.now)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("ttl=%d", ttl)
	case "attach":
		e.rev = max(e.rev, rev)
		prev, err := e.table.Attach(ID(id), key, rev, e.now)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("prev=%d", prev)
	case "detach":
		e.rev = max(e.rev, rev)
		return fmt.Sprintf("prev=%d", e.table.Detach(key, rev))
	case "revoke":
		exp, err := e.table.Revoke(ID(id))
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("carrier=%d keys=%s", exp.Carrier, fmtKeys(exp.Keys))
	case "timetolive":
		st := e.table.TimeToLive(ID(id), e.now, d.HasArg("keys"))
		s := fmt.Sprintf("id=%d ttl=%d granted=%d", st.ID, st.TTL, st.GrantedTTL)
		if d.HasArg("keys") {
			s += " keys=" + fmtKeys(st.Keys)
		}
		return s
	case "leases":
		return fmt.Sprint(e.table.Leases(e.now))
	case "tick":
		exp := e.table.Tick(e.now)
		var out strings.Builder
		fmt.Fprintf(&out, "%s expired=%d\n", e.at(), len(exp))
		for _, x := range exp {
			fmt.Fprintf(&out, "  lease %d carrier=%d keys=%s\n", x.ID, x.Carrier, fmtKeys(x.Keys))
		}
		return out.String()
	case "record":
		rec, err := e.table.Record(ID(id))
		if err != nil {
			return "error: " + err.Error()
		}
		back, err := DecodeRecord(rec.Encode())
		if err != nil {
			d.Fatalf(t, "round trip: %v", err)
		}
		return fmt.Sprintf("id=%d ttl=%d owner=%s", back.ID, back.TTL, back.Owner)
	case "restore":
		var ttl int64
		d.ScanArgs(t, "ttl", &ttl)
		var names []string
		d.MaybeScanArgs(t, "keys", &names)
		var keys []AttachedKey
		for _, k := range names {
			name, r, _ := strings.Cut(k, "@")
			var kr int64
			fmt.Sscan(r, &kr)
			keys = append(keys, AttachedKey{Key: name, Rev: kr})
		}
		if err := e.table.Restore(Record{ID: ID(id), TTL: ttl, Owner: "h0"}, ID(carrier), keys, e.now); err != nil {
			return "error: " + err.Error()
		}
		return "ok"
	case "owner":
		l, r := e.table.LeaseOf(key)
		return fmt.Sprintf("lease=%d rev=%d", l, r)
	case "drop-carrier":
		return fmt.Sprint(e.table.DropCarrier(ID(carrier)))
	case "next-expiry":
		at, ok := e.table.NextExpiry()
		if !ok {
			return "none"
		}
		return "t=" + at.Sub(e.base).String()
	case "state":
		return e.dump()
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
		return ""
	}
}

// dump prints every lease the table holds, expired or not, by ID.
func (e *scriptEnv) dump() string {
	ids := make([]ID, 0, len(e.table.leases))
	for id := range e.table.leases {
		ids = append(ids, id)
	}
	sortIDs(ids)
	var out strings.Builder
	fmt.Fprintf(&out, "%s leases=%d keys=%d\n", e.at(), len(ids), len(e.table.owners))
	for _, id := range ids {
		l := e.table.leases[id]
		fmt.Fprintf(&out, "  lease %d ttl=%d carrier=%d expires=t=%s keys=%s\n", id, l.ttl, l.carrier, l.expiresAt.Sub(e.base), fmtKeys(l.sortedKeys()))
	}
	return out.String()
}

// fmtKeys prints keys with their attachment revisions: [/a@3 /b@4].
func fmtKeys(keys []AttachedKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s@%d", k.Key, k.Rev)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
