package fanout

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// scriptEnv is the state one datadriven file drives: a fake etcd, the feeder
// chain it produces, one cache and named client streams.
type scriptEnv struct {
	etcd    *fakeEtcd
	cache   *Cache
	batches []Batch // numbered from 1
	lastRev int64   // the feeder chain's last Rev
	streams map[string]*Stream
	names   []string
	paused  map[string]bool
	base    time.Time
	now     time.Time
}

// TestScripts runs testdata/*.txt. Rewrite expectations with
// go test ./fanout -run TestScripts -rewrite.
func TestScripts(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			e := &scriptEnv{}
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				return e.run(t, d)
			})
		})
	}
}

func (e *scriptEnv) reset(t *testing.T, d *datadriven.TestData) {
	cfg := Config{Prefixes: []string{"/services/"}}
	var prefixes, maxAge, progress string
	d.MaybeScanArgs(t, "prefixes", &prefixes)
	if prefixes != "" {
		cfg.Prefixes = strings.Split(prefixes, ",")
	}
	d.MaybeScanArgs(t, "max-events", &cfg.MaxEvents)
	d.MaybeScanArgs(t, "max-bytes", &cfg.MaxBytes)
	d.MaybeScanArgs(t, "max-held", &cfg.MaxHeldBatches)
	d.MaybeScanArgs(t, "max-response", &cfg.MaxResponseBytes)
	d.MaybeScanArgs(t, "max-pending", &cfg.MaxPendingBytes)
	d.MaybeScanArgs(t, "max-revs", &cfg.MaxRevsPerResponse)
	d.MaybeScanArgs(t, "max-age", &maxAge)
	d.MaybeScanArgs(t, "progress", &progress)
	if maxAge != "" {
		cfg.MaxAge = mustDuration(t, maxAge)
	}
	if progress != "" {
		cfg.ProgressInterval = mustDuration(t, progress)
	}
	c, err := NewCache(cfg)
	if err != nil {
		d.Fatalf(t, "%v", err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Tick(base)
	*e = scriptEnv{etcd: newFakeEtcd(), cache: c, streams: map[string]*Stream{}, paused: map[string]bool{}, base: base, now: base}
}

func mustDuration(t *testing.T, s string) time.Duration {
	dur, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return dur
}

func (e *scriptEnv) stream(t *testing.T, d *datadriven.TestData) (string, *Stream) {
	name := "s1"
	d.MaybeScanArgs(t, "s", &name)
	s := e.streams[name]
	if s == nil {
		d.Fatalf(t, "no stream %q", name)
	}
	return name, s
}

func (e *scriptEnv) run(t *testing.T, d *datadriven.TestData) string {
	if d.Cmd != "cache" && e.cache == nil {
		d.Fatalf(t, "start with cache")
	}
	var b strings.Builder
	switch d.Cmd {
	case "cache":
		e.reset(t, d)
		return "ok"
	case "load":
		var compact int64
		d.MaybeScanArgs(t, "compact", &compact)
		gap, err := e.cache.Load(e.etcd.rev, e.etcd.snapshot(), compact)
		if err != nil {
			return "error: " + err.Error()
		}
		e.lastRev = e.etcd.rev
		fmt.Fprintf(&b, "loaded rev=%d%s\n", e.etcd.rev, fmtGap(gap))
	case "write":
		var ops []op
		for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 3 && f[0] == "put":
				o := op{key: f[1], value: f[2]}
				if len(f) == 4 {
					fmt.Sscanf(f[3], "lease=%d", &o.lease)
				}
				ops = append(ops, o)
			case len(f) == 2 && f[0] == "del":
				ops = append(ops, op{del: true, key: f[1]})
			default:
				d.Fatalf(t, "bad op %q", line)
			}
		}
		evs := e.etcd.txn(ops...)
		var mine []*mvccpb.Event
		for _, ev := range evs {
			if e.cache.inPrefixes(ev.Kv.Key) {
				mine = append(mine, ev)
			}
		}
		if len(mine) == 0 {
			return fmt.Sprintf("etcd rev=%d (no batch)", e.etcd.rev)
		}
		e.feed(t, d, &b, Batch{PrevRev: e.lastRev, Rev: e.etcd.rev, Events: mine})
	case "bump":
		n := 1
		d.MaybeScanArgs(t, "n", &n)
		for range n {
			e.etcd.bump()
		}
		return fmt.Sprintf("etcd rev=%d", e.etcd.rev)
	case "progress":
		e.feed(t, d, &b, Batch{PrevRev: e.lastRev, Rev: e.etcd.rev, ProgressOnly: true})
	case "deliver":
		var n int
		d.ScanArgs(t, "b", &n)
		gap, err := e.cache.Apply(e.batches[n-1])
		if err != nil {
			return "error: " + err.Error()
		}
		fmt.Fprintf(&b, "cache rev=%d%s\n", e.cache.Rev(), fmtGap(gap))
	case "apply":
		// a hand-made batch: apply prev=N rev=M (events from etcd history)
		var prev, rev int64
		d.ScanArgs(t, "prev", &prev)
		d.ScanArgs(t, "rev", &rev)
		bt := Batch{PrevRev: prev, Rev: rev, Events: e.etcd.eventsFrom(prev+1, rev)}
		gap, err := e.cache.Apply(bt)
		if err != nil {
			return "error: " + err.Error()
		}
		fmt.Fprintf(&b, "cache rev=%d%s\n", e.cache.Rev(), fmtGap(gap))
	case "compact":
		var rev int64
		d.ScanArgs(t, "rev", &rev)
		e.cache.SetCompactRev(rev)
		return "ok"
	case "state":
		c := e.cache
		return fmt.Sprintf("rev=%d window=[%d..] events=%d bytes=%d compact=%d held=%d%s",
			c.Rev(), c.WindowStart(), c.window.events, c.window.bytes, c.CompactRev(), c.chain.Held(), fmtGap(c.Gap()))
	case "stream":
		var name string
		d.ScanArgs(t, "s", &name)
		e.streams[name] = e.cache.NewStream()
		e.names = append(e.names, name)
		return "ok"
	case "close":
		name, s := e.stream(t, d)
		s.Close()
		delete(e.streams, name)
		return "ok"
	case "pause":
		name, _ := e.stream(t, d)
		e.paused[name] = true
		return "ok"
	case "resume":
		name, _ := e.stream(t, d)
		delete(e.paused, name)
	case "watch":
		_, s := e.stream(t, d)
		s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: createFromArgs(t, d)}})
	case "cancel":
		_, s := e.stream(t, d)
		var id int64
		d.ScanArgs(t, "id", &id)
		s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{CancelRequest: &pb.WatchCancelRequest{WatchId: id}}})
	case "progress-request":
		_, s := e.stream(t, d)
		s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}})
	case "tick":
		var by string
		d.ScanArgs(t, "by", &by)
		e.now = e.now.Add(mustDuration(t, by))
		e.cache.Tick(e.now)
		fmt.Fprintf(&b, "t=%s\n", e.now.Sub(e.base))
	case "next-deadline":
		// What the driver's clock sleeps until (before the drain below).
		at, ok := e.cache.NextDeadline()
		if !ok {
			return "none"
		}
		return fmt.Sprintf("t=%s", at.Sub(e.base))
	case "ready-streams":
		// The streams a driver would wake now (paused ones included).
		var names []string
		for _, s := range e.cache.ReadyStreams() {
			for name, es := range e.streams {
				if es == s {
					names = append(names, name)
				}
			}
		}
		if len(names) == 0 {
			names = []string{"none"}
		}
		fmt.Fprintf(&b, "ready: %s\n", strings.Join(names, " "))
	case "catchup":
		_, s := e.stream(t, d)
		var id, from, upto int64
		d.ScanArgs(t, "id", &id)
		d.ScanArgs(t, "from", &from)
		d.ScanArgs(t, "upto", &upto)
		done := s.CatchUp(id, e.etcd.eventsFrom(from, upto), upto)
		fmt.Fprintf(&b, "done=%v\n", done)
	case "catchup-compacted":
		_, s := e.stream(t, d)
		var id, rev int64
		d.ScanArgs(t, "id", &id)
		d.ScanArgs(t, "rev", &rev)
		s.CatchUpCompacted(id, rev)
	case "range":
		resp, ok := e.cache.Range(rangeFromArgs(t, d))
		if !ok {
			return "forward upstream"
		}
		return fmtRange(resp)
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
	}
	e.drain(&b)
	out := b.String()
	if out == "" {
		return "ok"
	}
	return strings.TrimRight(out, "\n")
}

// feed records a feeder batch and applies it unless held.
func (e *scriptEnv) feed(t *testing.T, d *datadriven.TestData, b *strings.Builder, bt Batch) {
	e.batches = append(e.batches, bt)
	e.lastRev = bt.Rev
	fmt.Fprintf(b, "batch %d: prev=%d rev=%d events=%d", len(e.batches), bt.PrevRev, bt.Rev, len(bt.Events))
	if d.HasArg("hold") {
		b.WriteString(" (held back)\n")
		return
	}
	gap, err := e.cache.Apply(bt)
	if err != nil {
		d.Fatalf(t, "apply: %v", err)
	}
	fmt.Fprintf(b, " → cache rev=%d%s\n", e.cache.Rev(), fmtGap(gap))
}

// drain prints what every unpaused stream has to say.
func (e *scriptEnv) drain(b *strings.Builder) {
	names := append([]string(nil), e.names...)
	sort.Strings(names)
	for _, name := range names {
		s := e.streams[name]
		if s == nil || e.paused[name] {
			continue
		}
		for s.HasReady() {
			rd := s.Ready()
			for _, r := range rd.Responses {
				fmt.Fprintf(b, "%s <- %s\n", name, fmtResponse(r))
			}
			for _, cu := range rd.CatchUps {
				fmt.Fprintf(b, "%s need catch-up id=%d key=%q end=%q from=%d\n", name, cu.WatchID, cu.Key, cu.RangeEnd, cu.StartRevision)
			}
			for _, id := range rd.StopCatchUps {
				fmt.Fprintf(b, "%s need stop-catch-up id=%d\n", name, id)
			}
			for _, f := range rd.Forwards {
				fmt.Fprintf(b, "%s need forward id=%d key=%q end=%q\n", name, f.WatchId, f.Key, f.RangeEnd)
			}
			for _, id := range rd.ForwardCancels {
				fmt.Fprintf(b, "%s need forward-cancel id=%d\n", name, id)
			}
			if rd.ForwardProgress {
				fmt.Fprintf(b, "%s need forward-progress\n", name)
			}
		}
	}
}

func createFromArgs(t *testing.T, d *datadriven.TestData) *pb.WatchCreateRequest {
	var key, end string
	cr := &pb.WatchCreateRequest{}
	d.MaybeScanArgs(t, "key", &key)
	d.MaybeScanArgs(t, "end", &end)
	cr.Key = []byte(key)
	switch {
	case d.HasArg("prefix"):
		cr.RangeEnd = prefixSpan([]byte(key)).end
	case end == `\0`:
		cr.RangeEnd = []byte{0}
	case end != "":
		cr.RangeEnd = []byte(end)
	}
	d.MaybeScanArgs(t, "id", &cr.WatchId)
	d.MaybeScanArgs(t, "rev", &cr.StartRevision)
	cr.PrevKv = d.HasArg("prev-kv")
	cr.Fragment = d.HasArg("fragment")
	cr.ProgressNotify = d.HasArg("progress-notify")
	if d.HasArg("noput") {
		cr.Filters = append(cr.Filters, pb.WatchCreateRequest_NOPUT)
	}
	if d.HasArg("nodelete") {
		cr.Filters = append(cr.Filters, pb.WatchCreateRequest_NODELETE)
	}
	return cr
}

func rangeFromArgs(t *testing.T, d *datadriven.TestData) *pb.RangeRequest {
	var key, end, sortBy string
	r := &pb.RangeRequest{}
	d.ScanArgs(t, "key", &key)
	d.MaybeScanArgs(t, "end", &end)
	r.Key = []byte(key)
	switch {
	case d.HasArg("prefix"):
		r.RangeEnd = prefixSpan([]byte(key)).end
	case end != "":
		r.RangeEnd = []byte(end)
	}
	d.MaybeScanArgs(t, "limit", &r.Limit)
	d.MaybeScanArgs(t, "rev", &r.Revision)
	d.MaybeScanArgs(t, "sort", &sortBy)
	if sortBy != "" {
		target, order, _ := strings.Cut(sortBy, ",")
		r.SortTarget = pb.RangeRequest_SortTarget(pb.RangeRequest_SortTarget_value[strings.ToUpper(target)])
		r.SortOrder = pb.RangeRequest_SortOrder(pb.RangeRequest_SortOrder_value[strings.ToUpper(order)])
	}
	r.KeysOnly = d.HasArg("keys-only")
	r.CountOnly = d.HasArg("count-only")
	d.MaybeScanArgs(t, "min-mod", &r.MinModRevision)
	d.MaybeScanArgs(t, "max-mod", &r.MaxModRevision)
	d.MaybeScanArgs(t, "min-create", &r.MinCreateRevision)
	d.MaybeScanArgs(t, "max-create", &r.MaxCreateRevision)
	return r
}

func fmtGap(g *Gap) string {
	if g == nil {
		return ""
	}
	return fmt.Sprintf(" gap=[%d..%d]", g.From, g.To)
}

func fmtKV(kv *mvccpb.KeyValue) string {
	s := fmt.Sprintf("%s=%s(c=%d m=%d v=%d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version)
	if kv.Lease != 0 {
		s += fmt.Sprintf(" lease=%d", kv.Lease)
	}
	return s + ")"
}

func fmtEvent(ev *mvccpb.Event) string {
	var s string
	if ev.Type == mvccpb.Event_DELETE {
		s = fmt.Sprintf("DELETE %s@%d", ev.Kv.Key, ev.Kv.ModRevision)
	} else {
		s = "PUT " + fmtKV(ev.Kv)
	}
	if ev.PrevKv != nil {
		s += " prev=" + fmtKV(ev.PrevKv)
	}
	return s
}

func fmtResponse(r *pb.WatchResponse) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("id=%d rev=%d", r.WatchId, r.Header.GetRevision()))
	if r.Created {
		parts = append(parts, "created")
	}
	if r.Canceled {
		parts = append(parts, "canceled")
	}
	if r.CompactRevision != 0 {
		parts = append(parts, fmt.Sprintf("compact_revision=%d", r.CompactRevision))
	}
	if r.CancelReason != "" {
		parts = append(parts, fmt.Sprintf("reason=%q", r.CancelReason))
	}
	if r.Fragment {
		parts = append(parts, "fragment")
	}
	if len(r.Events) == 0 && !r.Created && !r.Canceled {
		parts = append(parts, "progress")
	}
	s := strings.Join(parts, " ")
	for _, ev := range r.Events {
		s += "\n    " + fmtEvent(ev)
	}
	return s
}

func fmtRange(r *pb.RangeResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rev=%d count=%d more=%v", r.Header.Revision, r.Count, r.More)
	for _, kv := range r.Kvs {
		b.WriteString("\n  " + fmtKV(kv))
	}
	return b.String()
}
