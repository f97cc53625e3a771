package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	httppprof "net/http/pprof"

	"github.com/heraldproj/herald/proxy"
)

// opsPages are the pages of one run: the handler of its Prometheus
// registry (metricsHandler) and its status page.
type opsPages struct {
	metrics http.Handler
	status  *statusPage
	// joined reports whether this herald has joined its fleet (nil: no
	// fleet); /readyz waits for it.
	joined func() bool
}

// opsMux is herald's HTTP surface, the same on the client port and on
// --metrics-addr:
//
//	/metrics, /proxy/metrics  herald's metrics (Prometheus)
//	/health                   etcd through herald, etcd's JSON; 503 when unhealthy
//	/proxy/health             herald itself (lease offload and fan-out up), the same JSON
//	/livez                    herald's process answers: for a liveness probe, which must not restart herald when etcd is down
//	/readyz                   herald can serve: itself up, in its fleet, and etcd healthy; for a readiness probe
//	/status, /status.json     the fleet's status, a page and JSON (statusPage)
//	/debug/pprof/             Go's profiles, with --enable-pprof (as etcd)
//
// pages are the run's own: its registry's /metrics, its /status.
func opsMux(srv *proxy.Server, pages opsPages, pprof bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", http.NotFound)
	mux.Handle("/metrics", pages.metrics)
	mux.Handle("/proxy/metrics", pages.metrics)
	mux.HandleFunc("/health", healthHandler(srv.Healthy))
	mux.HandleFunc("/proxy/health", healthHandler(func() (bool, string) { return heraldReady(srv) }))
	mux.HandleFunc("/livez", probeHandler(func() (bool, string) { return true, "" }))
	mux.HandleFunc("/readyz", probeHandler(func() (bool, string) {
		if ok, reason := heraldReady(srv); !ok {
			return false, reason
		}
		if pages.joined != nil && !pages.joined() {
			return false, "not in the fleet yet: no seed (--join) has answered"
		}
		return srv.Healthy()
	}))
	mux.HandleFunc("/status", pages.status.serveHTML)
	mux.HandleFunc("/status.json", pages.status.serveJSON)
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	return mux
}

// healthHandler answers as etcd's /health does: {"health":"true","reason":""},
// and 503 with the reason when unhealthy.
func healthHandler(healthy func() (bool, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		ok, reason := healthy()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"health": fmt.Sprint(ok), "reason": reason})
	}
}

// probeHandler answers as etcd's /livez and /readyz do: "ok", or 503 with
// the failed check.
func probeHandler(check func() (bool, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		ok, reason := check()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "[-]%s\nfailed\n", reason)
			return
		}
		fmt.Fprintln(w, "ok")
	}
}
