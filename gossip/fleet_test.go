package gossip

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
	"github.com/heraldproj/herald/gossip/transport"
)

var testKey = bytes.Repeat([]byte{0x5a}, 32)

// envInt reads a size knob for the real-network tests, so that a longer run
// can use more members or messages.
func envInt(t testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

type fleetSpec struct {
	members  int
	faults   transport.FaultConfig
	protocol func(plumtree.NodeID, *rand.Rand) plumtree.Config
	// profile is memberlist's (default Local: quick to detect a member
	// that leaves, but it takes a member starved of CPU for longer than
	// 250 ms for a failed one).
	profile *membership.Profile
}

// startFleet starts spec.members heralds on 127.0.0.1, each with its own
// memberlist (Local profile) and TCP transport wrapped in Faulty, and waits
// until every Node sees every other member.
func startFleet(t testing.TB, spec fleetSpec) []*Fleet {
	t.Helper()
	var fleets []*Fleet
	t.Cleanup(func() {
		for _, f := range fleets {
			if err := f.Close(); err != nil {
				t.Errorf("close %s: %v", f.ID(), err)
			}
		}
	})
	profile := membership.Local
	if spec.profile != nil {
		profile = *spec.profile
	}
	for i := range spec.members {
		faults := spec.faults
		faults.Seed += uint64(i)
		cfg := FleetConfig{
			Name:       fmt.Sprintf("herald-%02d", i),
			GossipAddr: "127.0.0.1:0",
			GRPCAddr:   "127.0.0.1:2379",
			Key:        testKey,
			Profile:    profile,
			Protocol:   spec.protocol,
			Seed:       uint64(i),
			Faults:     &faults,
		}
		if i > 0 {
			cfg.Seeds = []string{fleets[0].Membership.Addr()}
		}
		f, err := JoinFleet(cfg)
		if err != nil {
			t.Fatalf("herald %d: %v", i, err)
		}
		fleets = append(fleets, f)
	}
	waitFor(t, "every member to see the whole fleet", 60*time.Second, func() bool {
		for _, f := range fleets {
			if f.NumPeers() != spec.members-1 {
				return false
			}
		}
		return true
	})
	return fleets
}

// TestFleetLoopbackExactlyOnce runs ≥20 heralds' gossip layers on loopback
// (memberlist + TCP each) with 10 % injected loss and a few ms of delay, and
// checks that every member delivers every message exactly once.
// HERALD_GOSSIP_MEMBERS and HERALD_GOSSIP_MESSAGES scale it up.
func TestFleetLoopbackExactlyOnce(t *testing.T) {
	members := envInt(t, "HERALD_GOSSIP_MEMBERS", 20)
	messages := envInt(t, "HERALD_GOSSIP_MESSAGES", 200)
	const origins = 4
	// memberlist's LAN timeouts: 20 members under -race on a busy machine
	// starve each other of CPU past the Local profile's 250 ms probe
	// timeout, and the fleet never settles on one view (what is under test
	// is the broadcast tree, not memberlist's failure detector).
	lan := membership.LAN
	fleets := startFleet(t, fleetSpec{
		members: members,
		faults:  transport.FaultConfig{Loss: 0.1, DelayMin: time.Millisecond, DelayMax: 4 * time.Millisecond, Seed: 1000},
		profile: &lan,
	})
	nodes := make([]*Node, len(fleets))
	names := make([]string, len(fleets))
	for i, f := range fleets {
		nodes[i], names[i] = f.Node, string(f.ID())
	}
	col := collect(names, nodes)
	ids := runStream(t, nodes[:min(origins, members)], nodes, col, messages, quiesce)
	col.checkExactlyOnce(t, ids)

	var dropped, rejected uint64
	for _, f := range fleets {
		dropped += f.FaultInjector().Stats().Dropped
		rejected += f.TransportStats().FramesRejected
	}
	if dropped == 0 {
		t.Fatal("no frame was lost: the test did not exercise repair")
	}
	if rejected != 0 {
		t.Fatalf("%d frames rejected between honest members", rejected)
	}
	t.Logf("%d members × %d messages delivered exactly once; %d frames dropped by fault injection", members, messages, dropped)
}

func TestFleetGracefulLeave(t *testing.T) {
	fleets := startFleet(t, fleetSpec{members: 3})
	sub := fleets[0].Membership.Subscribe()
	defer sub.Cancel()
	last := fleets[2]
	if err := last.Close(); err != nil {
		t.Fatal(err)
	}
	if err := last.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	waitFor(t, "leave seen", 30*time.Second, func() bool { return fleets[0].NumPeers() == 1 })
	for {
		select {
		case e := <-sub.C:
			if e.Member.Name != string(last.ID()) {
				continue
			}
			if e.Type == membership.Fail {
				t.Fatal("graceful Close was seen as a failure")
			}
			if e.Type == membership.Leave {
				return
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no Leave event")
		}
	}
}
