package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldproj/herald/fanout"
	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/internal/status"
	"github.com/heraldproj/herald/lease/offload"
	"github.com/heraldproj/herald/proxy"
)

// sampleStatus is a herald's proxy.Status with every figure set, each to a
// distinct value, so that a figure mapped to the wrong field shows.
func sampleStatus(name string) proxy.Status {
	return proxy.Status{
		Name:            name,
		UpstreamHealthy: false,
		UpstreamReason:  "etcdserver: no leader",
		OffloadReady:    true,
		FanoutReady:     false,
		Offload:         &offload.Stats{Active: true, VirtualLeases: 11, Carriers: 12, FleetLeases: 13, IndexRev: 14},
		Fanout: &hub.Stats{
			Stats: fanout.Stats{Rev: 21, WindowStart: 22, CompactRev: 23, WindowEvents: 24, WindowBytes: 25, HeldBatches: 26,
				Streams: 27, Watchers: 28, SlowCancels: 29, Gaps: 30, LastAdvance: time.Unix(1, 0)},
			Feeding: true, SeenRev: 31, LagRevisions: 32, SinceAdvance: 1234567 * time.Microsecond,
		},
	}
}

// TestHeraldStatusMapsEveryFigure: each figure of proxy.Status lands in
// its field of the report.
func TestHeraldStatusMapsEveryFigure(t *testing.T) {
	got := heraldStatus(sampleStatus("h0"), "http://h0:2379")
	want := status.Herald{
		Name: "h0", URL: "http://h0:2379",
		Upstream: &status.Upstream{Healthy: false, Reason: "etcdserver: no leader"},
		Ready:    &status.Ready{Offload: true, Fanout: false},
		Offload:  &status.Offload{Active: true, VirtualLeases: 11, Carriers: 12, FleetLeases: 13, IndexRev: 14},
		Fanout: &status.Fanout{Feeding: true, Rev: 21, WindowStart: 22, CompactRev: 23, WindowEvents: 24, WindowBytes: 25,
			HeldBatches: 26, Streams: 27, Watchers: 28, SlowCancels: 29, Gaps: 30, SeenRev: 31, LagRevisions: 32,
			SinceAdvanceSeconds: 1.235},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("heraldStatus\n%s\nwant\n%s", jsonOf(t, got), jsonOf(t, want))
	}
	bare := heraldStatus(proxy.Status{Name: "h1", UpstreamHealthy: true, OffloadReady: true, FanoutReady: true}, "")
	if bare.Offload != nil || bare.Fanout != nil || !bare.Upstream.Healthy {
		t.Fatalf("a herald without offload and fan-out reports %s", jsonOf(t, bare))
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// servePage serves p's /status and /status.json as opsMux does.
func servePage(t *testing.T, p *statusPage) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/status", p.serveHTML)
	mux.HandleFunc("/status.json", p.serveJSON)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestStatusPageAsksTheFleet: /status.json?scope=local is the herald
// alone; /status.json and /status list every member, a peer with its own
// figures (asked at its client URL), a dead one as unreachable; a herald
// without a fleet shows itself alone.
func TestStatusPageAsksTheFleet(t *testing.T) {
	peer := servePage(t, &statusPage{status: func() proxy.Status { return sampleStatus("h1") }, selfURL: "unused", peers: &http.Client{}})
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	members := func() []proxy.FleetMember {
		return []proxy.FleetMember{
			{Name: "h2", ClientURLs: []string{dead.URL}},
			{Name: "h1", ClientURLs: []string{peer.URL}},
			{Name: "h0", ClientURLs: []string{"http://h0.invalid"}},
		}
	}
	self := status.Herald{Name: "h0"}
	plain := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	h0 := servePage(t, &statusPage{
		status: func() proxy.Status {
			return proxy.Status{Name: "h0", UpstreamHealthy: true, OffloadReady: true, FanoutReady: true}
		},
		selfURL: "http://h0:2379", members: members, peers: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	})

	code, body := get(t, plain, h0.URL+"/status.json?scope=local")
	local, err := status.Decode(strings.NewReader(body), status.Local)
	if code != http.StatusOK || err != nil || local.Heralds[0].Name != self.Name || local.Heralds[0].URL != "http://h0:2379" {
		t.Fatalf("local report: %d %v %s", code, err, body)
	}

	for _, path := range []string{"/status.json", "/status.json?scope=fleet"} {
		code, body = get(t, plain, h0.URL+path)
		fleet, err := status.Decode(strings.NewReader(body), status.Fleet)
		if code != http.StatusOK || err != nil {
			t.Fatalf("%s: %d %v %s", path, code, err, body)
		}
		var names []string
		for _, h := range fleet.Heralds {
			names = append(names, h.Name)
		}
		if strings.Join(names, ",") != "h0,h1,h2" || fleet.From != "h0" {
			t.Fatalf("%s: heralds %v from %s, want h0,h1,h2 from h0", path, names, fleet.From)
		}
		h1 := fleet.Heralds[1]
		if !h1.Reachable() || h1.URL != peer.URL || !reflect.DeepEqual(*h1.Offload, *heraldStatus(sampleStatus("h1"), "").Offload) || !h1.Feeding() {
			t.Fatalf("%s: h1 is %s; want its own figures", path, jsonOf(t, h1))
		}
		if h2 := fleet.Heralds[2]; h2.Reachable() || !strings.Contains(h2.Error, "connection refused") {
			t.Fatalf("%s: h2 is %s; want unreachable", path, jsonOf(t, h2))
		}
	}

	code, body = get(t, plain, h0.URL+"/status")
	for _, want := range []string{`data-herald="h0"`, `data-herald="h1"`, `data-herald="h2"`, `<td class="feeder">feeder</td>`, "unreachable: "} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("/status (%d) lacks %s:\n%s", code, want, body)
		}
	}

	if code, body = get(t, plain, h0.URL+"/status.json?scope=rack"); code != http.StatusBadRequest {
		t.Fatalf("scope=rack: %d %s; want 400", code, body)
	}

	alone := servePage(t, &statusPage{status: func() proxy.Status { return sampleStatus("h9") }, peers: &http.Client{}})
	code, body = get(t, plain, alone.URL+"/status.json")
	if rep, err := status.Decode(strings.NewReader(body), status.Fleet); code != http.StatusOK || err != nil || len(rep.Heralds) != 1 {
		t.Fatalf("a herald without a fleet: %d %v %s", code, err, body)
	}
}
