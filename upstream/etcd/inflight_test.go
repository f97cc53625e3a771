package etcd

import (
	"slices"
	"testing"
	"time"
)

// TestInflightDrain: drain names the calls still open after its wait and
// returns as soon as the last one ends.
func TestInflightDrain(t *testing.T) {
	f := newInflight()
	a := f.open("/etcdserverpb.KV/Range")
	f.open("/etcdserverpb.Lease/LeaseRevoke")
	if got, want := f.drain(time.Millisecond), []string{"/etcdserverpb.KV/Range", "/etcdserverpb.Lease/LeaseRevoke"}; !slices.Equal(got, want) {
		t.Fatalf("open calls %v, want %v", got, want)
	}
	f.close(a)
	f.close(a + 1)
	if got := f.drain(time.Hour); len(got) != 0 {
		t.Fatalf("open calls %v after all ended", got)
	}
	b := f.open("/etcdserverpb.KV/Txn")
	go f.close(b)
	if got := f.drain(time.Hour); len(got) != 0 {
		t.Fatalf("open calls %v after the last ended", got)
	}
}
