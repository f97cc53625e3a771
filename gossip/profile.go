package gossip

import (
	"math/rand/v2"
	"slices"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
)

// Profile sets membership timing and the broadcast tree's parameters
// together, so that the daemon runs what cmd/herald-sim measured
// (docs/benchmarks.md names the profile of each figure). Select one with
// --gossip-profile.
type Profile struct {
	Name       string
	Membership membership.Profile
	Protocol   func(plumtree.NodeID, *rand.Rand) plumtree.Config
}

// profiles are the daemon's presets:
//
//   - lan: racks of one datacentre; memberlist's LAN timing and
//     plumtree.DefaultConfig (sub-millisecond links, little loss).
//   - wan: links of 10–20 ms with up to 10 % loss; memberlist's WAN timing
//     and plumtree.WANConfig (the herald-sim -profile wan setting).
//   - local: many heralds on one machine (tests, demos); fast memberlist
//     gossip with loose probe timeouts, and plumtree.DefaultConfig.
var profiles = []Profile{
	{"lan", membership.LAN, plumtree.DefaultConfig},
	{"wan", membership.WAN, plumtree.WANConfig},
	{"local", membership.Local, plumtree.DefaultConfig},
}

// LookupProfile returns the profile called name.
func LookupProfile(name string) (Profile, bool) {
	i := slices.IndexFunc(profiles, func(p Profile) bool { return p.Name == name })
	if i < 0 {
		return Profile{}, false
	}
	return profiles[i], true
}

// ProfileNames lists the profiles, for help and error messages.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.Name
	}
	return names
}
