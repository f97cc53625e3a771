package status

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table writes r for a terminal, as `herald status` prints it: one line per
// herald and a TOTAL line, a summary, then what is wrong (unreachable
// heralds, unhealthy upstreams, what is not ready), one line each. A
// peer's strings are made printable first, so that they cannot drive the
// terminal.
func Table(w io.Writer, r Report) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	rs := rows(r)
	for _, rw := range append(rs, totalsRow(r)) {
		cells := []string{printable(rw.Name)}
		for _, c := range rw.Cells {
			cells = append(cells, c.Text)
		}
		if rw.Unreachable != "" {
			cells = append(cells, "-", "unreachable")
			for range columns[3:] {
				cells = append(cells, "-")
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		// The TOTAL line ends in empty cells.
		if _, err := io.WriteString(w, strings.TrimRight(line, " ")+"\n"); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nas seen by %s at %s: %s\n", printable(r.From), r.Time.UTC().Format("2006-01-02 15:04:05Z"), summary(r))
	for _, p := range problems(rs) {
		if _, err := fmt.Fprintln(w, printable(p)); err != nil {
			return err
		}
	}
	return nil
}
