package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// report collects the results and judges them: a test that passes through
// grpc-proxy and fails through herald is a regression unless it is known.
type report struct {
	modes   []string
	known   map[string]string
	ids     []testID
	results map[testID]map[string]result
}

func newReport(modes []string, known map[string]string) *report {
	return &report{modes: modes, known: known, results: map[testID]map[string]result{}}
}

func (r *report) add(id testID, res map[string]result) {
	r.ids = append(r.ids, id)
	r.results[id] = res
}

// verdict is what the row means for the run.
func (r *report) verdict(id testID) string {
	res := r.results[id]
	p, okP := res["grpc-proxy"]
	h, okH := res["herald"]
	switch {
	case !okP || !okH:
		return ""
	case p.status == pass && h.status == fail:
		if _, ok := r.known[id.String()]; ok {
			return "known"
		}
		return "REGRESSION"
	case p.status == fail && h.status == pass:
		return "herald-only pass"
	case p.status == fail && h.status == fail:
		return "fails in both"
	}
	return ""
}

// row is one line of progress: the test, a cell per mode, the verdict and
// herald's first error line.
func (r *report) row(id testID) string {
	cells := []string{id.String()}
	for _, m := range r.modes {
		cells = append(cells, m+": "+r.results[id][m].cell())
	}
	if v := r.verdict(id); v != "" {
		cells = append(cells, v)
	}
	for _, m := range r.modes {
		if res := r.results[id][m]; res.status == fail {
			cells = append(cells, fmt.Sprintf("\n      %s: %s\n      log: %s", m, res.firstErr, res.log))
		}
	}
	return strings.Join(cells, "  ")
}

// print writes the table and the failures to w and to file, and returns the
// exit code: 1 if any regression.
func (r *report) print(w io.Writer, file string) int {
	f, err := os.Create(file)
	if err == nil {
		defer f.Close()
		w = io.MultiWriter(w, f)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "test\t%s\tverdict\n", strings.Join(r.modes, "\t"))
	counts := map[string]map[status]int{}
	regressions := 0
	for _, id := range r.ids {
		line := id.String()
		for _, m := range r.modes {
			res := r.results[id][m]
			line += "\t" + res.cell()
			if counts[m] == nil {
				counts[m] = map[status]int{}
			}
			counts[m][res.status]++
		}
		v := r.verdict(id)
		if v == "REGRESSION" {
			regressions++
		}
		fmt.Fprintf(tw, "%s\t%s\n", line, v)
	}
	tw.Flush()
	for _, m := range r.modes {
		fmt.Fprintf(w, "%s: %d pass, %d fail, %d skip\n", m, counts[m][pass], counts[m][fail], counts[m][skip])
	}
	fmt.Fprintln(w, "\nfailures through herald (first error line):")
	for _, id := range r.ids {
		if h, ok := r.results[id]["herald"]; ok && h.status == fail {
			fmt.Fprintf(w, "  %s [%s]\n    %s\n    %s\n", id, r.verdict(id), h.firstErr, h.log)
		}
	}
	fmt.Fprintf(w, "\n%d regressions (pass through grpc-proxy, fail through herald, not in known-failures)\n", regressions)
	if regressions > 0 {
		return 1
	}
	return 0
}
