package gossip

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// runStream broadcasts messages counted messages from origins (round robin,
// a short pause every 20) and waits until every member delivered each of
// them, then until traffic stops. It returns the counted IDs.
//
// The workload stays within the limits that gossip/plumtree documents: a
// member that has never heard from an origin cannot see a gap, and nothing
// reveals the loss of an origin's last message if its eager copies and its
// announcement are all lost. So, as a feeder's stream with periodic progress
// notifications would, each origin first broadcasts until every member has
// heard from it (warm-up), and keeps broadcasting a heartbeat while the
// test waits for the counted messages. Warm-up and heartbeat messages are
// checked for duplicates like the others, but not for delivery.
func runStream(t testing.TB, origins, all []*Node, col *collector, messages int) []plumtree.MessageID {
	t.Helper()
	ctx := context.Background()
	bcast := func(n *Node, payload string) plumtree.MessageID {
		id, err := n.Broadcast(ctx, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for _, o := range origins {
		waitFor(t, fmt.Sprintf("every member to hear from %s", o.ID()), time.Minute, func() bool {
			if col.heardFrom(o.ID()) {
				return true
			}
			bcast(o, "warm-up")
			time.Sleep(20 * time.Millisecond)
			return col.heardFrom(o.ID())
		})
	}
	var ids []plumtree.MessageID
	for i := range messages {
		ids = append(ids, bcast(origins[i%len(origins)], fmt.Sprintf("event %d", i)))
		if i%20 == 19 {
			time.Sleep(5 * time.Millisecond) // bursts, not one burst
		}
	}
	want := len(all) * messages
	waitFor(t, "every member to deliver every message", time.Minute, func() bool {
		if col.delivered(ids) >= want {
			return true
		}
		for _, o := range origins {
			bcast(o, "heartbeat")
		}
		time.Sleep(20 * time.Millisecond)
		return col.delivered(ids) >= want
	}, func() { col.report(t, ids); reportStats(t, all) })
	quiesce(t, all)
	return ids
}
