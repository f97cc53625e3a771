package tests

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/tests/harness"
)

// fanoutPrefix is the fan-out prefix every fleet of these tests serves.
const fanoutPrefix = "/services/"

// fleetPatience bounds how long a fleet may take to form or to settle on
// its feeders; it turns a hang into a failure, it is not a threshold.
const fleetPatience = 60 * time.Second

// fleetHerald is one herald of a fleet started by startFleet.
type fleetHerald struct {
	*harness.Herald
	name       string
	gossipAddr string
}

// startFleet starts n heralds in front of etcdEndpoints, joined in one fleet
// (memberlist with the local profile, a shared key in t.TempDir()), each
// with --fanout-prefix /services/ and extraArgs, and waits until every herald
// lists all n in MemberList and the fleet has a feeder.
func startFleet(t *testing.T, n int, etcdEndpoints []string, extraArgs ...string) []*fleetHerald {
	t.Helper()
	return startFleetWith(t, n, func(int) []string { return etcdEndpoints }, extraArgs...)
}

// startFleetWith is startFleet with herald i's upstream endpoints from
// endpoints(i) (e.g. through a TCPProxy of its own).
func startFleetWith(t *testing.T, n int, endpoints func(i int) []string, extraArgs ...string) []*fleetHerald {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "fleet.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	var fleet []*fleetHerald
	for i := range n {
		fh := &fleetHerald{name: fmt.Sprintf("h%d", i), gossipAddr: harness.FreeAddr(t)}
		args := []string{
			"--gossip-addr", fh.gossipAddr,
			"--gossip-transport-addr", harness.FreeAddr(t),
			"--gossip-key-file", keyFile,
			"--gossip-profile", "local",
			"--fanout-prefix", fanoutPrefix,
		}
		if i > 0 {
			args = append(args, "--join", fleet[0].gossipAddr)
		}
		args = append(args, extraArgs...)
		fh.Herald = harness.StartHerald(t, harness.HeraldOptions{Endpoints: endpoints(i), Name: fh.name, ExtraArgs: args})
		fleet = append(fleet, fh)
	}
	waitFleetFormed(t, fleet)
	return fleet
}

// waitFleetFormed waits until every running herald of fleet lists every
// running one in MemberList, and at least one feeds.
func waitFleetFormed(t *testing.T, fleet []*fleetHerald) {
	t.Helper()
	var running []*fleetHerald
	for _, h := range fleet {
		if h.Running() {
			running = append(running, h)
		}
	}
	deadline := time.Now().Add(fleetPatience)
	for _, h := range running {
		cli := harness.Client(t, h.Endpoint())
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := cli.MemberList(ctx)
			cancel()
			if err == nil && listsHeralds(resp.Members, running) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("fleet: %s does not list the %d heralds within %v (resp %v, err %v)", h.name, len(running), fleetPatience, resp, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for len(feeders(t, running)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("fleet: no herald feeds within %v", fleetPatience)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// listsHeralds reports whether members (etcd's, with heralds' client URLs)
// show exactly the client URLs of the running heralds.
func listsHeralds(members []*pb.Member, running []*fleetHerald) bool {
	shown := map[string]bool{}
	for _, m := range members {
		for _, u := range m.ClientURLs {
			shown[u] = true
		}
	}
	for _, h := range running {
		if !shown[h.Endpoint()] {
			return false
		}
	}
	return len(shown) == len(running)
}

// feeders returns the indexes (in fleet) of the running heralds whose
// herald_fanout_feeding gauge is 1.
func feeders(t *testing.T, fleet []*fleetHerald) []int {
	t.Helper()
	var out []int
	for i, h := range fleet {
		if !h.Running() {
			continue
		}
		if v, ok := metricValue(h.MetricsURL()+"/metrics", "herald_fanout_feeding"); ok && v == 1 {
			out = append(out, i)
		}
	}
	return out
}

// nonFeeders returns the indexes of the running heralds that do not feed.
func nonFeeders(t *testing.T, fleet []*fleetHerald) []int {
	t.Helper()
	f := feeders(t, fleet)
	var out []int
	for i, h := range fleet {
		if h.Running() && !slices.Contains(f, i) {
			out = append(out, i)
		}
	}
	return out
}

// metricValue reads one unlabelled sample from a /metrics page.
func metricValue(url, name string) (float64, bool) {
	body, err := harness.Metrics(url)
	if err != nil {
		return 0, false
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)`).FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// fleetMetrics describes the fan-out counters of every herald, for logs.
func fleetMetrics(fleet []*fleetHerald) string {
	s := ""
	for _, h := range fleet {
		if !h.Running() {
			s += fmt.Sprintf("[%s: dead] ", h.name)
			continue
		}
		url := h.MetricsURL() + "/metrics"
		feeding, _ := metricValue(url, "herald_fanout_feeding")
		batches, _ := metricValue(url, "herald_fanout_batches_total")
		repairs, _ := metricValue(url, "herald_fanout_repairs_total")
		s += fmt.Sprintf("[%s: feeding=%g batches=%g repairs=%g] ", h.name, feeding, batches, repairs)
	}
	return s
}

// longRun reports whether HERALD_LONG=1 asks for the long versions.
func longRun() bool { return os.Getenv("HERALD_LONG") == "1" }
