package status

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// heraldRows maps each herald's table row on the page to its HTML.
func heraldRows(t *testing.T, page string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<tr class="herald" data-herald="([^"]*)">(.*?)</tr>`).FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestHTML: the page has a row per herald with its figures, the feeder
// marked, an unreachable herald as one cell with its error, the totals,
// what is wrong, and reloads itself.
func TestHTML(t *testing.T) {
	var out bytes.Buffer
	if err := HTML(&out, sampleFleet()); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	rows := heraldRows(t, page)
	if len(rows) != 3 {
		t.Fatalf("%d herald rows, want 3:\n%s", len(rows), page)
	}
	for name, want := range map[string][]string{
		"h0": {`<td class="feeder">feeder</td>`, `<td class="ok">healthy</td>`, `<td class="ok">yes</td>`,
			"<td>1200</td><td>2</td><td>[3..812]</td><td>809</td><td>3.0 MiB</td><td>17</td><td>3</td><td>1.3s ago</td>"},
		"h1": {"<td>-</td>", `<td class="bad">unhealthy</td>`, `<td class="bad">no</td>`, "<td>-</td><td>-</td><td>[3..812]</td>"},
		"h2": {`<td class="unreachable" colspan="11">unreachable: Get &#34;http://h2.rack:2379/status.json?scope=local&#34;: context deadline exceeded</td>`},
	} {
		for _, w := range want {
			if !strings.Contains(rows[name], w) {
				t.Errorf("row of %s lacks %s:\n%s", name, w, rows[name])
			}
		}
	}
	if n := strings.Count(page, `class="feeder"`); n != 1 {
		t.Errorf("%d feeders marked, want 1", n)
	}
	for _, w := range []string{
		`<meta http-equiv="refresh" content="5">`,
		`<tr class="totals"><td>TOTAL</td><td>1</td><td>1/3</td><td>1/3</td><td>1200</td><td>2</td>`,
		"<li>h1: upstream: etcdserver: no leader</li>",
		"<li>h1: fan-out cache is not loaded</li>",
		"3 heralds (2 reachable, 1 healthy, 1 ready), 1 feeding",
		"As seen by h0 at 2025-01-02 15:04:05Z",
	} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %s", w)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "<link") || strings.Contains(page, "src=") {
		t.Errorf("page loads something: it must stand alone")
	}
}

// TestHTMLEscapesPeers: what a peer sent is text on the page, never markup.
func TestHTMLEscapesPeers(t *testing.T) {
	r := sampleFleet()
	r.Heralds[2].Name = `<script>alert(1)</script>`
	r.Heralds[2].Error = `<img src=x onerror=alert(2)>`
	var out bytes.Buffer
	if err := HTML(&out, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "<script>") || strings.Contains(out.String(), "<img") {
		t.Fatalf("a peer's strings became markup:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("the peer's name is not shown escaped:\n%s", out.String())
	}
}
