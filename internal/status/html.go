package status

import (
	_ "embed"
	"html/template"
	"io"
)

//go:embed status.html
var pageSource string

// page is the status page's template: server-rendered, with its CSS inline
// and no other asset, so that it shows wherever its port is reachable.
// html/template escapes what peers sent.
var page = template.Must(template.New("status").Parse(pageSource))

// RefreshSeconds is how often the page reloads itself.
const RefreshSeconds = 5

// pageData is what the template reads.
type pageData struct {
	From, Time, Summary string
	Refresh             int
	Columns             []string
	Rest                int // columns after HERALD, for an unreachable row's one cell
	Rows                []row
	Totals              row
	Problems            []string
}

// HTML writes r as the status page: a table of the heralds (a feeder's
// FEEDER cell has class "feeder"; an unreachable herald is one row with
// the error), a TOTAL row, and what is wrong below it.
func HTML(w io.Writer, r Report) error {
	d := pageData{
		From:    r.From,
		Time:    r.Time.UTC().Format("2006-01-02 15:04:05Z"),
		Summary: summary(r),
		Refresh: RefreshSeconds,
		Columns: columns,
		Rest:    len(columns) - 1,
		Rows:    rows(r),
		Totals:  totalsRow(r),
	}
	d.Problems = problems(d.Rows)
	return page.Execute(w, d)
}
