package fanout

import (
	"fmt"
	"slices"
	"testing"
)

func TestFeeders(t *testing.T) {
	fleet := []string{"h1", "h2", "h3", "h4", "h5", "rack-a", "rack-b"}
	for _, tc := range []struct {
		name    string
		topic   string
		members []string
		n       int
		want    []string
	}{
		// The ranking is part of the protocol: every herald of a fleet,
		// whatever its version, must pick the same feeders. A change here
		// needs a fleet-wide restart.
		{"fanout ranking", "fanout", fleet, 7, []string{"h2", "h5", "h1", "rack-a", "h3", "rack-b", "h4"}},
		{"leases ranking", "leases", fleet, 7, []string{"h4", "h5", "h3", "rack-b", "h1", "h2", "rack-a"}},
		{"first of the ranking", "fanout", fleet, 2, []string{"h2", "h5"}},
		{"the listing order does not matter", "fanout", []string{"rack-b", "h4", "h2", "h1", "h5", "rack-a", "h3"}, 2, []string{"h2", "h5"}},
		{"a feeder leaves: the next one steps in", "fanout", []string{"h1", "h3", "h4", "h5", "rack-a", "rack-b"}, 2, []string{"h5", "h1"}},
		{"more feeders than members", "leases", []string{"h2", "h1"}, 5, []string{"h1", "h2"}},
		{"no feeders", "fanout", fleet, 0, []string{}},
		{"no members", "fanout", nil, 1, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Feeders(tc.topic, tc.members, tc.n); !slices.Equal(got, tc.want) {
				t.Errorf("Feeders(%q, %q, %d) = %q, want %q", tc.topic, tc.members, tc.n, got, tc.want)
			}
		})
	}
}

func TestIsFeeder(t *testing.T) {
	fleet := []string{"h1", "h2", "h3", "h4", "h5", "rack-a", "rack-b"}
	for _, tc := range []struct {
		name    string
		topic   string
		self    string
		members []string
		n       int
		want    bool
	}{
		{"ranked first", "fanout", "h2", fleet, 1, true},
		{"ranked second, one feeder", "fanout", "h5", fleet, 1, false},
		{"ranked second, two feeders", "fanout", "h5", fleet, 2, true},
		{"another topic, another feeder", "leases", "h2", fleet, 1, false},
		{"alone and unlisted: feeds", "fanout", "x", nil, 1, true},
		{"unlisted counts as a member", "fanout", "h2", []string{"h1", "h5"}, 1, true},
		{"every herald feeds when n covers the fleet", "fanout", "h4", fleet, 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsFeeder(tc.topic, tc.self, tc.members, tc.n); got != tc.want {
				t.Errorf("IsFeeder(%q, %q, %q, %d) = %v, want %v", tc.topic, tc.self, tc.members, tc.n, got, tc.want)
			}
		})
	}
}

// TestFeedersPerTopic: every n picks exactly min(n, members) feeders, and
// somewhere among a few fleets two topics pick different ones (the topic
// salts the ranking).
func TestFeedersPerTopic(t *testing.T) {
	members := []string{"a", "b", "c", "d", "e"}
	for _, topic := range []string{"fanout", "leases"} {
		for n := 1; n <= len(members)+1; n++ {
			var feeders []string
			for _, m := range members {
				if IsFeeder(topic, m, members, n) {
					feeders = append(feeders, m)
				}
			}
			if len(feeders) != min(n, len(members)) {
				t.Errorf("topic %s, %d feeders: %q", topic, n, feeders)
			}
		}
	}
	differ := false
	for i := range 10 {
		fleet := []string{fmt.Sprint("h", i), fmt.Sprint("g", i), fmt.Sprint("k", i)}
		if !slices.Equal(Feeders("fanout", fleet, 1), Feeders("leases", fleet, 1)) {
			differ = true
		}
	}
	if !differ {
		t.Error("the topic does not change the feeder choice")
	}
}
