package lease

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

func attachEvent(typ mvccpb.Event_EventType, lease ID, key string, carrier ID, rev int64) *mvccpb.Event {
	kv := &mvccpb.KeyValue{Key: testKS.AttachKey(lease, []byte(key)), ModRevision: rev}
	if typ == mvccpb.PUT {
		kv.Lease, kv.CreateRevision, kv.Version = int64(carrier), rev, 1
	}
	return &mvccpb.Event{Type: typ, Kv: kv}
}

// TestIndexVirtualLeaseOfAfterRePut: a key re-put with the lease it already
// has (a client updating its value, or an ignore_lease Put through herald)
// rewrites its attachment at the new revision. The key's older versions
// still hang on the same virtual lease: the prev_kv of the update's watch
// event, a watch replaying history, a Range at an older revision all read
// the key with its older mod revision, and must be translated to the same
// lease, as the prev_kv of a delete is.
func TestIndexVirtualLeaseOfAfterRePut(t *testing.T) {
	tests := []struct {
		name   string
		events []*mvccpb.Event
		mod    int64
		want   ID
	}{
		{"control: a deleted attachment translates its old reads", []*mvccpb.Event{
			attachEvent(mvccpb.DELETE, 42, "/a", 0, 12),
		}, 8, 42},
		{"control: a moved key translates its old reads", []*mvccpb.Event{
			attachEvent(mvccpb.PUT, 43, "/a", 1001, 12),
			attachEvent(mvccpb.DELETE, 42, "/a", 0, 12),
		}, 8, 42},
		{"re-put with the same lease: the prev_kv", []*mvccpb.Event{
			attachEvent(mvccpb.PUT, 42, "/a", 1001, 12),
		}, 8, 42},
		{"re-put after a write straight at etcd: its prev_kv", []*mvccpb.Event{
			attachEvent(mvccpb.PUT, 42, "/a", 1001, 12),
		}, 10, 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := NewIndex(testKS, 0)
			ix.Load(8, []*mvccpb.KeyValue{
				{Key: testKS.RecordKey(42), Value: Record{ID: 42, TTL: 10}.Encode(), Lease: 1001, ModRevision: 5},
				{Key: testKS.RecordKey(43), Value: Record{ID: 43, TTL: 10}.Encode(), Lease: 1001, ModRevision: 6},
				{Key: testKS.AttachKey(42, []byte("/a")), Lease: 1001, ModRevision: 8},
			})
			ix.Apply(12, tc.events)
			if got, ok := ix.VirtualLeaseOf("/a", tc.mod, 1001); !ok || got != tc.want {
				t.Fatalf("VirtualLeaseOf(/a, mod %d) = %d, %v; want %d", tc.mod, got, ok, tc.want)
			}
		})
	}
}

// TestIndexBadValueOverwriteMatchesLoad: the index is a replica of the
// reserved keyspace, so what it holds must not depend on whether it got
// there by events or by a snapshot (heralds that reloaded after a
// compaction and heralds that did not must agree on owners and orphans).
// A carrier or lease record overwritten by a value that does not decode is
// absent after a Load of the same keyspace.
func TestIndexBadValueOverwriteMatchesLoad(t *testing.T) {
	good := []*mvccpb.KeyValue{
		{Key: testKS.SessionKey("h1"), Value: SessionInfo{Name: "h1"}.Encode(), Lease: 77, ModRevision: 5},
		{Key: testKS.CarrierKey(1001), Value: CarrierRecord{Owner: "h1", Session: 77}.Encode(), Lease: 1001, ModRevision: 6},
		{Key: testKS.RecordKey(42), Value: Record{ID: 42, TTL: 10}.Encode(), Lease: 1001, ModRevision: 7},
	}
	for _, bad := range []int{1, 2} {
		t.Run(fmt.Sprintf("%s overwritten", fmtKey(good[bad].Key)), func(t *testing.T) {
			kv := proto.Clone(good[bad]).(*mvccpb.KeyValue)
			kv.Value, kv.ModRevision = []byte{0xff}, 9
			applied := NewIndex(testKS, 0)
			applied.Load(8, good)
			applied.Apply(9, []*mvccpb.Event{{Type: mvccpb.PUT, Kv: kv}})

			snapshot := slices.Clone(good)
			snapshot[bad] = kv
			loaded := NewIndex(testKS, 0)
			loaded.Load(9, snapshot)
			if got, want := indexState(applied), indexState(loaded); got != want {
				t.Fatalf("after the event:\n%s\nafter a Load of the same keyspace:\n%s", got, want)
			}
		})
	}
}

// indexState prints what the index holds except tombs and counters.
func indexState(ix *Index) string {
	var b strings.Builder
	for _, name := range ix.Sessions() {
		s, _ := ix.Session(name)
		fmt.Fprintf(&b, "session %s lease=%d info=%+v rev=%d\n", name, s.Lease, s.Info, s.Rev)
	}
	for _, c := range ix.Carriers() {
		rec, _ := ix.Carrier(c)
		owner, live, _ := ix.OwnerOf(c)
		fmt.Fprintf(&b, "carrier %d %+v owner=%s live=%v\n", c, rec, owner, live)
	}
	for _, id := range ix.Leases() {
		r, _ := ix.Lease(id)
		fmt.Fprintf(&b, "record %d %+v\n", id, r)
	}
	byKey := map[string][]Attachment{}
	for k, list := range ix.byKey.lists() {
		byKey[k] = slices.SortedFunc(slices.Values(list), byLease)
	}
	dumpAttachments(&b, "attach", byKey)
	return b.String()
}

func byLease(a, b Attachment) int { return cmp.Compare(a.Lease, b.Lease) }

// Fuzzing the index: the universe the fuzzer's events are drawn from.
var (
	fuzzNames    = []string{"h1", "h2", "h3"}
	fuzzSessions = []ID{77, 78, 79}
	fuzzCarriers = []ID{1001, 1002, 1003}
	fuzzLeases   = []ID{42, 43, 44, 45}
	fuzzKeys     = []string{"/a", "/b", "/c"}
)

// fuzzAttachment is one attachment as the test remembers it, forever.
type fuzzAttachment struct {
	key            string
	lease, carrier ID
	rev            int64
	replaced       bool // re-put with the same lease at a newer revision
	deleted        bool
}

// fuzzIndexState is the model: the reserved keyspace as etcd holds it, and
// every attachment ever applied since the last Load.
type fuzzIndexState struct {
	store   map[string]*mvccpb.KeyValue
	history []*fuzzAttachment
	rev     int64
	batch   []*mvccpb.Event // events not applied yet
}

func (m *fuzzIndexState) snapshot() []*mvccpb.KeyValue {
	keys := make([]string, 0, len(m.store))
	for k := range m.store {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	kvs := make([]*mvccpb.KeyValue, len(keys))
	for i, k := range keys {
		kvs[i] = m.store[k]
	}
	return kvs
}

// apply is etcd's side of an event, and the history's; events at or below
// the model's revision are skipped, as the index skips them.
func (m *fuzzIndexState) apply(ev *mvccpb.Event) {
	if ev.Kv.ModRevision <= m.rev {
		return
	}
	key := string(ev.Kv.Key)
	p, _ := testKS.Parse(ev.Kv.Key)
	if ev.Type == mvccpb.DELETE {
		delete(m.store, key)
	} else {
		m.store[key] = ev.Kv
	}
	if p.Kind != KindAttachment {
		return
	}
	for _, a := range m.history {
		if a.key == p.Key && a.lease == p.ID && !a.replaced && !a.deleted {
			if ev.Type == mvccpb.DELETE {
				a.deleted = true
			} else {
				a.replaced = true
			}
		}
	}
	if ev.Type == mvccpb.PUT {
		m.history = append(m.history, &fuzzAttachment{key: p.Key, lease: p.ID, carrier: ID(ev.Kv.Lease), rev: ev.Kv.ModRevision})
	}
}

// naiveState derives what the index should hold from the keyspace alone, by
// full scans, in indexState's format.
func (m *fuzzIndexState) naiveState() string {
	var b strings.Builder
	kvs := m.snapshot()
	sessions := map[string]ID{}
	for _, kv := range kvs {
		if p, _ := testKS.Parse(kv.Key); p.Kind == KindSession {
			info, err := DecodeSessionInfo(kv.Value)
			if err != nil {
				info = SessionInfo{Name: p.Name}
			}
			sessions[p.Name] = ID(kv.Lease)
			fmt.Fprintf(&b, "session %s lease=%d info=%+v rev=%d\n", p.Name, kv.Lease, info, kv.ModRevision)
		}
	}
	for _, kv := range kvs {
		if p, _ := testKS.Parse(kv.Key); p.Kind == KindCarrier {
			rec, err := DecodeCarrierRecord(kv.Value)
			if err != nil {
				continue
			}
			lease, ok := sessions[rec.Owner]
			fmt.Fprintf(&b, "carrier %d %+v owner=%s live=%v\n", p.ID, Carrier{CarrierRecord: rec, Rev: kv.ModRevision}, rec.Owner, ok && lease == rec.Session)
		}
	}
	for _, kv := range kvs {
		if p, _ := testKS.Parse(kv.Key); p.Kind == KindRecord {
			rec, err := DecodeRecord(kv.Value)
			if err != nil || rec.ID != p.ID {
				continue
			}
			fmt.Fprintf(&b, "record %d %+v\n", p.ID, LeaseRecord{Carrier: ID(kv.Lease), TTL: rec.TTL, Rev: kv.ModRevision})
		}
	}
	live := map[string][]Attachment{}
	for _, kv := range kvs {
		if p, _ := testKS.Parse(kv.Key); p.Kind == KindAttachment {
			live[p.Key] = append(live[p.Key], Attachment{Lease: p.ID, Carrier: ID(kv.Lease), Rev: kv.ModRevision})
		}
	}
	for _, list := range live {
		slices.SortFunc(list, byLease)
	}
	dumpAttachments(&b, "attach", live)
	return b.String()
}

// FuzzIndexApply applies random events of a small reserved keyspace (drawn
// from the fuzzer's bytes: four bytes an event) in batches, with replays of
// old events and reloads, and checks the index after every batch against
// the keyspace it replicates: the same state as a naive scan and as a Load
// of the keyspace, owners and orphans consistent, every attachment listed
// under its carrier, and VirtualLeaseOf answering with the newest
// attachment of the key on the carrier asked at or before the revision
// asked (live, deleted, or an older version of a re-put one).
func FuzzIndexApply(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1, 0, 2, 0, 1, 0, 4, 0, 1, 0, 6, 0, 1, 1, 7, 0, 1, 1})
	f.Add([]byte{6, 0, 1, 0, 6, 4, 1, 0, 7, 0, 1, 1, 6, 0, 2, 1, 8, 0, 0, 0, 6, 5, 1, 1})
	f.Add([]byte{2, 1, 1, 0x10, 3, 1, 1, 0, 4, 9, 1, 0x10, 5, 9, 0, 1, 0, 0, 0, 0x10})
	f.Fuzz(runFuzzIndex)
}

func runFuzzIndex(t *testing.T, data []byte) {
	if len(data) > 4*maxFuzzEvents {
		data = data[:4*maxFuzzEvents] // the checks are quadratic in the history
	}
	ix := NewIndex(testKS, 1<<20) // no eviction: every tomb stays
	m := &fuzzIndexState{store: map[string]*mvccpb.KeyValue{}}
	next := int64(1)
	flush := func(extra int64) {
		rev := m.rev
		for _, ev := range m.batch {
			rev = max(rev, ev.Kv.ModRevision)
		}
		rev += extra
		ix.Apply(rev, m.batch)
		for _, ev := range m.batch {
			m.apply(ev)
		}
		m.rev = max(m.rev, rev)
		next = max(next, m.rev)
		m.batch = nil
		checkFuzzIndex(t, ix, m)
	}
	for len(data) >= 4 {
		op, sel, step, ctl := data[0], int(data[1]), data[2], data[3]
		data = data[4:]
		rev := next + int64(step%3)
		if step%8 == 7 && m.rev > 0 {
			rev = 1 + int64(sel)%m.rev // a replay: at or below the index's revision
		} else {
			next = rev
		}
		m.batch = append(m.batch, fuzzEvent(op, sel, rev))
		if ctl&1 == 1 {
			flush(int64(ctl>>1) % 3)
		}
		if ctl&0x10 != 0 && len(m.batch) == 0 {
			// Reload from a snapshot: tombs are forgotten.
			checkFuzzVirtualLeases(t, ix, m)
			ix.Load(m.rev, m.snapshot())
			m.history = slices.DeleteFunc(m.history, func(a *fuzzAttachment) bool { return a.deleted || a.replaced })
			checkFuzzIndex(t, ix, m)
		}
	}
	flush(0)
	checkFuzzVirtualLeases(t, ix, m)
}

// maxFuzzEvents bounds one FuzzIndexApply history.
const maxFuzzEvents = 64

// fuzzEvent builds one event; sel picks the names and the value.
func fuzzEvent(op byte, sel int, rev int64) *mvccpb.Event {
	name := fuzzNames[sel%len(fuzzNames)]
	carrier := fuzzCarriers[sel%len(fuzzCarriers)]
	other := fuzzCarriers[(sel/3)%len(fuzzCarriers)]
	lease := fuzzLeases[sel%len(fuzzLeases)]
	key := fuzzKeys[(sel/4)%len(fuzzKeys)]
	bad := sel >= 0xf0
	kv := &mvccpb.KeyValue{ModRevision: rev, CreateRevision: rev, Version: 1}
	var typ mvccpb.Event_EventType
	switch op % 9 {
	case 0:
		kv.Key, kv.Lease = testKS.SessionKey(name), int64(fuzzSessions[(sel/3)%len(fuzzSessions)])
		kv.Value = SessionInfo{Name: name, URL: "http://" + name}.Encode()
	case 1:
		typ, kv.Key = mvccpb.DELETE, testKS.SessionKey(name)
	case 2:
		kv.Key, kv.Lease = testKS.CarrierKey(carrier), int64(carrier)
		kv.Value = CarrierRecord{Owner: fuzzNames[(sel/3)%len(fuzzNames)], Session: fuzzSessions[(sel/9)%len(fuzzSessions)]}.Encode()
	case 3:
		typ, kv.Key = mvccpb.DELETE, testKS.CarrierKey(carrier)
	case 4:
		kv.Key, kv.Lease = testKS.RecordKey(lease), int64(other)
		kv.Value = Record{ID: lease, TTL: int64(sel%7 + 1)}.Encode()
	case 5:
		typ, kv.Key = mvccpb.DELETE, testKS.RecordKey(lease)
	case 6, 7:
		kv.Key, kv.Lease = testKS.AttachKey(lease, []byte(key)), int64(other)
		if op%9 == 7 {
			typ = mvccpb.DELETE
		}
	case 8:
		kv.Key, kv.Value = []byte(fmt.Sprintf("/outside/%d", sel)), []byte("v")
	}
	if bad && typ == mvccpb.PUT && op%9 <= 4 {
		kv.Value = []byte{0xff} // a value that does not decode
	}
	if typ == mvccpb.DELETE {
		kv = &mvccpb.KeyValue{Key: kv.Key, ModRevision: rev}
	}
	return &mvccpb.Event{Type: typ, Kv: kv}
}

func checkFuzzIndex(t *testing.T, ix *Index, m *fuzzIndexState) {
	t.Helper()
	if ix.Rev() != m.rev {
		t.Fatalf("index at rev %d, keyspace at %d", ix.Rev(), m.rev)
	}
	if got, want := indexState(ix), m.naiveState(); got != want {
		t.Fatalf("index:\n%s\nkeyspace:\n%s", got, want)
	}
	loaded := NewIndex(testKS, 0)
	loaded.Load(m.rev, m.snapshot())
	if got, want := indexState(ix), indexState(loaded); got != want {
		t.Fatalf("index after events:\n%s\nafter a Load of the same keyspace:\n%s", got, want)
	}
	carriers := ix.Carriers()
	for _, c := range ix.Orphans() {
		if !slices.Contains(carriers, c) {
			t.Fatalf("orphan %d is not a carrier %v", c, carriers)
		}
	}
	for _, c := range carriers {
		_, live, ok := ix.OwnerOf(c)
		if !ok || live == slices.Contains(ix.Orphans(), c) {
			t.Fatalf("carrier %d: live=%v ok=%v, orphans %v", c, live, ok, ix.Orphans())
		}
	}
	leases := ix.Leases()
	if len(leases) != ix.NumLeases() {
		t.Fatalf("Leases %v, NumLeases %d", leases, ix.NumLeases())
	}
	listed := 0
	for _, c := range fuzzCarriers {
		for _, id := range ix.LeasesOn(c) {
			if r, ok := ix.Lease(id); !ok || r.Carrier != c {
				t.Fatalf("LeasesOn(%d) lists %d: %+v", c, id, r)
			}
		}
		for id, keys := range ix.AttachmentsOn(c) {
			for _, k := range keys {
				a := findLive(ix, k.Key, id)
				if a == nil || a.Carrier != c || a.Rev != k.Rev {
					t.Fatalf("AttachmentsOn(%d) lists %d %s@%d; live: %+v", c, id, k.Key, k.Rev, a)
				}
				listed++
			}
		}
	}
	live := 0
	for key, list := range ix.byKey.lists() {
		live += len(list)
		if a, ok := ix.AttachedTo(key); !ok || a.Rev != slices.MaxFunc(list, func(x, y Attachment) int { return int(x.Rev - y.Rev) }).Rev {
			t.Fatalf("AttachedTo(%s) = %+v, %v; live %+v", key, a, ok, list)
		}
	}
	if listed != live {
		t.Fatalf("AttachmentsOn lists %d attachments over all carriers, %d live", listed, live)
	}
	tombs := 0
	for _, list := range ix.tombs {
		tombs += len(list)
	}
	if tombs != len(ix.tombFIFO) || tombs > ix.maxTombs {
		t.Fatalf("%d tombs, %d in the FIFO, max %d", tombs, len(ix.tombFIFO), ix.maxTombs)
	}
}

// checkFuzzVirtualLeases asks VirtualLeaseOf around every attachment's
// revision (where its answer changes) on every carrier.
func checkFuzzVirtualLeases(t *testing.T, ix *Index, m *fuzzIndexState) {
	t.Helper()
	for _, a := range m.history {
		for _, c := range fuzzCarriers {
			for _, mod := range []int64{a.rev - 1, a.rev, a.rev + 1} {
				checkVirtualLeaseOf(t, ix, m, a.key, mod, c)
			}
		}
	}
	for _, key := range fuzzKeys {
		checkVirtualLeaseOf(t, ix, m, key, m.rev, fuzzCarriers[0])
	}
}

func findLive(ix *Index, key string, lease ID) *Attachment {
	for _, a := range ix.byKey.lists()[key] {
		if a.Lease == lease {
			return &a
		}
	}
	return nil
}

// lists is every key's live attachments, as tests compare them.
func (l *liveAttachments) lists() map[string][]Attachment {
	out := map[string][]Attachment{}
	l.all(func(key string, a Attachment) { out[key] = append(out[key], a) })
	return out
}

// checkVirtualLeaseOf: with no tomb evicted, the answer is the newest
// attachment of key on carrier c at or before mod that the index applied:
// live, deleted, or replaced by a re-put (whose older versions still hang on
// the lease).
func checkVirtualLeaseOf(t *testing.T, ix *Index, m *fuzzIndexState, key string, mod int64, c ID) {
	t.Helper()
	got, ok := ix.VirtualLeaseOf(key, mod, c)
	best := int64(-1)
	var leases []ID // attached at best
	for _, a := range m.history {
		if a.key != key || a.carrier != c || a.rev > mod {
			continue
		}
		if a.rev > best {
			best, leases = a.rev, nil
		}
		if a.rev == best {
			leases = append(leases, a.lease)
		}
	}
	switch {
	case best < 0 && ok:
		t.Fatalf("VirtualLeaseOf(%s, %d, %d) = %d: no attachment on that carrier at or before %d", key, mod, c, got, mod)
	case best >= 0 && (!ok || !slices.Contains(leases, got)):
		t.Fatalf("VirtualLeaseOf(%s, %d, %d) = %d, %v; want %v (attached at %d)", key, mod, c, got, ok, leases, best)
	}
}
