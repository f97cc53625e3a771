package main

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"time"

	"github.com/heraldproj/herald/internal/status"
	"github.com/heraldproj/herald/proxy"
)

// statusPage serves herald's fleet status (internal/status):
//
//	/status.json?scope=local  this herald's figures
//	/status.json              the fleet's: this herald's and every member's own, asked in parallel
//	/status                   the same as an HTML page
//
// A member is asked at its advertised client URL, which serves /status.json
// too, over the TLS herald uses towards its peers.
type statusPage struct {
	status  func() proxy.Status // this herald's (proxy.Server.Status)
	selfURL string
	// members lists the fleet's heralds; nil without a fleet (the fleet is
	// then this herald alone).
	members func() []proxy.FleetMember
	// peers asks other heralds.
	peers *http.Client
}

// newStatusPage serves srv's figures as the herald advertised at the first
// of advertised; peersTLS (nil for plain text) reaches the https client
// URLs of members.
func newStatusPage(srv *proxy.Server, advertised []string, members func() []proxy.FleetMember, peersTLS *tls.Config) *statusPage {
	var selfURL string
	if len(advertised) > 0 {
		selfURL = advertised[0]
	}
	return &statusPage{
		status:  srv.Status,
		selfURL: selfURL,
		members: members,
		// Without keep-alives: a page asks each member every few seconds at
		// most, and an idle connection would hold a descriptor on both ends.
		peers: &http.Client{Transport: &http.Transport{
			TLSClientConfig:   peersTLS,
			DisableKeepAlives: true,
			Proxy:             nil, // peers are reached directly, whatever HTTP_PROXY says
		}},
	}
}

// self is this herald's figures.
func (p *statusPage) self() status.Herald { return heraldStatus(p.status(), p.selfURL) }

// report is the report of scope for a request that ends with r's context.
func (p *statusPage) report(r *http.Request, scope status.Scope) status.Report {
	now := time.Now()
	self := p.self()
	if scope == status.Local {
		return status.Report{Version: status.Version, Scope: status.Local, From: self.Name, Time: now, Heralds: []status.Herald{self}}
	}
	var peers []status.Peer
	if p.members != nil {
		for _, m := range p.members() {
			if len(m.ClientURLs) > 0 {
				peers = append(peers, status.Peer{Name: m.Name, URL: m.ClientURLs[0]})
			}
		}
	}
	return status.Collect(r.Context(), p.peers, status.DefaultAsking, self, peers, now)
}

// serveJSON answers /status.json: ?scope=local for this herald, the fleet
// otherwise (?scope=fleet, the default).
func (p *statusPage) serveJSON(w http.ResponseWriter, r *http.Request) {
	scope := status.Scope(r.URL.Query().Get("scope"))
	switch scope {
	case "":
		scope = status.Fleet
	case status.Local, status.Fleet:
	default:
		http.Error(w, `scope must be "local" or "fleet"`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(p.report(r, scope))
}

// serveHTML answers /status, the fleet as a page that reloads itself.
func (p *statusPage) serveHTML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = status.HTML(w, p.report(r, status.Fleet))
}

// heraldStatus is st in the status report's shape, for the herald at url.
func heraldStatus(st proxy.Status, url string) status.Herald {
	h := status.Herald{
		Name:     st.Name,
		URL:      url,
		Upstream: &status.Upstream{Healthy: st.UpstreamHealthy, Reason: st.UpstreamReason},
		Ready:    &status.Ready{Offload: st.OffloadReady, Fanout: st.FanoutReady},
	}
	if o := st.Offload; o != nil {
		h.Offload = &status.Offload{Active: o.Active, VirtualLeases: int64(o.VirtualLeases), Carriers: int64(o.Carriers),
			FleetLeases: int64(o.FleetLeases), IndexRev: o.IndexRev}
	}
	if f := st.Fanout; f != nil {
		h.Fanout = &status.Fanout{
			Feeding: f.Feeding, Rev: f.Rev, WindowStart: f.WindowStart, CompactRev: f.CompactRev,
			WindowEvents: int64(f.WindowEvents), WindowBytes: int64(f.WindowBytes), HeldBatches: int64(f.HeldBatches),
			Streams: int64(f.Streams), Watchers: int64(f.Watchers), SlowCancels: int64(f.SlowCancels), Gaps: int64(f.Gaps),
			SeenRev: f.SeenRev, LagRevisions: f.LagRevisions,
			SinceAdvanceSeconds: float64(f.SinceAdvance.Round(time.Millisecond).Milliseconds()) / 1000, // 1.235, not 1.2349999999999999
		}
	}
	return h
}
