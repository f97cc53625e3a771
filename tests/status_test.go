package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/heraldproj/herald/internal/status"
	"github.com/heraldproj/herald/tests/harness"
)

// startStatusFleet starts etcd and a fleet of three heralds with fan-out
// and lease offload, grants a virtual lease through h0 with a key of the
// fan-out prefix on it, watches the prefix through h1, and waits until
// h2's fleet report shows all of that (statusShows). It returns the fleet
// and that report.
func startStatusFleet(t *testing.T) ([]*fleetHerald, status.Report) {
	t.Helper()
	c := harness.StartEtcd(t, harness.EtcdOptions{})
	fleet := startFleet(t, 3, c.Endpoints())
	ctx, cancel := context.WithTimeout(context.Background(), fleetPatience)
	defer cancel()

	// The watch lasts as long as the test.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	t.Cleanup(stopWatch)
	watch := harness.Client(t, fleet[1].Endpoint()).Watch(watchCtx, fanoutPrefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	if created := <-watch; created.Err() != nil || !created.Created {
		t.Fatalf("watch through h1: %v", created.Err())
	}
	cli := harness.Client(t, fleet[0].Endpoint())
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	put, err := cli.Put(ctx, fanoutPrefix+"node1", "up", clientv3.WithLease(lease.ID))
	if err != nil {
		t.Fatal(err)
	}

	var rep status.Report
	err = harness.Await(fleetPatience, func() error {
		var err error
		rep, err = status.Fetch(ctx, http.DefaultClient, fleet[2].MetricsURL(), status.Fleet)
		if err != nil {
			return err
		}
		return statusShows(rep, put.Header.Revision)
	})
	if err != nil {
		t.Fatalf("h2's /status.json: %v\n%s", err, reportJSON(rep))
	}
	return fleet, rep
}

// statusShows checks the fleet report of startStatusFleet's fleet: h0, h1
// and h2 reachable, healthy and ready, a feeder, the lease on a carrier,
// the watcher, the key's revision (putRev) in every cache. The lease and
// the watcher are counted over the fleet: on a busy machine a herald's
// session at etcd may lapse and a peer take its carriers over, lease and
// all.
func statusShows(rep status.Report, putRev int64) error {
	var names []string
	for _, h := range rep.Heralds {
		names = append(names, h.Name)
		switch {
		case !h.Reachable():
			return fmt.Errorf("%s unreachable: %s", h.Name, h.Error)
		case !h.Upstream.Healthy || !h.Ready.Offload || !h.Ready.Fanout:
			return fmt.Errorf("%s not healthy and ready", h.Name)
		case h.Offload == nil || h.Fanout == nil:
			return fmt.Errorf("%s without lease offload or fan-out figures", h.Name)
		case h.Fanout.Rev < putRev:
			return fmt.Errorf("%s's cache at revision %d, before the put's %d", h.Name, h.Fanout.Rev, putRev)
		}
	}
	t := rep.Totals()
	switch {
	case rep.From != "h2" || strings.Join(names, ",") != "h0,h1,h2":
		return fmt.Errorf("heralds %v from %s; want h0,h1,h2 from h2", names, rep.From)
	case t.Feeders < 1:
		return errors.New("no feeder")
	case t.VirtualLeases != 1 || t.Carriers < 1:
		return fmt.Errorf("%d virtual leases on %d carriers; want the one lease on a carrier", t.VirtualLeases, t.Carriers)
	case t.Watchers < 1:
		return errors.New("no watcher")
	}
	return nil
}

func reportJSON(rep status.Report) string {
	b, _ := json.MarshalIndent(rep, "", "  ")
	return string(b)
}

// TestStatusShowsTheFleet: one herald's /status.json lists the three heralds
// of its fleet with their figures, and `herald status` prints the same as
// JSON and as a table that agree.
func TestStatusShowsTheFleet(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	fleet, _ := startStatusFleet(t)
	herald := harness.Binaries(t).Herald
	statusCLI := func(args ...string) (string, error) {
		args = append([]string{"status", "--endpoints", "127.0.0.1:1," + fleet[2].Endpoint()}, args...)
		out, err := exec.Command(herald, args...).Output()
		if err != nil {
			return "", fmt.Errorf("herald %s: %w (%s)", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	// Two calls agree on the figures that hold still while nothing happens;
	// a peer slower than the page's second or a lease takeover between them
	// can make one pair differ, a wrong table makes every pair differ.
	var table string
	var asJSON status.Report
	err := harness.Await(fleetPatience, func() error {
		out, err := statusCLI("-w", "json")
		if err != nil {
			return err
		}
		if asJSON, err = status.Decode(strings.NewReader(out), status.Fleet); err != nil {
			return err
		}
		if err := statusShows(asJSON, 0); err != nil {
			return fmt.Errorf("herald status -w json: %w", err)
		}
		if table, err = statusCLI(); err != nil {
			return err
		}
		return tableAgrees(parseTable(table), asJSON)
	})
	if err != nil {
		t.Fatalf("%v\ntable:\n%s\nJSON:\n%s", err, table, reportJSON(asJSON))
	}
}

// tableAgrees compares herald status's table (parseTable) with its JSON.
func tableAgrees(rows map[string]map[string]string, rep status.Report) error {
	if len(rows) != len(rep.Heralds)+1 {
		return fmt.Errorf("%d table rows, %d heralds and TOTAL in the JSON", len(rows), len(rep.Heralds))
	}
	for _, h := range rep.Heralds {
		row, ok := rows[h.Name]
		if !ok {
			return fmt.Errorf("table lacks %s", h.Name)
		}
		want := map[string]string{
			"FEEDER": "-", "UPSTREAM": "healthy", "READY": "yes",
			"VIRTUAL LEASES": fmt.Sprint(h.Offload.VirtualLeases), "CARRIERS": fmt.Sprint(h.Offload.Carriers),
			"WATCHERS": fmt.Sprint(h.Fanout.Watchers),
		}
		if h.Feeding() {
			want["FEEDER"] = "feeder"
		}
		for col, w := range want {
			if row[col] != w {
				return fmt.Errorf("%s: table says %s %q, JSON %q", h.Name, col, row[col], w)
			}
		}
	}
	total := rep.Totals()
	if rows["TOTAL"]["FEEDER"] != fmt.Sprint(total.Feeders) || rows["TOTAL"]["CARRIERS"] != fmt.Sprint(total.Carriers) {
		return fmt.Errorf("TOTAL row %v; JSON totals %+v", rows["TOTAL"], total)
	}
	return nil
}

// parseTable reads herald status's table: herald → column title → cell,
// cutting each line at the columns of the title line (nil for no table).
func parseTable(table string) map[string]map[string]string {
	lines := strings.Split(table, "\n")
	header := lines[0]
	var starts []int
	var titles []string
	for _, m := range regexp.MustCompile(`\S+( \S+)*`).FindAllStringIndex(header, -1) {
		starts = append(starts, m[0])
		titles = append(titles, header[m[0]:m[1]])
	}
	if len(titles) < 2 || titles[0] != "HERALD" {
		return nil
	}
	out := map[string]map[string]string{}
	for _, line := range lines[1:] {
		if line == "" {
			break
		}
		row := map[string]string{}
		for i, s := range starts {
			end := len(line)
			if i+1 < len(starts) && starts[i+1] < end {
				end = starts[i+1]
			}
			if s < end {
				row[titles[i]] = strings.TrimSpace(line[s:end])
			}
		}
		out[row["HERALD"]] = row
	}
	return out
}
