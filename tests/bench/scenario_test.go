package bench

import (
	"strings"
	"testing"
)

func TestScenarioLayout(t *testing.T) {
	l := scenarioLayout{racks: 10, perRack: 5000, services: 100}
	perRackService := map[[2]int]int{}
	keys := map[string]bool{}
	for i := range l.nodes() {
		perRackService[[2]int{l.rack(i), l.service(i)}]++
		keys[l.key(i)] = true
	}
	if len(perRackService) != 10*100 {
		t.Fatalf("%d (rack, service) pairs, want 1000", len(perRackService))
	}
	for k, n := range perRackService {
		if n != 50 {
			t.Fatalf("rack %d service %d holds %d nodes, want 50", k[0], k[1], n)
		}
	}
	if len(keys) != l.nodes() {
		t.Fatalf("%d distinct keys for %d nodes", len(keys), l.nodes())
	}
	singles := l.singles(10)
	seen := map[int]bool{}
	for _, i := range singles {
		if l.service(i) != scWebService || l.rack(i) == l.failedRack() || seen[i] {
			t.Fatalf("single %d: rack %d service %d (dup %v)", i, l.rack(i), l.service(i), seen[i])
		}
		seen[i] = true
		if !strings.HasPrefix(l.key(i), scWebRange.key) {
			t.Fatalf("single %d's key %s is not under %s", i, l.key(i), scWebRange.key)
		}
	}
	web := l.rackWeb()
	if len(web) != 50 {
		t.Fatalf("%d web nodes on the failed rack, want 50", len(web))
	}
	for _, i := range web {
		if l.service(i) != scWebService || l.rack(i) != l.failedRack() {
			t.Fatalf("rack web node %d: rack %d service %d", i, l.rack(i), l.service(i))
		}
	}
}
