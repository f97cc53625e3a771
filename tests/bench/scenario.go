package bench

import "fmt"

// The founding scenario's knobs (issue 15), each defaulting to the issue's
// figure; set smaller ones to run it small.
const (
	scRacksEnv      = "HERALD_BENCH_SCENARIO_RACKS"       // racks: one front (herald, grpc-proxy) each
	scNodesEnv      = "HERALD_BENCH_SCENARIO_NODES"       // nodes per rack
	scServicesEnv   = "HERALD_BENCH_SCENARIO_SERVICES"    // services; every rack holds nodes/services of each
	scWatchersEnv   = "HERALD_BENCH_SCENARIO_WATCHERS"    // watchers of /services/web/, over all racks
	scConnsEnv      = "HERALD_BENCH_SCENARIO_CONNS"       // keepalive connections per rack
	scWatchConnsEnv = "HERALD_BENCH_SCENARIO_WATCH_CONNS" // watch connections per rack
	scPathsEnv      = "HERALD_BENCH_SCENARIO_PATHS"       // comma list, in run order
	scPlotEnv       = "HERALD_BENCH_SCENARIO_PLOT"        // where the CDF plot (SVG) goes
	scGenNiceEnv    = "HERALD_BENCH_SCENARIO_GEN_NICE"    // the load generator's nice value (default -10; 0 leaves it)
	scSteadyEnv     = "HERALD_BENCH_SCENARIO_STEADY"      // the steady window (default 2m)
	scHeapDirEnv    = "HERALD_BENCH_SCENARIO_HEAP_DIR"    // where each herald's heap profiles go (go tool pprof), at each memory reading
)

var scenarioKnobs = []string{scRacksEnv, scNodesEnv, scServicesEnv, scWatchersEnv, scConnsEnv, scWatchConnsEnv, scPathsEnv, scPlotEnv, scGenNiceEnv, scSteadyEnv, scHeapDirEnv}

// scWebService is the service index of `web`, the hot one.
const scWebService = 0

// scenarioLayout places the nodes: node i is on rack i mod racks, the
// (i div racks)-th node of its rack, and of service (i div racks) mod
// services, so that every rack holds nodes/services nodes of every service.
type scenarioLayout struct {
	racks, perRack, services int
}

func (l scenarioLayout) nodes() int           { return l.racks * l.perRack }
func (l scenarioLayout) rack(i int) int       { return i % l.racks }
func (l scenarioLayout) service(i int) int    { return (i / l.racks) % l.services }
func (l scenarioLayout) node(rack, j int) int { return j*l.racks + rack }

func (l scenarioLayout) key(i int) string {
	svc := "web"
	if s := l.service(i); s != scWebService {
		svc = fmt.Sprintf("svc%02d", s)
	}
	return fmt.Sprintf("%s%s/r%02d-n%05d", fanoutPrefix, svc, l.rack(i), i/l.racks)
}

// failedRack is the rack whose nodes all stop at once.
func (l scenarioLayout) failedRack() int { return l.racks - 1 }

// singles are the web nodes stopped one at a time: the first web node of
// racks 0, 1, …, failedRack−1, then their second ones, and so on.
func (l scenarioLayout) singles(n int) []int {
	var out []int
	for k := range n {
		r, nth := k%(l.racks-1), k/(l.racks-1)
		out = append(out, l.node(r, nth*l.services+scWebService))
	}
	return out
}

// rackWeb is the failed rack's web nodes.
func (l scenarioLayout) rackWeb() []int {
	var out []int
	for j := scWebService; j < l.perRack; j += l.services {
		out = append(out, l.node(l.failedRack(), j))
	}
	return out
}
