package status

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Peer is another herald of the fleet, as membership lists it.
type Peer struct {
	Name string
	URL  string // its advertised client URL, which serves /status.json
}

// Asking bounds how a fleet report asks its peers.
type Asking struct {
	// Timeout is how long one peer may take to answer (with connecting).
	Timeout time.Duration
	// Parallel is how many peers are asked at a time.
	Parallel int
	// Total bounds the whole report (0: no bound but the context's): peers
	// still waiting for their turn then are not asked.
	Total time.Duration
}

// DefaultAsking answers a page within about a second even when peers hang:
// they are asked in parallel, and one that takes longer is shown as
// unreachable. In a fleet so large, or so slow, that the 32 at a time
// would take more than 3 s, the rest are shown as not asked.
var DefaultAsking = Asking{Timeout: time.Second, Parallel: 32, Total: 3 * time.Second}

// Collect builds the fleet report of self (this herald's figures, from
// memory) and its peers, each asked for its local report over client
// (Fetch) as a says. A peer that does not answer, or answers something
// Decode refuses, or under another name, is listed unreachable with the
// error; one not asked in time (Asking.Total, or ctx ended) is listed
// with that. Heralds are sorted by name; a peer named as self, or as a
// peer listed before it, is skipped. Collect returns when every peer has
// answered or timed out, or ctx ended.
func Collect(ctx context.Context, client *http.Client, a Asking, self Herald, peers []Peer, now time.Time) Report {
	heralds := []Herald{self}
	var others []Peer
	seen := map[string]bool{self.Name: true}
	for _, p := range peers {
		if !seen[p.Name] {
			seen[p.Name] = true
			others = append(others, p)
		}
	}
	if a.Total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, a.Total, fmt.Errorf("the fleet report's %v ran out", a.Total))
		defer cancel()
	}
	answers := make([]Herald, len(others))
	sem := make(chan struct{}, max(a.Parallel, 1))
	var wg sync.WaitGroup
	for i, p := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				answers[i] = Herald{Name: p.Name, URL: p.URL, Error: "not asked: " + context.Cause(ctx).Error()}
				return
			}
			answers[i] = ask(ctx, client, a.Timeout, p)
		}()
	}
	wg.Wait()
	heralds = append(heralds, answers...)
	slices.SortFunc(heralds, func(x, y Herald) int { return cmp.Compare(x.Name, y.Name) })
	return Report{Version: Version, Scope: Fleet, From: self.Name, Time: now, Heralds: heralds}
}

// ask fetches p's local report and returns its herald, or p unreachable.
func ask(ctx context.Context, client *http.Client, timeout time.Duration, p Peer) Herald {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep, err := Fetch(ctx, client, p.URL, Local)
	if err == nil && rep.From != p.Name {
		err = fmt.Errorf("status: %s answered as %q", p.URL, rep.From)
	}
	if err != nil {
		return Herald{Name: p.Name, URL: p.URL, Error: strings.TrimPrefix(err.Error(), "status: ")}
	}
	h := rep.Heralds[0]
	h.URL = p.URL
	return h
}
