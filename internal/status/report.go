package status

import "time"

// Version is the version of the JSON shape below. Fields may be added
// within a version (a decoder ignores the fields it does not know, so
// heralds of different builds read each other during a rolling upgrade);
// renaming, removing or changing the meaning of one makes a new version,
// which a herald that reads only this one refuses with a clear error.
const Version = 1

// Scope says what a Report covers.
type Scope string

const (
	// Local is one herald's own figures: its report lists exactly itself.
	Local Scope = "local"
	// Fleet is every herald in the answering herald's view of the fleet
	// (itself alone without a fleet), sorted by name.
	Fleet Scope = "fleet"
)

// Report is what /status.json answers:
//
//	{"version": 1, "scope": "fleet", "from": "h0", "time": "2025-01-02T15:04:05Z",
//	 "heralds": [ Herald, … ]}
type Report struct {
	Version int    `json:"version"`
	Scope   Scope  `json:"scope"`
	From    string `json:"from"` // the herald that answered
	// Time is when the answering herald collected it.
	Time    time.Time `json:"time"`
	Heralds []Herald  `json:"heralds"`
}

// Herald is one herald's figures:
//
//	{"name": "h1", "url": "http://10.0.0.2:2379",
//	 "upstream": {"healthy": true},
//	 "ready": {"offload": true, "fanout": true},
//	 "offload": {"active": true, "virtual_leases": 1200, "carriers": 2, "fleet_leases": 3600, "index_rev": 812},
//	 "fanout": {"feeding": true, "rev": 812, "window_start": 1, …}}
//
// A member that did not answer has only name, url and error. Offload is
// absent when lease offloading is off, Fanout without fan-out prefixes.
type Herald struct {
	Name string `json:"name"`
	// URL is the client URL the herald was asked at (its advertised one).
	URL string `json:"url,omitempty"`
	// Error says why the herald could not be asked; nothing but Name and
	// URL is set with it.
	Error    string    `json:"error,omitempty"`
	Upstream *Upstream `json:"upstream,omitempty"`
	Ready    *Ready    `json:"ready,omitempty"`
	Offload  *Offload  `json:"offload,omitempty"`
	Fanout   *Fanout   `json:"fanout,omitempty"`
}

// Reachable reports whether the herald answered.
func (h Herald) Reachable() bool { return h.Error == "" }

// Feeding reports whether the herald holds the fleet's upstream watch.
func (h Herald) Feeding() bool { return h.Fanout != nil && h.Fanout.Feeding }

// Upstream is the etcd member herald talks to, as herald's health probe
// sees it (its /health).
type Upstream struct {
	Healthy bool   `json:"healthy"`
	Reason  string `json:"reason,omitempty"` // why not healthy
}

// Ready is what herald's /proxy/health checks: its lease offload and its
// fan-out cache are up (each true when it is not configured).
type Ready struct {
	Offload bool `json:"offload"`
	Fanout  bool `json:"fanout"`
}

// Offload is the herald's lease offloader.
type Offload struct {
	// Active: it grants virtual leases.
	Active bool `json:"active"`
	// VirtualLeases this herald holds as their owner.
	VirtualLeases int64 `json:"virtual_leases"`
	// Carriers: upstream carrier leases it keeps alive (its own and those
	// it took over from a dead herald).
	Carriers int64 `json:"carriers"`
	// FleetLeases in the fleet's lease index, as this herald knows it.
	FleetLeases int64 `json:"fleet_leases"`
	// IndexRev is the revision through which that index is complete.
	IndexRev int64 `json:"index_rev"`
}

// Fanout is the herald's watch fan-out: its event cache and its watchers.
type Fanout struct {
	// Feeding: this herald holds the upstream watch for the fleet.
	Feeding bool `json:"feeding"`
	// Rev is the cache's revision; the window holds the events of
	// WindowStart..Rev, CompactRev is etcd's compaction as last seen.
	Rev          int64 `json:"rev"`
	WindowStart  int64 `json:"window_start"`
	CompactRev   int64 `json:"compact_rev"`
	WindowEvents int64 `json:"window_events"`
	WindowBytes  int64 `json:"window_bytes"`
	// HeldBatches arrived beyond a gap and wait for its repair.
	HeldBatches int64 `json:"held_batches"`
	Streams     int64 `json:"streams"`
	Watchers    int64 `json:"watchers"`
	// SlowCancels: watchers cancelled because the window moved past events
	// they had not taken; Gaps: batches that arrived beyond a gap.
	SlowCancels int64 `json:"slow_cancels"`
	Gaps        int64 `json:"gaps"`
	// SeenRev is the newest revision this herald has relayed to a client;
	// LagRevisions how far the cache is behind it.
	SeenRev      int64 `json:"seen_rev"`
	LagRevisions int64 `json:"lag_revisions"`
	// SinceAdvanceSeconds: how long ago the cache's revision last moved (0
	// before it first moved). It grows in a quiet fleet too: read it with
	// LagRevisions.
	SinceAdvanceSeconds float64 `json:"since_advance_seconds"`
}
