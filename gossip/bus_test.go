package gossip

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/transport"
)

// newBuses runs a Bus on each Node of an n-member in-memory cluster.
func newBuses(t *testing.T, n int) (*memCluster, []*Bus) {
	t.Helper()
	c := newMemCluster(t, n, transport.FaultConfig{})
	var buses []*Bus
	for _, node := range c.nodes {
		buses = append(buses, newBus(node, c.peers, nil))
	}
	// Registered after newMemCluster's: runs first, before the Nodes close.
	t.Cleanup(func() {
		for _, b := range buses {
			b.Close()
		}
	})
	waitFor(t, "every node to see the others", 10*time.Second, func() bool {
		for _, node := range c.nodes {
			if node.NumPeers() != n-1 {
				return false
			}
		}
		return true
	})
	return c, buses
}

// receive collects the payloads of a topic until want of them came, or
// fails after a while.
func receive(t *testing.T, tp *Topic, want int) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < want {
		select {
		case p := <-tp.Deliveries():
			got = append(got, string(p))
		case <-timeout:
			t.Fatalf("topic %s: %d of %d payloads", tp.Name(), len(got), want)
		}
	}
	slices.Sort(got)
	return got
}

// TestBusDemultiplexesTopics runs in virtual time (synctest): once herald 2
// dropped what it had no topic for, the fleet is left alone for a minute of
// protocol time (every timer of the tree fires) and must deliver nothing
// more.
func TestBusDemultiplexesTopics(t *testing.T) { synctest.Test(t, testBusDemultiplexesTopics) }

func testBusDemultiplexesTopics(t *testing.T) {
	_, buses := newBuses(t, 3)
	fan := []*Topic{open(buses[0], "fanout"), open(buses[1], "fanout"), open(buses[2], "fanout")}
	leases := []*Topic{open(buses[0], "leases"), open(buses[1], "leases")} // not open on 2
	if open(buses[0], "fanout") != fan[0] {
		t.Fatal("Topic opened twice")
	}
	ctx := context.Background()
	const n = 20
	var wantFan, wantLeases []string
	for i := range n {
		p, q := fmt.Sprintf("fan-%02d", i), fmt.Sprintf("lease-%02d", i)
		wantFan, wantLeases = append(wantFan, p), append(wantLeases, q)
		if err := fan[0].Broadcast(ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := leases[1].Broadcast(ctx, []byte(q)); err != nil {
			t.Fatal(err)
		}
	}
	for i, tp := range fan {
		if got := receive(t, tp, n); !slices.Equal(got, wantFan) {
			t.Errorf("fanout on %d: %q", i, got)
		}
	}
	for i, tp := range leases {
		if got := receive(t, tp, n); !slices.Equal(got, wantLeases) {
			t.Errorf("leases on %d: %q", i, got)
		}
	}
	waitFor(t, "herald 2 to drop the leases topic", 10*time.Second, func() bool { return buses[2].Stats().Unknown == n })
	time.Sleep(time.Minute) // virtual: every pending timer fires
	synctest.Wait()         // and what it set off is done
	for i, tp := range append(fan, leases...) {
		select {
		case p := <-tp.Deliveries():
			t.Errorf("topic %s (%d): extra payload %q", tp.Name(), i, p)
		default:
		}
	}
	if st := buses[0].Stats(); st != (BusStats{}) {
		t.Errorf("herald 0 dropped deliveries: %+v", st)
	}
}

func TestBusDropsMalformedFrames(t *testing.T) {
	c, buses := newBuses(t, 2)
	tp := open(buses[1], "fanout")
	bad := [][]byte{
		{frameVersion},               // truncated header
		{2, 1, 'a', 'x'},             // unknown version
		{frameVersion, 5, 'a', 'b'},  // name longer than the frame
		{frameVersion, 0, 'x'},       // empty name
		{frameVersion, 1, 'A', 'x'},  // not a topic name
		{frameVersion, 33, 'a', 'b'}, // too long a name
		append([]byte{frameVersion, 1}, "/x"...),
	}
	ctx := context.Background()
	for _, frame := range bad {
		if _, err := c.nodes[0].Broadcast(ctx, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := open(buses[0], "fanout").Broadcast(ctx, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, tp, 1); got[0] != "ok" {
		t.Fatalf("got %q", got)
	}
	waitFor(t, "every malformed frame counted", 10*time.Second, func() bool {
		return buses[1].Stats().Malformed == uint64(len(bad))
	})
}

func TestBusFansMembershipOut(t *testing.T) {
	c, buses := newBuses(t, 2)
	a, b := open(buses[0], "fanout"), open(buses[0], "leases")
	for _, tp := range []*Topic{a, b} {
		if got := tp.Members(); !slices.Equal(got, []string{"h00", "h01"}) {
			t.Fatalf("members %q", got)
		}
	}
	leaving := member(1)
	leaving.Meta.Leaving = true
	c.peers.set([]membership.Member{member(0), leaving, member(2)})
	for _, tp := range []*Topic{a, b} {
		select {
		case <-tp.Changes():
		case <-time.After(10 * time.Second):
			t.Fatalf("topic %s: no change", tp.Name())
		}
		if got := tp.Members(); !slices.Equal(got, []string{"h00", "h02"}) {
			t.Fatalf("topic %s: members %q, want the leaving one out", tp.Name(), got)
		}
	}
}

// TestBusCloseWithAStalledTopic closes a Bus whose goroutine waits for a
// consumer that never reads: Close must return, close every topic, and
// leave no goroutine (TestMain checks).
func TestBusCloseWithAStalledTopic(t *testing.T) {
	_, buses := newBuses(t, 2)
	stalled := open(buses[1], "fanout")
	src := open(buses[0], "fanout")
	ctx := context.Background()
	for i := range cap(stalled.deliveries) + 10 {
		if err := src.Broadcast(ctx, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the stalled topic to fill", 10*time.Second, func() bool {
		return len(stalled.deliveries) == cap(stalled.deliveries)
	})
	closed := make(chan struct{})
	go func() { buses[1].Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on a stalled topic")
	}
	buses[1].Close() // idempotent
	for range stalled.Deliveries() {
	} // closed: the range ends
	late := open(buses[1], "leases")
	if _, ok := <-late.Deliveries(); ok {
		t.Fatal("a topic opened after Close delivers")
	}
}

// TestBusConcurrentUse opens topics, broadcasts and reads membership from
// several goroutines at once (for the race detector).
func TestBusConcurrentUse(t *testing.T) {
	_, buses := newBuses(t, 2)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tp := open(buses[i%2], fmt.Sprintf("t%d", i%2))
			for j := range 10 {
				_ = tp.Broadcast(context.Background(), []byte{byte(j)})
				_ = tp.Members()
			}
		}()
	}
	wg.Wait()
}

func FuzzDecodeTopicFrame(f *testing.F) {
	f.Add(encodeFrame(frameHeader("fanout"), []byte("payload")))
	f.Add(encodeFrame(frameHeader("leases"), nil))
	f.Add([]byte{frameVersion, 3, 'a', 'b'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		topic, payload, err := decodeFrame(frame)
		if err != nil {
			return
		}
		if !validTopic(topic) {
			t.Fatalf("decoded an invalid topic %q", topic)
		}
		if again := encodeFrame(frameHeader(string(topic)), payload); !bytes.Equal(again, frame) {
			t.Fatalf("re-encoding %q gives %q", frame, again)
		}
	})
}

// open opens a topic of b, as the bus's own type.
func open(b *Bus, name string) *Topic { return b.Topic(name).(*Topic) }
