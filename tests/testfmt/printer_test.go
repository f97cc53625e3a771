package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPrinter feeds the events of a small run (one package passing with a
// slow and a fast test, one failing in a subtest, one failing in TestMain
// while a test runs, one that does not build) and checks each line the
// printer owes.
func TestPrinter(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	ev := func(sec int, action, pkg, test string, elapsed float64, output string) string {
		return fmt.Sprintf(`{"Time":%q,"Action":%q,"Package":%q,"Test":%q,"Elapsed":%g,"Output":%q}`,
			t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano), action, pkg, test, elapsed, output)
	}
	const a, b, c = "github.com/heraldproj/herald/a", "github.com/heraldproj/herald/b", "github.com/heraldproj/herald/c"
	lines := []string{
		ev(0, "start", a, "", 0, ""),
		ev(0, "run", a, "TestSlow", 0, ""),
		ev(0, "output", a, "TestSlow", 0, "=== RUN   TestSlow\n"),
		ev(7, "pass", a, "TestSlow", 7, ""),
		ev(7, "run", a, "TestFast", 0, ""),
		ev(7, "pass", a, "TestFast", 0.1, ""),
		ev(7, "pass", a, "", 7.2, ""),
		ev(0, "run", b, "TestBroken", 0, ""),
		ev(0, "run", b, "TestBroken/case", 0, ""),
		ev(1, "output", b, "TestBroken/case", 0, "    x_test.go:9: want 1, got 2\n"),
		ev(1, "fail", b, "TestBroken/case", 1, ""),
		ev(1, "fail", b, "TestBroken", 1, ""),
		ev(2, "run", b, "TestHangs", 0, ""),
		ev(2, "run", b, "TestQuiet", 0, ""),
		ev(2, "output", b, "TestQuiet", 0, "    logged by TestQuiet\n"),
		ev(2, "pass", b, "TestQuiet", 0, ""),
		ev(2, "run", b, "TestParallel", 0, ""),
		ev(2, "pause", b, "TestParallel", 0, ""),
		ev(9, "output", b, "", 0, "panic: test timed out after 9s\n"),
		ev(9, "fail", b, "", 9, ""),
		`{"ImportPath":"github.com/heraldproj/herald/c","Action":"build-output","Output":"c/c.go:3:1: syntax error\n"}`,
		`{"ImportPath":"github.com/heraldproj/herald/c","Action":"build-fail"}`,
		ev(0, "fail", c, "", 0, "FAIL\tgithub.com/heraldproj/herald/c [build failed]\n"),
		"not json at all",
	}
	var out strings.Builder
	p := newPrinter(&out, 5*time.Second, t0)
	for i, l := range lines {
		p.line([]byte(l))
		if i == 17 { // TestHangs started at 2 s, TestParallel waits
			p.running(t0.Add(5 * time.Second))
		}
	}
	p.summary(t0.Add(10 * time.Second))
	got := out.String()
	for _, want := range []string{
		"    pass a TestSlow (7s)\n",
		"ok   a 7.2s\n",
		"--- FAIL b TestBroken (1s)\n",
		"    x_test.go:9: want 1, got 2\n",
		"... 5s: 4 tests done, 1 running, longest b TestHangs (3s)\n",
		"FAIL b 9s\n",
		"    panic: test timed out after 9s\n",
		"    (TestHangs was running)\n",
		"c/c.go:3:1: syntax error\n",
		"FAIL c 0s\n",
		"not json at all\n",
		"slowest:\n        7s  a TestSlow\n",
		"3 packages (2 failed), 3 tests passed, 1 failed, 0 skipped, in 10s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// b failed with a failed test: the others' output stays untold; d
	// failed without one: every test's output is told.
	if strings.Contains(got, "logged by TestQuiet") {
		t.Errorf("a passing test's output was printed for a package with a failed test:\n%s", got)
	}
	var d strings.Builder
	pd := newPrinter(&d, 5*time.Second, t0)
	for _, l := range []string{
		ev(0, "run", a, "TestLost", 0, ""),
		ev(1, "output", a, "TestLost", 0, "    x_test.go:3: boom\n"),
		ev(1, "pass", a, "TestLost", 1, ""),
		ev(2, "output", a, "", 0, "FAIL\n"),
		ev(2, "fail", a, "", 2, ""),
	} {
		pd.line([]byte(l))
	}
	if !strings.Contains(d.String(), "(output of TestLost)\n        x_test.go:3: boom\n") {
		t.Errorf("a package that failed without a failed test hides its tests' output:\n%s", d.String())
	}
	if strings.Contains(got, "pass a TestFast") {
		t.Errorf("a fast passing test was printed:\n%s", got)
	}
	if !p.failed() {
		t.Error("failed() = false after failures")
	}
}
