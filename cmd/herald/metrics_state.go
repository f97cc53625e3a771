package main

import (
	"fmt"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/proxy"
)

// exportState registers, on reg, the gauges of srv's state and of the
// fleet's size (fleetMembers is nil without a fleet):
//
//	herald_build_info{version,commit,goversion}  1
//	herald_upstream_healthy                      1 while etcd's member answers herald's health probe
//	herald_ready                                 1 while lease offload and fan-out are up (/proxy/health)
//	herald_fleet_members                         heralds in this herald's view of the fleet (1 without a fleet)
func exportState(reg prometheus.Registerer, srv *proxy.Server, fleetMembers func() int) error {
	boolean := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	b := build{version: "unknown", commit: "unknown", goVersion: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b = readBuild(bi)
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "herald_build_info", Help: "herald's version, commit and Go version, as labels; always 1.",
		ConstLabels: prometheus.Labels{"version": b.version, "commit": b.commit, "goversion": b.goVersion}})
	info.Set(1)
	for _, c := range []prometheus.Collector{
		info,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "herald_upstream_healthy", Help: "1 while the etcd member herald talks to follows a leader (herald's health probe)."},
			func() float64 { ok, _ := srv.Healthy(); return boolean(ok) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "herald_ready", Help: "1 while herald's lease offload and fan-out are up (/proxy/health)."},
			func() float64 { ok, _ := heraldReady(srv); return boolean(ok) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "herald_fleet_members", Help: "Heralds in this herald's view of the fleet, itself included (1 without a fleet)."},
			func() float64 {
				if fleetMembers != nil {
					return float64(fleetMembers())
				}
				return 1
			}),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// fleetSizeOf counts a fleet's heralds; nil without a fleet.
func fleetSizeOf(members func() []proxy.FleetMember) func() int {
	if members == nil {
		return nil
	}
	return func() int { return len(members()) }
}
