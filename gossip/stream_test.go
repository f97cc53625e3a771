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
// them, then until traffic stops (quiet: settle in virtual time, quiesce
// on a real network). It returns the counted IDs.
//
// Nothing else is broadcast: no warm-up to give members a baseline of each
// origin and no heartbeat after the last message. A member that loses an
// origin's last message on every path, or first hears of an origin through
// a later message than its first, is repaired by the protocol's
// anti-entropy, which is what this exercises.
func runStream(t testing.TB, origins, all []*Node, col *collector, messages int, quiet func(testing.TB, []*Node)) []plumtree.MessageID {
	t.Helper()
	ctx := context.Background()
	var ids []plumtree.MessageID
	for i := range messages {
		id, err := origins[i%len(origins)].Broadcast(ctx, fmt.Appendf(nil, "event %d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if i%20 == 19 {
			time.Sleep(5 * time.Millisecond) // bursts, not one burst
		}
	}
	want := len(all) * messages
	waitFor(t, "every member to deliver every message", time.Minute, func() bool {
		return col.delivered(ids) >= want
	}, func() { col.report(t, ids); reportStats(t, all) })
	quiet(t, all)
	return ids
}
