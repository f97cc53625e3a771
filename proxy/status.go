package proxy

import (
	"github.com/heraldproj/herald/fanout/hub"
	"github.com/heraldproj/herald/lease/offload"
)

// Status is a snapshot of one herald, for its metrics and its status page:
// what an operator asks first. It does no I/O.
type Status struct {
	Name string
	// UpstreamHealthy: etcd's member answers herald's health probe
	// (UpstreamReason says why not).
	UpstreamHealthy bool
	UpstreamReason  string
	// OffloadReady, FanoutReady: what Server.Ready reports.
	OffloadReady, FanoutReady bool
	// Offload is nil when lease offloading is off; Fanout nil without
	// fan-out prefixes.
	Offload *offload.Stats
	Fanout  *hub.Stats
}

// Ready reports whether the lease offloader and the fan-out are up (each
// true when it is not configured, or when offloading was turned off). It
// does not block.
func (s *Server) Ready() (offloadReady, fanoutReady bool) {
	return s.offloadReadiness() != offload.Starting, s.hub == nil || s.hub.Ready()
}

// offloadReadiness is the offloader's state; Off when there is none.
func (s *Server) offloadReadiness() offload.Readiness {
	if s.offload == nil {
		return offload.Off
	}
	r, _ := s.offload.Readiness()
	return r
}

// leaseCallsWaiting counts the lease calls and keepalives held now
// (herald_lease_calls_waiting).
func (s *Server) leaseCallsWaiting() float64 {
	if s.offload == nil {
		return 0
	}
	return float64(s.offload.waiting.Load())
}

// Status returns this herald's current figures.
func (s *Server) Status() Status {
	st := Status{Name: s.name}
	st.UpstreamHealthy, st.UpstreamReason = s.Healthy()
	st.OffloadReady, st.FanoutReady = s.Ready()
	if s.offload != nil {
		os := s.offload.Stats()
		st.Offload = &os
	}
	st.Fanout = s.fanoutStats()
	return st
}

// fanoutStats is the hub's snapshot; nil without fan-out prefixes.
func (s *Server) fanoutStats() *hub.Stats {
	if s.hub == nil {
		return nil
	}
	hs := s.hub.Stats()
	return &hs
}
