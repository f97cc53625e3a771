package feed

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/tests/harness"
)

// prefix returns a prefix no other test (or run) uses.
func prefix(name string) string {
	return fmt.Sprintf("/%s-%d/%s/", strings.ReplaceAll(name, "/", "_"), prefixN.Add(1), name)
}

// checkNoLeaks fails t if goroutines started after it outlive the test's
// own cleanups (the feeds' Close); the etcd member's and the client's were
// started before.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	put(t, "/warm-up", "x") // the client's connection is up before the snapshot
	harness.VerifyNoLeaks(t)
}

func put(t *testing.T, key, value string) int64 {
	t.Helper()
	resp, err := testEtcd(t).Put(harness.Context(t, time.Minute), &pb.PutRequest{Key: []byte(key), Value: []byte(value)})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

func del(t *testing.T, key string) int64 {
	t.Helper()
	resp, err := testEtcd(t).DeleteRange(harness.Context(t, time.Minute), &pb.DeleteRangeRequest{Key: []byte(key)})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// compact compacts etcd at rev.
func compact(t *testing.T, rev int64) {
	t.Helper()
	if _, err := testEtcd(t).Compact(harness.Context(t, time.Minute), &pb.CompactionRequest{Revision: rev}); err != nil {
		t.Fatal(err)
	}
}

// txnPut puts every key in one revision.
func txnPut(t *testing.T, value string, keys ...string) int64 {
	t.Helper()
	var ops []*pb.RequestOp
	for _, k := range keys {
		ops = append(ops, &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(k), Value: []byte(value)}}})
	}
	resp, err := testEtcd(t).Txn(harness.Context(t, time.Minute), &pb.TxnRequest{Success: ops})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// etcdContent is key=value of every key under the prefixes, sorted.
func etcdContent(t *testing.T, prefixes ...string) []string {
	t.Helper()
	var out []string
	for _, p := range prefixes {
		resp, err := testEtcd(t).Range(harness.Context(t, time.Minute), &pb.RangeRequest{Key: []byte(p), RangeEnd: fanout.PrefixEnd([]byte(p))})
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			out = append(out, string(kv.Key)+"="+string(kv.Value))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// workload puts and deletes keys under p, with writes elsewhere between
// them, and returns etcd's revision after the last.
func workload(t *testing.T, p string, n int, seed uint64) int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	var rev int64
	for i := range n {
		key := fmt.Sprintf("%s%c", p, 'a'+rng.IntN(5))
		switch rng.IntN(5) {
		case 0:
			rev = del(t, key)
		case 1:
			rev = txnPut(t, fmt.Sprint(i), key, p+"z")
		case 2:
			rev = put(t, "/elsewhere"+p, fmt.Sprint(i))
		default:
			rev = put(t, key, fmt.Sprint(i))
		}
	}
	return rev
}

// replica is a Sink made the way a consumer of a feed makes one: a
// fanout.Chain in front of a key-value map, under a mutex. It records the
// batches it applied.
type replica struct {
	mu      sync.Mutex
	chain   *fanout.Chain
	kvs     map[string]string
	loads   int
	compact int64
	applied []fanout.Batch // as the chain handed them out
	loaded  []string       // key=value of the last snapshot, sorted
	term    uint64
}

func newReplica() *replica { return &replica{chain: fanout.NewChain(64), kvs: map[string]string{}} }

func (r *replica) Load(s Snapshot) (*fanout.Gap, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.chain.Loaded() && s.Rev < r.chain.Rev() {
		return r.chain.Gap(), fmt.Errorf("snapshot at %d behind %d", s.Rev, r.chain.Rev())
	}
	r.loads++
	r.kvs = map[string]string{}
	for _, kv := range s.KVs {
		r.kvs[string(kv.Key)] = string(kv.Value)
	}
	r.loaded = slices.Sorted(maps.Keys(r.kvs))
	for i, k := range r.loaded {
		r.loaded[i] = k + "=" + r.kvs[k]
	}
	r.applyLocked(r.chain.Reset(s.Rev))
	return r.chain.Gap(), nil
}

func (r *replica) Apply(b fanout.Batch) (*fanout.Gap, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ready, err := r.chain.Offer(b)
	r.applyLocked(ready)
	return r.chain.Gap(), err
}

func (r *replica) applyLocked(ready []fanout.Batch) {
	for _, b := range ready {
		r.applied = append(r.applied, b)
		for _, ev := range b.Events {
			if ev.Type == mvccpb.Event_DELETE {
				delete(r.kvs, string(ev.Kv.Key))
			} else {
				r.kvs[string(ev.Kv.Key)] = string(ev.Kv.Value)
			}
		}
	}
}

func (r *replica) NoteHeader(h *pb.ResponseHeader) {
	r.mu.Lock()
	r.term = h.GetRaftTerm()
	r.mu.Unlock()
}

func (r *replica) SetCompactRev(rev int64) {
	r.mu.Lock()
	r.compact = max(r.compact, rev)
	r.mu.Unlock()
}

// loadsAndCompactRev returns how many snapshots r loaded and the compact
// revision it was told.
func (r *replica) loadsAndCompactRev() (loads int, compact int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loads, r.compact
}

// loadedContent is the last snapshot's key=value, sorted.
func (r *replica) loadedContent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loaded
}

func (r *replica) Rev() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chain.Rev()
}

func (r *replica) Gap() *fanout.Gap {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chain.Gap()
}

func (r *replica) content() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, v := range r.kvs {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// waitConverged waits until the replica holds etcd's content and has
// reached rev.
func waitConverged(t *testing.T, what string, r *replica, rev int64, prefixes ...string) {
	t.Helper()
	want := etcdContent(t, prefixes...)
	if err := harness.Await(20*time.Second, func() error {
		if got := r.content(); r.Rev() < rev || !slices.Equal(got, want) {
			return fmt.Errorf("at revision %d (want %d), gap %+v\nreplica: %q\netcd:    %q", r.Rev(), rev, r.Gap(), got, want)
		}
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// memBus is an in-memory fleet for one topic, with injected faults.
type memBus struct {
	mu      sync.Mutex
	members map[string]*memMember
	rng     *rand.Rand
	loss    float64
	// drop decides, per batch and receiver (not the sender), to lose it.
	drop func(to string, b fanout.Batch) bool
}

type memMember struct {
	bus     *memBus
	name    string
	ch      chan []byte
	changes chan struct{}
}

func newMemBus(seed uint64) *memBus {
	return &memBus{members: map[string]*memMember{}, rng: rand.New(rand.NewPCG(seed, 5))}
}

func (b *memBus) join(name string) *memMember {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := &memMember{bus: b, name: name, ch: make(chan []byte, 1<<14), changes: make(chan struct{}, 1)}
	b.members[name] = m
	b.changedLocked()
	return m
}

func (b *memBus) leave(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.members, name)
	b.changedLocked()
}

func (b *memBus) setDrop(drop func(to string, batch fanout.Batch) bool) {
	b.mu.Lock()
	b.drop = drop
	b.mu.Unlock()
}

func (b *memBus) changedLocked() {
	for _, m := range b.members {
		select {
		case m.changes <- struct{}{}:
		default:
		}
	}
}

func (m *memMember) Broadcast(_ context.Context, payload []byte) error {
	var batch fanout.Batch
	if err := batch.UnmarshalBinary(payload); err != nil {
		return err
	}
	b := m.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, to := range b.members {
		if name != m.name && (b.rng.Float64() < b.loss || (b.drop != nil && b.drop(name, batch))) {
			continue
		}
		to.ch <- slices.Clone(payload)
	}
	return nil
}

func (m *memMember) Deliveries() <-chan []byte { return m.ch }
func (m *memMember) Changes() <-chan struct{}  { return m.changes }
func (m *memMember) Members() []string {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	var names []string
	for n := range m.bus.members {
		names = append(names, n)
	}
	return names
}

// startFeed starts a feed of the prefixes on the test etcd, closed at the
// end of the test.
func startFeed(t *testing.T, cfg Config) *Feed {
	t.Helper()
	if cfg.KV == nil {
		cfg.KV = testEtcd(t)
	}
	cfg.Watch = testEtcd(t)
	if cfg.Topic == "" {
		cfg.Topic = "test"
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	if err := f.Start(harness.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	return f
}
