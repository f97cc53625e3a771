package status

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// columns are the titles of a row's cells, in order, for both renderings.
var columns = []string{"HERALD", "FEEDER", "UPSTREAM", "READY", "VIRTUAL LEASES", "CARRIERS",
	"WINDOW", "EVENTS", "BYTES", "WATCHERS", "LAG (REVS)", "ADVANCED"}

// row is one herald as the page and the table show it: every cell already
// formatted, so that both show the same. A figure the herald does not have
// (no lease offload, no fan-out) is "-".
type row struct {
	Name, URL string
	// Unreachable is the error of a herald that did not answer; its other
	// cells are empty.
	Unreachable string
	Feeder      bool
	Healthy     bool
	// Problems: why the upstream is unhealthy or the herald not ready.
	Problems []string
	Cells    []cell // one per column after HERALD
}

// cell is a formatted figure; Class marks it for the page: "feeder", "ok"
// or "bad".
type cell struct{ Text, Class string }

// texts are cells without their marks.
func texts(text ...string) []cell {
	out := make([]cell, len(text))
	for i, t := range text {
		out[i] = cell{Text: t}
	}
	return out
}

// judged is text marked "ok" or "bad".
func judged(text string, good bool) cell {
	if good {
		return cell{text, "ok"}
	}
	return cell{text, "bad"}
}

// rows formats r's heralds.
func rows(r Report) []row {
	out := make([]row, 0, len(r.Heralds))
	for _, h := range r.Heralds {
		out = append(out, rowOf(h))
	}
	return out
}

func rowOf(h Herald) row {
	rw := row{Name: h.Name, URL: h.URL, Unreachable: h.Error, Feeder: h.Feeding()}
	if !h.Reachable() {
		return rw
	}
	rw.Healthy = h.Upstream.Healthy
	upstream := "healthy"
	if !h.Upstream.Healthy {
		upstream = "unhealthy"
		rw.Problems = append(rw.Problems, "upstream: "+orUnknown(h.Upstream.Reason))
	}
	ready := "yes"
	if !h.Ready.Offload {
		ready = "no"
		rw.Problems = append(rw.Problems, "lease offload is not up")
	}
	if !h.Ready.Fanout {
		ready = "no"
		rw.Problems = append(rw.Problems, "fan-out cache is not loaded")
	}
	feeder := cell{Text: "-"}
	if rw.Feeder {
		feeder = cell{"feeder", "feeder"}
	}
	leases, carriers := "-", "-"
	if o := h.Offload; o != nil {
		leases, carriers = num(o.VirtualLeases), num(o.Carriers)
	}
	window, events, size, watchers, lag, advanced := "-", "-", "-", "-", "-", "-"
	if f := h.Fanout; f != nil {
		window = fmt.Sprintf("[%d..%d]", f.WindowStart, f.Rev)
		if f.WindowStart > f.Rev {
			window = fmt.Sprintf("empty at %d", f.Rev)
		}
		events, size, watchers, lag = num(f.WindowEvents), bytesIEC(f.WindowBytes), num(f.Watchers), num(f.LagRevisions)
		advanced = ago(f.SinceAdvanceSeconds)
	}
	rw.Cells = append([]cell{feeder, judged(upstream, rw.Healthy), judged(ready, ready == "yes")},
		texts(leases, carriers, window, events, size, watchers, lag, advanced)...)
	return rw
}

// totalsRow sums r as a last row.
func totalsRow(r Report) row {
	t := r.Totals()
	return row{
		Name: "TOTAL",
		Cells: texts(
			fmt.Sprintf("%d", t.Feeders),
			fmt.Sprintf("%d/%d", t.Healthy, t.Heralds),
			fmt.Sprintf("%d/%d", t.Ready, t.Heralds),
			num(t.VirtualLeases), num(t.Carriers),
			"", "", "", num(t.Watchers), "max "+num(t.MaxLag), "",
		),
	}
}

// summary is the report in one line.
func summary(r Report) string {
	t := r.Totals()
	return fmt.Sprintf("%s (%d reachable, %d healthy, %d ready), %d feeding, %s on %s, %s",
		count(int64(t.Heralds), "herald"), t.Reachable, t.Healthy, t.Ready, t.Feeders,
		count(t.VirtualLeases, "virtual lease"), count(t.Carriers, "carrier"), count(t.Watchers, "watcher"))
}

// count is "1 carrier", "2 carriers".
func count(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return num(n) + " " + what + "s"
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

func orUnknown(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

// bytesIEC writes n bytes as 512 B, 3.2 KiB, 64.0 MiB.
func bytesIEC(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), 0
	for v >= 1024 && unit < 4 {
		v /= 1024
		unit++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[unit-1])
}

// ago writes seconds as "3.2s ago", or "never" for 0 (the cache has not
// moved yet).
func ago(seconds float64) string {
	if seconds <= 0 {
		return "never"
	}
	if seconds > 100*365*24*3600 {
		return "long ago"
	}
	return time.Duration(seconds*float64(time.Second)).Round(100*time.Millisecond).String() + " ago"
}

// printable replaces what would move a terminal's cursor or change its
// state (control characters, escape sequences) in a peer's strings.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return '?'
		}
		return r
	}, s)
}

// problems is what is wrong with rs, one line each: unreachable heralds,
// unhealthy upstreams, what is not ready.
func problems(rs []row) []string {
	var out []string
	for _, rw := range rs {
		if rw.Unreachable != "" {
			out = append(out, rw.Name+": unreachable: "+rw.Unreachable)
		}
		for _, p := range rw.Problems {
			out = append(out, rw.Name+": "+p)
		}
	}
	return out
}
