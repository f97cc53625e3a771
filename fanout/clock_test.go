package fanout

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// TestFirstTick: events and streams from before the first clock reading are
// not aged out or flooded with ticks by it.
func TestFirstTick(t *testing.T) {
	c, err := NewCache(Config{Prefixes: []string{"/services/"}, MaxAge: time.Minute, ProgressInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e := newFakeEtcd()
	if _, err := c.Load(e.rev, nil, 0); err != nil {
		t.Fatal(err)
	}
	e.txn(op{key: "/services/a", value: "1"})
	if _, err := c.Apply(Batch{PrevRev: 1, Rev: e.rev, Events: e.history}); err != nil {
		t.Fatal(err)
	}
	s := c.NewStream()
	s.Handle(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: []byte("/services/a"), ProgressNotify: true}}})
	s.Ready()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Tick(now)
	if c.Stats().WindowEvents != 1 {
		t.Fatalf("first tick aged out the window: %+v", c.Stats())
	}
	if rd := s.Ready(); len(rd.Responses) != 0 {
		t.Fatalf("first tick fired progress: %v", rd.Responses)
	}
	c.Tick(now.Add(time.Minute))
	if rd := s.Ready(); len(rd.Responses) != 1 || rd.Responses[0].WatchId != 0 {
		t.Fatalf("want one progress notification, got %v", rd.Responses)
	}
	// Missed ticks are dropped, as time.Ticker drops them.
	c.Tick(now.Add(time.Hour))
	if rd := s.Ready(); len(rd.Responses) != 1 {
		t.Fatalf("want one progress notification, got %v", rd.Responses)
	}
	c.Tick(now.Add(time.Hour + time.Minute + time.Second))
	if rd := s.Ready(); len(rd.Responses) != 1 {
		t.Fatalf("want one progress notification, got %v", rd.Responses)
	}
	if st := c.Stats(); st.WindowEvents != 0 || st.WindowStart != 3 {
		t.Fatalf("window not aged: %+v", st)
	}
}
