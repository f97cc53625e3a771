package gossip

import (
	"math/rand/v2"
	"testing"

	"github.com/heraldproj/herald/gossip/membership"
	"github.com/heraldproj/herald/gossip/plumtree"
)

// TestProfilesSetBothLayers: each profile picks its membership timing and
// its tree configuration together, and wan is what herald-sim's wan
// profile measures (plumtree.WANConfig).
func TestProfilesSetBothLayers(t *testing.T) {
	want := map[string]struct {
		ms     membership.Profile
		fanout int
	}{
		"lan":   {membership.LAN, plumtree.DefaultConfig("x", nil).EagerFanout},
		"wan":   {membership.WAN, plumtree.WANConfig("x", nil).EagerFanout},
		"local": {membership.Local, plumtree.DefaultConfig("x", nil).EagerFanout},
	}
	if got := ProfileNames(); len(got) != len(want) {
		t.Fatalf("profiles %v, want %d", got, len(want))
	}
	for name, w := range want {
		p, ok := LookupProfile(name)
		if !ok {
			t.Fatalf("no profile %q", name)
		}
		cfg := p.Protocol("x", rand.New(rand.NewPCG(1, 1)))
		if p.Membership != w.ms || cfg.EagerFanout != w.fanout {
			t.Errorf("%s: membership %v fanout %d, want %v %d", name, p.Membership, cfg.EagerFanout, w.ms, w.fanout)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	wan, _ := LookupProfile("wan")
	if got, wanTree := wan.Protocol("x", nil), plumtree.WANConfig("x", nil); got != wanTree {
		t.Errorf("wan tree %+v is not WANConfig %+v", got, wanTree)
	}
	if _, ok := LookupProfile("moon"); ok {
		t.Error("unknown profile found")
	}
}
