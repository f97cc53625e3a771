package zookeeper

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"

	"github.com/heraldproj/herald/tests/harness"
	"github.com/heraldproj/herald/upstream"
)

// watchDiffer runs the same watch stream against etcd and the ZooKeeper
// adapter, with the same writes, and compares what each watch receives.
// Responses are compared as lines (one per control answer, one per event),
// per watch ID: how events group into responses depends on when each side
// looked, what they are does not. Revisions are translated through the
// writes both answered (differ).
type watchDiffer struct {
	d          *differ
	etcd       pb.Watch_WatchClient
	zk         upstream.WatchStream
	eLines     map[int64][]string
	zLines     map[int64][]string
	eRev, zRev int64 // the last write's revision on each side
	live       int   // watches that a progress request waits for
	// catchingUp: a watch from the past may be unsynced at etcd, which then
	// drops progress requests: settle asks again after each answer.
	catchingUp bool
	// notified counts each side's progress notifications by watch ID:
	// when they come depends on the clock, so they are not lines.
	eNotified, zNotified map[int64]int
}

func newWatchDiffer(t *testing.T, set func(*Config)) *watchDiffer {
	d := &differ{t: t, etcd: etcdKV(t), zk: dialWatchZK(t, set), revs: map[int64]int64{}}
	e, z := d.do(&pb.RangeRequest{Key: []byte("x")})
	d.revs[header(z).GetRevision()] = header(e).GetRevision()
	w := &watchDiffer{d: d, eLines: map[int64][]string{}, zLines: map[int64][]string{},
		eNotified: map[int64]int{}, zNotified: map[int64]int{},
		eRev: header(e).GetRevision(), zRev: header(z).GetRevision()}
	ctx, cancel := context.WithTimeout(context.Background(), harness.DefaultPatience)
	t.Cleanup(cancel)
	var err error
	if w.etcd, err = pb.NewWatchClient(sharedEtcd.conn).Watch(ctx); err != nil {
		t.Fatal(err)
	}
	w.zk = openWatch(t, d.zk)
	return w
}

// write applies req to both, checks that they answer alike, and waits
// until both streams have sent what the write caused.
func (w *watchDiffer) write(req proto.Message) {
	w.d.t.Helper()
	w.d.check(req)
	e, z := w.d.do(&pb.RangeRequest{Key: []byte("x")}) // the write's revision, on both
	w.eRev, w.zRev = header(e).GetRevision(), header(z).GetRevision()
	w.settle()
}

// create sends req to both; zkStart and etcdStart replace its
// StartRevision on each side when set.
func (w *watchDiffer) create(req *pb.WatchCreateRequest, etcdStart, zkStart int64) {
	w.d.t.Helper()
	awaitHistory(w.d.t, w.d.zk, w.zRev) // the created answer's revision is the history's
	e, z := proto.Clone(req).(*pb.WatchCreateRequest), proto.Clone(req).(*pb.WatchCreateRequest)
	if etcdStart != 0 {
		e.StartRevision, z.StartRevision = etcdStart, zkStart
	}
	mustDo(w.d.t, w.etcd.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: e}}))
	mustDo(w.d.t, w.zk.Create(z))
}

func (w *watchDiffer) cancel(id int64) {
	w.d.t.Helper()
	awaitHistory(w.d.t, w.d.zk, w.zRev)
	mustDo(w.d.t, w.etcd.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{CancelRequest: &pb.WatchCancelRequest{WatchId: id}}}))
	mustDo(w.d.t, w.zk.Cancel(id))
}

func (w *watchDiffer) requestProgress() {
	w.d.t.Helper()
	awaitHistory(w.d.t, w.d.zk, w.zRev)
	mustDo(w.d.t, w.etcd.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}}))
	mustDo(w.d.t, w.zk.RequestProgress())
}

// exchange reads the next n answers of each side and compares them
// response by response (for answers whose grouping etcd fixes), in order,
// or sorted where etcd's order is not fixed (its sendLoop picks between
// control answers and watch answers at random).
func (w *watchDiffer) exchange(n int, sorted bool) {
	w.d.t.Helper()
	var e, z []string
	for range n {
		er, err := w.etcd.Recv()
		mustDo(w.d.t, err)
		e = append(e, strings.Join(w.lines(er, true, true), "; "))
		z = append(z, strings.Join(w.lines(recv(w.d.t, w.zk), false, true), "; "))
	}
	if sorted {
		slices.Sort(e)
		slices.Sort(z)
	}
	if !slices.Equal(e, z) {
		w.d.t.Errorf("answers differ:\n etcd: %s\n   zk: %s", strings.Join(e, "\n       "), strings.Join(z, "\n       "))
	}
}

// settle reads etcd's stream up to its answer to a progress request at
// the last write's revision (every watch of the stream is then synced and
// has had what the writes caused), then ZooKeeper's until each watch has
// as many lines, and compares.
func (w *watchDiffer) settle() {
	w.d.t.Helper()
	if w.live > 0 {
		for done := false; !done; {
			w.requestProgressEtcd()
			for {
				r, err := w.etcd.Recv()
				mustDo(w.d.t, err)
				if r.WatchId == invalidWatchID && !r.Created {
					done = r.Header.Revision >= w.eRev
					break
				}
				w.add(w.eLines, r, true)
				if w.catchingUp {
					w.requestProgressEtcd()
				}
			}
		}
	}
	for w.behind() {
		r := recv(w.d.t, w.zk)
		if r.WatchId != invalidWatchID || r.Created {
			w.add(w.zLines, r, false)
		}
	}
	w.compare()
}

func (w *watchDiffer) requestProgressEtcd() {
	mustDo(w.d.t, w.etcd.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}}))
}

func (w *watchDiffer) behind() bool {
	for id, e := range w.eLines {
		if len(w.zLines[id]) < len(e) {
			return true
		}
	}
	return false
}

func (w *watchDiffer) compare() {
	w.d.t.Helper()
	for id := range w.eLines {
		if e, z := w.eLines[id], w.zLines[id]; !slices.Equal(e, z) {
			w.d.t.Errorf("watch %d:\n etcd: %s\n   zk: %s", id, strings.Join(e, "\n       "), strings.Join(z, "\n       "))
		}
	}
	for id, z := range w.zLines {
		if _, ok := w.eLines[id]; !ok {
			w.d.t.Errorf("watch %d: only zk answered: %s", id, strings.Join(z, "; "))
		}
	}
}

func (w *watchDiffer) add(to map[int64][]string, r *pb.WatchResponse, isEtcd bool) {
	if isProgressNotify(r) {
		if isEtcd {
			w.eNotified[r.WatchId]++
		} else {
			w.zNotified[r.WatchId]++
		}
		return
	}
	to[r.WatchId] = append(to[r.WatchId], w.lines(r, isEtcd, false)...)
}

// awaitCancelled reads each side until watch id's cancelled answer (etcd
// may send it after the answer to a later progress request).
func (w *watchDiffer) awaitCancelled(id int64) {
	w.d.t.Helper()
	for _, side := range []struct {
		recv   func() (*pb.WatchResponse, error)
		lines  map[int64][]string
		isEtcd bool
	}{{w.etcd.Recv, w.eLines, true}, {w.zk.Recv, w.zLines, false}} {
		for done := false; !done; {
			r, err := side.recv()
			mustDo(w.d.t, err)
			done = r.WatchId == id && r.Canceled
			if r.WatchId != invalidWatchID || r.Created {
				w.add(side.lines, r, side.isEtcd)
			}
		}
	}
}

func isProgressNotify(r *pb.WatchResponse) bool {
	return r.WatchId != invalidWatchID && len(r.Events) == 0 && !r.Created && !r.Canceled
}

// awaitNotify reads each side until watch id's progress notification at
// the last write's revision (what comes before goes to the lines), and
// compares the two.
func (w *watchDiffer) awaitNotify(id int64) {
	w.d.t.Helper()
	var got [2]string
	for i, side := range []struct {
		recv   func() (*pb.WatchResponse, error)
		lines  map[int64][]string
		isEtcd bool
		rev    int64
	}{{w.etcd.Recv, w.eLines, true, w.eRev}, {w.zk.Recv, w.zLines, false, w.zRev}} {
		for got[i] == "" {
			r, err := side.recv()
			mustDo(w.d.t, err)
			if isProgressNotify(r) && r.WatchId == id && r.Header.Revision >= side.rev {
				got[i] = strings.Join(w.lines(r, side.isEtcd, true), "; ")
			}
			if r.WatchId != invalidWatchID || r.Created {
				w.add(side.lines, r, side.isEtcd)
			}
		}
	}
	if got[0] != got[1] {
		w.d.t.Errorf("progress notification:\n etcd: %s\n   zk: %s", got[0], got[1])
	}
}

// lines prints a response with revisions translated to etcd's: its
// control fields (with the header revision) as one line, and each event
// as one line. An events response's header and fragment flag depend on
// grouping: they have a line only if whole.
func (w *watchDiffer) lines(r *pb.WatchResponse, isEtcd, whole bool) []string {
	rev := func(r int64) string {
		if isEtcd || r == 0 {
			return fmt.Sprint(r)
		}
		if e, ok := w.d.revs[r]; ok {
			return fmt.Sprint(e)
		}
		return fmt.Sprintf("zk:%d(unmatched)", r)
	}
	var out []string
	if whole || len(r.Events) == 0 || r.Created || r.Canceled {
		out = append(out, fmt.Sprintf("id=%d rev=%s created=%v canceled=%v compact=%s reason=%q fragment=%v",
			r.WatchId, rev(r.Header.GetRevision()), r.Created, r.Canceled, rev(r.CompactRevision), r.CancelReason, r.Fragment))
	}
	kvString := func(kv *mvccpb.KeyValue) string {
		value := fmt.Sprintf("%q", kv.Value)
		if len(kv.Value) > 64 {
			value = fmt.Sprintf("(%d bytes)", len(kv.Value))
		}
		return fmt.Sprintf("%q=%s c=%s m=%s v=%d lease=%d", kv.Key, value, rev(kv.CreateRevision), rev(kv.ModRevision), kv.Version, kv.Lease)
	}
	for _, ev := range r.Events {
		s := fmt.Sprintf("id=%d %v %s", r.WatchId, ev.Type, kvString(ev.Kv))
		if ev.PrevKv != nil {
			s += " prev: " + kvString(ev.PrevKv)
		}
		out = append(out, s)
	}
	return out
}
