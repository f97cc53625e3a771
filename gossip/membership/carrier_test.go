package membership

import (
	"bytes"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

type fakeCarrier struct {
	out [][]byte
	got [][]byte
}

func (f *fakeCarrier) Outgoing(overhead, limit int) [][]byte {
	var out [][]byte
	for _, b := range f.out {
		if len(b)+overhead <= limit {
			out = append(out, b)
			limit -= len(b) + overhead
		}
	}
	return out
}

func (f *fakeCarrier) Incoming(b []byte) { f.got = append(f.got, bytes.Clone(b)) }

// TestCarriedOnlyOnPacketsSentAnyway: a call with the whole packet's
// budget (a gossip round with nothing of memberlist's own: answering would
// send a packet for the carrier alone) gets nothing; a call with less room
// (a ping, an ack or memberlist's gossip already fill part of the packet)
// gets the carrier's messages, tagged, within the room, each costing the
// tag byte too.
func TestCarriedOnlyOnPacketsSentAnyway(t *testing.T) {
	f := &fakeCarrier{out: [][]byte{[]byte("ihave"), []byte("digest")}}
	d := &carried{c: f, full: 1398}
	if got := d.outgoing(2, 1398); got != nil {
		t.Fatalf("the whole budget (an empty gossip round): got %q, want nothing", got)
	}
	got := d.outgoing(2, 1350)
	if len(got) != 2 || string(got[0]) != "Pihave" || string(got[1]) != "Pdigest" {
		t.Fatalf("a packet with room for both: got %q", got)
	}
	// "ihave" costs 5 + 2 + 1 (tag): 8 bytes fit, "digest" does not.
	if got := d.outgoing(2, 8); len(got) != 1 || string(got[0]) != "Pihave" {
		t.Fatalf("room for one: got %q", got)
	}
	d.incoming([]byte("Pdigest"))
	d.incoming([]byte("Xsomething else"))
	d.incoming(nil)
	if len(f.got) != 1 || string(f.got[0]) != "digest" {
		t.Fatalf("incoming: the carrier got %q, want only the tagged message, untagged", f.got)
	}
	var none *carried
	if none.outgoing(2, 100) != nil {
		t.Fatal("no carrier: messages from nowhere")
	}
	none.incoming([]byte("Px"))
}

type recordingCarrier struct {
	mu     sync.Mutex
	limits []int
}

func (r *recordingCarrier) Outgoing(_, limit int) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limits = append(r.limits, limit)
	return nil
}

func (r *recordingCarrier) Incoming([]byte) {}

// TestCarrierBudgetMatchesMemberlist: in a quiet fleet, memberlist's
// gossip rounds offer the delegate exactly packetBudget (the largest room
// it ever offers), and its probes less: the rule that keeps carried
// messages off packets that would not leave otherwise rests on that, and a
// memberlist version that frames packets differently must fail here.
func TestCarrierBudgetMatchesMemberlist(t *testing.T) {
	for _, key := range [][]byte{nil, bytes.Repeat([]byte{7}, 32)} {
		rec := &recordingCarrier{}
		cfg := Config{
			Name: "m1", BindAddr: "127.0.0.1:0", Key: key, Profile: Local, Carrier: rec,
			Meta: Meta{GRPCAddr: "127.0.0.1:2379", GossipAddr: "127.0.0.1:17001"}, RejoinInterval: time.Hour,
		}
		m1, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m1.meta.carrier.full = math.MaxInt // let every call through to the recorder
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		mc, err := cfg.memberlistConfig(nil)
		if err != nil {
			t.Fatal(err)
		}
		want := packetBudget(mc)
		m2 := startMember(t, "m2", key, m1.Addr())
		seen := func() (top int, below bool) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, l := range rec.limits {
				top = max(top, l)
				below = below || l < want
			}
			return top, below
		}
		harness.WaitUntil(t, "a gossip round with the whole budget and a probe with less", harness.DefaultPatience, func() bool {
			top, below := seen()
			return top >= want && below
		})
		if top, _ := seen(); top != want {
			t.Errorf("key %v: memberlist offered up to %d bytes, packetBudget says %d", key != nil, top, want)
		}
		_ = m2.Close(time.Second)
		_ = m1.Close(time.Second)
	}
}
