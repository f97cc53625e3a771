package gossip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
)

// TestLoopbackFigures measures dissemination over the real transport, for
// comparison with the simulator: ≥20 heralds on loopback, per-frame delay
// U[10,20] ms and 10 % i.i.d. loss injected by transport.Faulty, the
// protocol's WANConfig. It prints t50/t99/t99.9/t100, coverage, payload
// and control messages per member and broadcast, the IHave and Digest
// messages per member and broadcast that rode on memberlist's packets (not
// in the total), and the last-delivery hop.
// It is a measurement, not a test: it runs only with
// HERALD_LOOPBACK_FIGURES=1 and fails only if a member delivers a message
// twice; coverage below 100 % is reported, not failed.
//
//	HERALD_LOOPBACK_FIGURES=1 HERALD_GOSSIP_MEMBERS=20 HERALD_GOSSIP_MESSAGES=200 \
//	    go test -run TestLoopbackFigures -v ./gossip
func TestLoopbackFigures(t *testing.T) {
	if os.Getenv("HERALD_LOOPBACK_FIGURES") == "" {
		t.Skip("set HERALD_LOOPBACK_FIGURES=1 to measure")
	}
	members := envInt(t, "HERALD_GOSSIP_MEMBERS", 20)
	messages := envInt(t, "HERALD_GOSSIP_MESSAGES", 200)
	spacing := time.Duration(envInt(t, "HERALD_GOSSIP_SPACING_MS", 25)) * time.Millisecond
	fleets := startFleet(t, fleetSpec{
		members:  members,
		faults:   transport.FaultConfig{Loss: 0.1, DelayMin: 10 * time.Millisecond, DelayMax: 20 * time.Millisecond, Seed: 2000},
		protocol: plumtree.WANConfig,
	})
	before := make([]Stats, members)
	for i, f := range fleets {
		before[i] = f.Stats()
	}

	type key struct {
		member int
		id     plumtree.MessageID
	}
	var (
		mu      sync.Mutex
		sentAt  = make(map[plumtree.MessageID]time.Time)
		lat     []time.Duration
		seen    = make(map[key]int)
		maxHops int
		wg      sync.WaitGroup
	)
	for i, f := range fleets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range f.Deliveries() {
				now := time.Now()
				mu.Lock()
				seen[key{i, d.ID}]++
				if d.Hops > 0 {
					lat = append(lat, now.Sub(sentAt[d.ID]))
					maxHops = max(maxHops, d.Hops)
				}
				mu.Unlock()
			}
		}()
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range messages {
		origin := fleets[r.IntN(members)]
		// The lock spans the call so that no delivery is timed before sentAt is set.
		mu.Lock()
		start := time.Now()
		id, err := origin.Broadcast(context.Background(), fmt.Appendf(nil, "event %d", i))
		if err != nil {
			mu.Unlock()
			t.Fatal(err)
		}
		sentAt[id] = start
		mu.Unlock()
		time.Sleep(spacing)
	}
	nodes := make([]*Node, members)
	for i, f := range fleets {
		nodes[i] = f.Node
	}
	// No heartbeat after the last broadcast: a message whose every copy,
	// announcement and anti-entropy round was lost stays missing and shows
	// in the coverage.
	quiesce(t, nodes)
	// Held IHave and digests ride on memberlist's packets or go on their
	// own within the piggyback wait: count them all.
	time.Sleep(plumtree.WANConfig("x", nil).PiggybackWait)
	quiesce(t, nodes)

	mu.Lock()
	defer mu.Unlock()
	for k, n := range seen {
		if n > 1 {
			t.Errorf("member %d delivered %v %d times", k.member, k.id, n)
		}
	}
	var payload, control, carried, busiest uint64
	for i, f := range fleets {
		s := f.Stats()
		p, c := s.PayloadSent-before[i].PayloadSent, s.ControlSent-before[i].ControlSent
		payload, control, busiest = payload+p, control+c, max(busiest, p+c)
		carried += s.PiggybackCarried - before[i].PiggybackCarried
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(100 * time.Microsecond)
	}
	per := float64(members * messages)
	fmt.Printf("| members | messages | t50 | t99 | t99.9 | t100 | coverage | payload/member | control/member | total/member | carried/member | busiest member | last hop |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| %d | %d | %v | %v | %v | %v | %.2f %% | %.2f | %.2f | %.2f | %.2f | %.2f | %d |\n",
		members, messages, q(0.5), q(0.99), q(0.999), lat[len(lat)-1].Round(100*time.Microsecond),
		100*float64(len(seen))/per, float64(payload)/per, float64(control)/per,
		float64(payload+control)/per, float64(carried)/per, float64(busiest)/float64(messages), maxHops)
}
