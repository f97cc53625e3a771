package status

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// peerServer answers /status.json?scope=local as a herald named name would,
// with the figures of h.
func peerServer(t *testing.T, h Herald) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path || r.URL.Query().Get("scope") != "local" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(Report{Version: Version, Scope: Local, From: h.Name, Time: time.Now(), Heralds: []Herald{h}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// handlerServer serves f.
func handlerServer(t *testing.T, f http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// TestCollectAsksEveryPeer: the fleet report lists this herald and every
// peer that answered with its own figures, sorted by name; a peer that
// hangs, answers garbage, answers under another name, has no status page
// or cannot be reached is listed unreachable with why. Collect returns
// although a peer never answers.
func TestCollectAsksEveryPeer(t *testing.T) {
	good := sampleHerald("b-good", false)
	hang := make(chan struct{})
	defer close(hang)
	hanging := handlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	})
	garbage := handlerServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"version":1,`)) })
	old := handlerServer(t, http.NotFound)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	peers := []Peer{
		{Name: "e-hanging", URL: hanging.URL},
		{Name: "b-good", URL: peerServer(t, good).URL},
		{Name: "c-garbage", URL: garbage.URL},
		{Name: "d-imposter", URL: peerServer(t, sampleHerald("someone-else", false)).URL},
		{Name: "f-old", URL: old.URL},
		{Name: "g-closed", URL: closed.URL},
		{Name: "h-unix", URL: "unix:///run/herald.sock"},
		{Name: "a-self", URL: "http://self.invalid"}, // this herald: not asked
		{Name: "b-good", URL: "http://twice.invalid"},
	}
	self := sampleHerald("a-self", true)
	now := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	rep := Collect(context.Background(), http.DefaultClient, Asking{Timeout: 200 * time.Millisecond, Parallel: 2}, self, peers, now)

	if rep.Version != Version || rep.Scope != Fleet || rep.From != "a-self" || !rep.Time.Equal(now) {
		t.Fatalf("report header %+v", rep)
	}
	wantErr := map[string]string{
		"a-self":     "",
		"b-good":     "",
		"c-garbage":  "unexpected EOF",
		"d-imposter": `answered as "someone-else"`,
		"e-hanging":  "context deadline exceeded",
		"f-old":      "404 Not Found",
		"g-closed":   "connection refused",
		"h-unix":     "not an http or https URL",
	}
	if len(rep.Heralds) != len(wantErr) {
		t.Fatalf("%d heralds, want %d: %+v", len(rep.Heralds), len(wantErr), rep.Heralds)
	}
	for i, h := range rep.Heralds {
		if i > 0 && rep.Heralds[i-1].Name >= h.Name {
			t.Fatalf("heralds not sorted by name: %q before %q", rep.Heralds[i-1].Name, h.Name)
		}
		want, ok := wantErr[h.Name]
		switch {
		case !ok:
			t.Fatalf("unexpected herald %q", h.Name)
		case want == "" && !h.Reachable():
			t.Errorf("%s: unreachable: %s", h.Name, h.Error)
		case want != "" && !strings.Contains(h.Error, want):
			t.Errorf("%s: error %q, want one with %q", h.Name, h.Error, want)
		}
	}
	if got := rep.Heralds[1]; got.URL != peers[1].URL || *got.Offload != *good.Offload || *got.Fanout != *good.Fanout {
		t.Fatalf("b-good listed as %+v, want its own figures at its URL", got)
	}
	if _, err := Decode(strings.NewReader(string(encode(t, rep))), Fleet); err != nil {
		t.Fatalf("the fleet report does not decode: %v", err)
	}
}

// TestCollectAlone: without peers the fleet is this herald alone.
func TestCollectAlone(t *testing.T) {
	self := sampleHerald("h0", true)
	rep := Collect(context.Background(), http.DefaultClient, DefaultAsking, self, nil, time.Now())
	if len(rep.Heralds) != 1 || rep.Heralds[0].Name != "h0" {
		t.Fatalf("heralds %+v, want h0 alone", rep.Heralds)
	}
}

// TestCollectEndsWithItsContext: peers not asked when the request ends are
// listed as not asked, with why.
func TestCollectEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	peers := []Peer{{Name: "h1", URL: "http://h1.invalid"}, {Name: "h2", URL: "http://h2.invalid"}}
	rep := Collect(ctx, http.DefaultClient, Asking{Timeout: time.Second, Parallel: 1}, sampleHerald("h0", false), peers, time.Now())
	for _, h := range rep.Heralds[1:] {
		if h.Error != "not asked: context canceled" {
			t.Fatalf("%s: error %q, want not asked: context canceled", h.Name, h.Error)
		}
	}
}

// TestCollectEndsInTotal: a report whose peers hang ends after
// Asking.Total, not after a Timeout per peer; those still waiting for
// their turn then are listed as not asked.
func TestCollectEndsInTotal(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	hanging := handlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	})
	peers := []Peer{{Name: "h1", URL: hanging.URL}, {Name: "h2", URL: hanging.URL}, {Name: "h3", URL: hanging.URL}}
	// Each peer would hang for its Timeout; one at a time, the report would
	// take three times that without Total.
	rep := Collect(context.Background(), http.DefaultClient, Asking{Timeout: time.Hour, Parallel: 1, Total: 100 * time.Millisecond},
		sampleHerald("h0", false), peers, time.Now())
	notAsked := 0
	for _, h := range rep.Heralds[1:] {
		switch {
		case h.Error == "not asked: the fleet report's 100ms ran out":
			notAsked++
		case !strings.Contains(h.Error, ": the fleet report's 100ms ran out"): // asked, cut short
			t.Errorf("%s: error %q, want not asked, or asked and cut short", h.Name, h.Error)
		}
	}
	if notAsked < 2 {
		t.Fatalf("%d peers not asked, want at least the two waiting behind the one asked: %+v", notAsked, rep.Heralds)
	}
}
