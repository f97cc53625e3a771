package status

import "time"

// sampleHerald is a reachable herald with every figure set, each to a
// distinct value, so that a field lost or swapped on the way shows.
func sampleHerald(name string, feeding bool) Herald {
	return Herald{
		Name:     name,
		URL:      "http://" + name + ".rack:2379",
		Upstream: &Upstream{Healthy: true},
		Ready:    &Ready{Offload: true, Fanout: true},
		Offload:  &Offload{Active: true, VirtualLeases: 1200, Carriers: 2, FleetLeases: 3600, IndexRev: 812},
		Fanout: &Fanout{Feeding: feeding, Rev: 812, WindowStart: 3, CompactRev: 2, WindowEvents: 809,
			WindowBytes: 3 << 20, HeldBatches: 1, Streams: 4, Watchers: 17, SlowCancels: 5, Gaps: 6,
			SeenRev: 815, LagRevisions: 3, SinceAdvanceSeconds: 1.25},
	}
}

// sampleFleet is a fleet report of three heralds seen from h0: h0 feeds,
// h1 has an unhealthy upstream and no lease offload, h2 did not answer.
func sampleFleet() Report {
	h1 := sampleHerald("h1", false)
	h1.Upstream = &Upstream{Healthy: false, Reason: "etcdserver: no leader"}
	h1.Ready = &Ready{Offload: true, Fanout: false}
	h1.Offload = nil
	return Report{
		Version: Version, Scope: Fleet, From: "h0",
		Time: time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC),
		Heralds: []Herald{
			sampleHerald("h0", true),
			h1,
			{Name: "h2", URL: "http://h2.rack:2379", Error: `Get "http://h2.rack:2379/status.json?scope=local": context deadline exceeded`},
		},
	}
}
