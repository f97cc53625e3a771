package zookeeper

import (
	"bytes"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func del(k string) *pb.DeleteRangeRequest { return &pb.DeleteRangeRequest{Key: []byte(k)} }

func txnPuts(kvs ...string) *pb.TxnRequest {
	t := &pb.TxnRequest{}
	for i := 0; i+1 < len(kvs); i += 2 {
		t.Success = append(t.Success, &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: put(kvs[i], kvs[i+1])}})
	}
	return t
}

// TestWatchMatchesEtcd runs one stream of watches against etcd and the
// adapter: watch IDs (assigned, chosen, duplicate), refused creates (empty
// range, negative start), a key, a range, from a key on, a prefix, the
// filters, prev_kv, events of a txn, a prefix delete, RequestProgress,
// Cancel (known and unknown), and a watch from a past revision.
func TestWatchMatchesEtcd(t *testing.T) {
	w := newWatchDiffer(t, nil)
	w.write(put("a", "0"))
	first := [2]int64{w.eRev, w.zRev}

	w.create(&pb.WatchCreateRequest{Key: []byte("a"), PrevKv: true}, 0, 0)
	w.create(&pb.WatchCreateRequest{Key: []byte("a"), RangeEnd: []byte("b"), WatchId: 7}, 0, 0)
	w.create(&pb.WatchCreateRequest{Key: []byte("a"), RangeEnd: []byte{0}, Filters: []pb.WatchCreateRequest_FilterType{pb.WatchCreateRequest_NOPUT}, PrevKv: true}, 0, 0)
	w.create(&pb.WatchCreateRequest{Key: []byte("p/"), RangeEnd: []byte("p0"), Filters: []pb.WatchCreateRequest_FilterType{pb.WatchCreateRequest_NODELETE}}, 0, 0)
	w.create(&pb.WatchCreateRequest{Key: []byte("x"), WatchId: 7}, 0, 0)
	w.create(&pb.WatchCreateRequest{Key: []byte("b"), RangeEnd: []byte("a")}, 0, 0)
	w.create(&pb.WatchCreateRequest{Key: []byte("a"), StartRevision: -1}, 0, 0)
	w.live = 4
	w.settle()

	w.write(put("a", "1"))
	w.write(put("a", "2"))
	w.write(put("ab", "3"))
	w.write(put("p/1", "x"))
	w.write(del("a"))
	w.write(txnPuts("p/2", "y", "p/3", "z", "ab", "4"))
	w.write(&pb.DeleteRangeRequest{Key: []byte("p/"), RangeEnd: []byte("p0"), PrevKv: true})

	w.requestProgress()
	w.exchange(1, false)

	w.cancel(7)
	w.cancel(99) // unknown: no answer
	w.live--
	w.awaitCancelled(7)
	w.settle()
	w.write(put("ab", "5"))

	// The next assigned ID skips the taken ones; a watch from the first
	// write replays everything since, with prev_kv.
	w.create(&pb.WatchCreateRequest{Key: []byte("a"), RangeEnd: []byte("b"), PrevKv: true}, first[0], first[1])
	w.live++
	w.catchingUp = true
	w.settle()
	w.write(put("a", "6"))
}

// TestWatchProgressRequestWaitsForEveryWatch: RequestProgress is answered
// only when every watch of the stream is synced; a watch from a future
// revision is not, so the first request gets nothing, and the request
// after its cancel gets the answer.
func TestWatchProgressRequestWaitsForEveryWatch(t *testing.T) {
	w := newWatchDiffer(t, nil)
	w.create(&pb.WatchCreateRequest{Key: []byte("k")}, 0, 0)
	w.live = 1
	w.settle()
	w.write(put("k", "1"))
	w.create(&pb.WatchCreateRequest{Key: []byte("k"), WatchId: 50}, w.eRev+1000, w.zRev+1000)
	w.requestProgress()
	w.cancel(50)
	w.requestProgress()
	w.exchange(3, true) // created 50, cancelled 50, progress
}

// TestWatchFragmentsLikeEtcd: a watch with fragment that catches up on
// three large values is split where etcd splits it; without fragment the
// same answer is one response.
func TestWatchFragmentsLikeEtcd(t *testing.T) {
	w := newWatchDiffer(t, nil)
	big := string(bytes.Repeat([]byte("v"), 700_000))
	w.write(put("f1", big))
	first := [2]int64{w.eRev, w.zRev}
	w.write(put("f2", big))
	w.write(put("f3", big))
	awaitHistory(t, w.d.zk, w.zRev)
	for _, frag := range []bool{true, false} {
		w.create(&pb.WatchCreateRequest{Key: []byte("f"), RangeEnd: []byte("g"), Fragment: frag}, first[0], first[1])
		n := 3 // created, and the events' responses
		if !frag {
			n = 2
		}
		w.exchange(n, false)
	}
}
