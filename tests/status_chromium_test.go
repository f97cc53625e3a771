package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldproj/herald/internal/status"
	"github.com/heraldproj/herald/tests/harness"
)

// TestStatusPageInChromium: the status page, loaded in a browser from a
// herald of a running fleet, shows every herald by name and marks the
// feeders. With HERALD_STATUS_SCREENSHOT=path, it also saves a screenshot
// of the page there (relative to the repository's root: docs/status.png is
// one).
func TestStatusPageInChromium(t *testing.T) {
	skipIfShort(t)
	t.Parallel()
	chromium := harness.FindChromium(t)
	fleet, rep := startStatusFleet(t)
	url := fleet[1].MetricsURL() + "/status"

	// A peer slower than the page's second to answer shows as unreachable:
	// on a busy machine, load the page again.
	var dom string
	if err := harness.Await(fleetPatience, func() error {
		dom = chromium.DumpDOM(url)
		return pageShows(dom, rep)
	}); err != nil {
		t.Fatalf("%v\n%s", err, dom)
	}

	if path := os.Getenv("HERALD_STATUS_SCREENSHOT"); path != "" {
		if !filepath.IsAbs(path) {
			path = filepath.Join(harness.RepoRoot(t), path)
		}
		chromium.Screenshot(url, path, 1200, 500)
	}
}

// pageShows checks the status page's DOM: a row for every herald of rep,
// reachable, and as many feeders marked as its TOTAL row counts (two
// heralds asked at two moments may see the role move).
func pageShows(dom string, rep status.Report) error {
	for _, h := range rep.Heralds {
		row := regexp.MustCompile(`(?s)<tr class="herald" data-herald="` + regexp.QuoteMeta(h.Name) + `">(.*?)</tr>`).FindStringSubmatch(dom)
		switch {
		case row == nil:
			return fmt.Errorf("the page shows no row of %s", h.Name)
		case !strings.Contains(row[1], `<td class="name">`+h.Name) || strings.Contains(row[1], "unreachable"):
			return fmt.Errorf("%s's row does not show it reachable: %s", h.Name, row[1])
		}
	}
	total := regexp.MustCompile(`<tr class="totals"><td>TOTAL</td><td>(\d+)</td>`).FindStringSubmatch(dom)
	if n := strings.Count(dom, `<td class="feeder">feeder</td>`); total == nil || n < 1 || fmt.Sprint(n) != total[1] {
		return fmt.Errorf("the page marks %d feeders; its TOTAL row %v", n, total)
	}
	return nil
}
