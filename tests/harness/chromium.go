package harness

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Chromium is Debian's headless browser (package chromium), for tests of
// herald's web pages: it loads a page as a browser does, parses it and
// lays it out.
type Chromium struct {
	t    testing.TB
	path string
	dir  string // its profile, the test's own
}

// chromiumPatience bounds one page load; a browser that hangs fails the
// test instead of hanging it.
const chromiumPatience = 2 * time.Minute

// FindChromium finds chromium as Tool does: a test without it is skipped,
// or fails under HERALD_CI=1.
func FindChromium(t testing.TB) *Chromium {
	t.Helper()
	return &Chromium{t: t, path: Tool(t, "chromium", "chromium"), dir: t.TempDir()}
}

// DumpDOM loads url and returns the document as the browser parsed it,
// once loaded.
func (c *Chromium) DumpDOM(url string) string {
	c.t.Helper()
	return c.run("--dump-dom", url)
}

// Screenshot loads url in a window of width×height pixels and saves a
// PNG of it to path.
func (c *Chromium) Screenshot(url, path string, width, height int) {
	c.t.Helper()
	c.run("--screenshot="+path, fmt.Sprintf("--window-size=%d,%d", width, height), "--hide-scrollbars", url)
}

// run runs chromium headless with args and returns its standard output.
// It runs as root too (--no-sandbox: the sandbox refuses root), without a
// GPU, and with a profile of its own, so that tests can run it side by side.
func (c *Chromium) run(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chromiumPatience)
	defer cancel()
	base := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + c.dir}
	cmd := exec.CommandContext(ctx, c.path, append(base, args...)...)
	cmd.SysProcAttr = childSysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("harness: chromium %s: %v\n%s", strings.Join(args, " "), err, lastLines(stderr.String(), 20))
	}
	return stdout.String()
}

// lastLines is the end of s, n lines at most.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
