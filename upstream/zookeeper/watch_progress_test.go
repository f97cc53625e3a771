package zookeeper

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3rpc"
)

// TestWatchProgressNotifyLikeEtcd: a progress_notify watch that got no
// event for a whole interval hears the revision (its own ID, no events);
// one without progress_notify hears nothing. The embedded etcd runs in
// this process: its interval is shortened the way etcd's own tests do.
func TestWatchProgressNotifyLikeEtcd(t *testing.T) {
	const interval = 200 * time.Millisecond
	const old = 10 * time.Minute // etcd's default: its getter adds jitter
	v3rpc.SetProgressReportInterval(interval)
	t.Cleanup(func() { v3rpc.SetProgressReportInterval(old) })
	w := newWatchDiffer(t, func(cfg *Config) { cfg.WatchProgressInterval = interval })
	w.create(&pb.WatchCreateRequest{Key: []byte("quiet")}, 0, 0)
	w.create(&pb.WatchCreateRequest{Key: []byte("k"), ProgressNotify: true}, 0, 0)
	w.live = 2
	w.settle() // etcd's stream has started: its ticker has the short interval
	v3rpc.SetProgressReportInterval(old)
	for _, v := range []string{"1", "2"} {
		w.write(put("k", v))
		w.awaitNotify(1)
	}
	w.settle()
	if w.eNotified[0] != 0 || w.zNotified[0] != 0 {
		t.Errorf("the watch without progress_notify heard progress: etcd %d times, zk %d", w.eNotified[0], w.zNotified[0])
	}
}
