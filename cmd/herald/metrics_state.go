package main

import (
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldproj/herald/proxy"
)

// serving is the herald the state gauges describe: the one run started
// last in this process (tests start several, one after another).
var (
	serving      atomic.Pointer[proxy.Server]
	fleetSize    atomic.Pointer[func() int]
	stateMetrics sync.Once
)

// exportState points the state gauges at srv and the fleet's size (nil
// without a fleet), registering them the first time:
//
//	herald_build_info{version,commit,goversion}  1
//	herald_upstream_healthy                      1 while etcd's member answers herald's health probe
//	herald_ready                                 1 while lease offload and fan-out are up (/proxy/health)
//	herald_fleet_members                         heralds in this herald's view of the fleet (1 without a fleet)
func exportState(srv *proxy.Server, fleetMembers func() int) {
	serving.Store(srv)
	fleetSize.Store(&fleetMembers)
	stateMetrics.Do(func() {
		gauge := func(name, help string, f func() float64) {
			prometheus.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
		}
		boolean := func(b bool) float64 {
			if b {
				return 1
			}
			return 0
		}
		gauge("herald_upstream_healthy", "1 while the etcd member herald talks to follows a leader (herald's health probe).",
			func() float64 { ok, _ := serving.Load().Healthy(); return boolean(ok) })
		gauge("herald_ready", "1 while herald's lease offload and fan-out are up (/proxy/health).",
			func() float64 { ok, _ := heraldReady(serving.Load()); return boolean(ok) })
		gauge("herald_fleet_members", "Heralds in this herald's view of the fleet, itself included (1 without a fleet).",
			func() float64 {
				if f := *fleetSize.Load(); f != nil {
					return float64(f())
				}
				return 1
			})
		b := build{version: "unknown", commit: "unknown", goVersion: "unknown"}
		if bi, ok := debug.ReadBuildInfo(); ok {
			b = readBuild(bi)
		}
		info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "herald_build_info", Help: "herald's version, commit and Go version, as labels; always 1.",
			ConstLabels: prometheus.Labels{"version": b.version, "commit": b.commit, "goversion": b.goVersion}})
		info.Set(1)
		prometheus.MustRegister(info)
	})
}

// fleetSizeOf counts a fleet's heralds; nil without a fleet.
func fleetSizeOf(members func() []proxy.FleetMember) func() int {
	if members == nil {
		return nil
	}
	return func() int { return len(members()) }
}
