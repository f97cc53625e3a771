// Package status is herald's fleet status: the JSON shape in which a herald
// reports its figures (Report, version 1), the strict decoder for reports
// that arrive over the network (Decode), the collection of a fleet report
// from every member's local one (Collect, Fetch), and its two renderings —
// the HTML page served at /status (HTML) and the terminal table of `herald
// status` (Table).
//
// A herald serves, on its client port and on --metrics-addr:
//
//	/status.json?scope=local  its own figures: a Report with one herald
//	/status.json              the fleet as it sees it: its own figures and,
//	                          asked in parallel, every member's local report
//	/status                   the fleet report as an HTML page
//
// cmd/herald fills a Herald from proxy.Server.Status and serves these; this
// package knows no herald package (it is a leaf under internal/: the
// standard library only), so the shape cannot drift with the internals it
// reports: a change of it is a change here, documented on the types.
package status
