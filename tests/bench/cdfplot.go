package bench

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"
)

// cdfSeries is one curve of a CDF plot: sorted samples.
type cdfSeries struct {
	name   string
	sorted []time.Duration
	colour string
	dashed bool
}

// cdfPoints is how many points a curve is drawn with at most.
const cdfPoints = 400

// writeCDFSVG draws the empirical CDFs of series as an SVG: x the delay in
// seconds (from the smallest sample, or 0, to the largest), y the share of
// samples at or below it.
func writeCDFSVG(w io.Writer, title string, series []cdfSeries) error {
	const width, height, left, right, top, bottom = 760.0, 440.0, 60.0, 200.0, 40.0, 50.0
	lo, hi := 0.0, 0.0
	for _, s := range series {
		if len(s.sorted) == 0 {
			continue
		}
		lo = min(lo, s.sorted[0].Seconds())
		hi = max(hi, s.sorted[len(s.sorted)-1].Seconds())
	}
	if hi <= lo {
		hi = lo + 1
	}
	pw, ph := width-left-right, height-top-bottom
	x := func(v float64) float64 { return left + (v-lo)/(hi-lo)*pw }
	y := func(q float64) float64 { return top + (1-q)*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14">%s</text>`+"\n", left, html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		q := float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(q), left+pw, y(q))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%.2f</text>`+"\n", left-6, y(q)+4, q)
	}
	for i := 0; i <= 5; i++ {
		v := lo + (hi-lo)*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x(v), top, x(v), top+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.2f</text>`+"\n", x(v), top+ph+16, v)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">DELETE at watcher − last keepalive − TTL (s)</text>`+"\n", left+pw/2, height-10)
	for i, s := range series {
		ly := top + 10 + float64(i)*18
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6,3"`
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", left+pw+12, ly, left+pw+36, ly, s.colour, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s (%d)</text>`+"\n", left+pw+42, ly+4, html.EscapeString(s.name), len(s.sorted))
		if len(s.sorted) == 0 {
			continue
		}
		var pts []string
		n := len(s.sorted)
		steps := min(n, cdfPoints)
		for k := 0; k <= steps; k++ {
			idx := max(0, min(n-1, k*n/steps-1))
			if k == 0 {
				idx = 0
			}
			q := float64(idx+1) / float64(n)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.sorted[idx].Seconds()), y(q)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", s.colour, dash, strings.Join(pts, " "))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
