package proxy

import (
	"fmt"
	"slices"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// TestShowHeralds: every herald appears, every started member gets at
// least one herald's URL, an unstarted member stays as etcd shows it, and
// nothing of etcd's client URLs is left.
func TestShowHeralds(t *testing.T) {
	for _, tc := range []struct {
		members, heralds int
		want             [][]string // client URLs per started member
	}{
		{1, 1, [][]string{{"h0"}}},
		{1, 3, [][]string{{"h0", "h1", "h2"}}},
		{3, 1, [][]string{{"h0"}, {"h0"}, {"h0"}}},
		{3, 3, [][]string{{"h0"}, {"h1"}, {"h2"}}},
		{2, 5, [][]string{{"h0", "h2", "h4"}, {"h1", "h3"}}},
		{3, 2, [][]string{{"h0"}, {"h1"}, {"h0"}}},
	} {
		t.Run(fmt.Sprintf("%d members, %d heralds", tc.members, tc.heralds), func(t *testing.T) {
			var members []*pb.Member
			for i := range tc.members {
				members = append(members, &pb.Member{ID: uint64(i + 1), Name: fmt.Sprintf("m%d", i), ClientURLs: []string{"etcd"}})
			}
			unstarted := &pb.Member{ID: 99, PeerURLs: []string{"peer"}}
			members = append(members, unstarted)
			var heralds []FleetMember
			for i := range tc.heralds {
				heralds = append(heralds, FleetMember{Name: fmt.Sprintf("h%d", i), ClientURLs: []string{fmt.Sprintf("h%d", i)}})
			}
			showHeralds(members, heralds)
			for i, want := range tc.want {
				if !slices.Equal(members[i].ClientURLs, want) {
					t.Errorf("member %d: %v, want %v", i, members[i].ClientURLs, want)
				}
			}
			if len(unstarted.ClientURLs) != 0 {
				t.Errorf("an unstarted member got client URLs %v", unstarted.ClientURLs)
			}
		})
	}
}
