package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Elapsed    float64 // seconds
	Output     string
}

type testKey struct{ pkg, test string }

// printer turns events into progress lines. It is not safe for concurrent
// use.
type printer struct {
	w     io.Writer
	slow  time.Duration
	start time.Time

	started  map[testKey]time.Time // top-level tests running
	output   map[testKey][]string  // kept until the test (or package, test "") ends
	timings  []timing
	pkgs     map[string]string // package → its result
	failedIn map[string]int    // package → its failed top-level tests
	counts   map[string]int    // pass, fail, skip of top-level tests
	broken   bool              // a build failed
}

type timing struct {
	testKey
	d time.Duration
}

func newPrinter(w io.Writer, slow time.Duration, start time.Time) *printer {
	return &printer{
		w: w, slow: slow, start: start,
		started: map[testKey]time.Time{}, output: map[testKey][]string{},
		pkgs: map[string]string{}, failedIn: map[string]int{}, counts: map[string]int{},
	}
}

// topLevel is the top-level test a (sub)test belongs to.
func topLevel(test string) string {
	top, _, _ := strings.Cut(test, "/")
	return top
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func short(pkg string) string {
	if i := strings.Index(pkg, "/herald/"); i >= 0 {
		return pkg[i+len("/herald/"):]
	}
	return pkg
}

// line takes one line of the command's output.
func (p *printer) line(b []byte) {
	var e event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil {
		// Not an event (go vet's or the linker's complaints): as it is.
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	switch e.Action {
	case "build-output":
		fmt.Fprint(p.w, e.Output)
	case "build-fail":
		p.broken = true
	case "start":
	case "run", "cont":
		// A parallel test runs, then pauses until the sequential ones are
		// done, then continues: it is running from its last run or cont.
		if e.Test != "" && !strings.Contains(e.Test, "/") {
			p.started[testKey{e.Package, e.Test}] = e.Time
		}
	case "pause":
		delete(p.started, testKey{e.Package, e.Test})
	case "output":
		k := testKey{e.Package, topLevel(e.Test)}
		p.output[k] = append(p.output[k], e.Output)
	case "pass", "fail", "skip":
		if e.Test == "" {
			p.packageDone(e)
		} else if !strings.Contains(e.Test, "/") {
			p.testDone(e)
		}
	}
}

func (p *printer) testDone(e event) {
	k := testKey{e.Package, e.Test}
	d := seconds(e.Elapsed)
	delete(p.started, k)
	p.counts[e.Action]++
	p.timings = append(p.timings, timing{k, d})
	switch {
	case e.Action == "fail":
		fmt.Fprintf(p.w, "--- FAIL %s %s (%s)\n", short(e.Package), e.Test, d.Round(10*time.Millisecond))
		for _, o := range p.output[k] {
			fmt.Fprint(p.w, "    ", o)
		}
		delete(p.output, k)
		p.failedIn[e.Package]++
	case e.Action == "pass" && d >= p.slow:
		fmt.Fprintf(p.w, "    pass %s %s (%s)\n", short(e.Package), e.Test, d.Round(10*time.Millisecond))
	}
	// A passing test's output is kept until its package ends: if the
	// package fails without a failed test (test2json missed a "--- FAIL"
	// line that a server's log interleaved with), it is all there is.
}

func (p *printer) packageDone(e event) {
	k := testKey{e.Package, ""}
	p.pkgs[e.Package] = e.Action
	d := seconds(e.Elapsed).Round(10 * time.Millisecond)
	switch e.Action {
	case "pass":
		fmt.Fprintf(p.w, "ok   %s %s\n", short(e.Package), d)
	case "skip":
		fmt.Fprintf(p.w, "--   %s (no tests)\n", short(e.Package))
	case "fail":
		fmt.Fprintf(p.w, "FAIL %s %s\n", short(e.Package), d)
		// What the package printed outside its tests: a panic, a leak
		// found by TestMain, a timeout.
		for _, o := range p.output[k] {
			fmt.Fprint(p.w, "    ", o)
		}
		if p.failedIn[e.Package] == 0 {
			// No test of it failed as far as the events go: show what
			// every test printed, for the failure go test saw.
			var tests []string
			for t := range p.output {
				if t.pkg == e.Package && t.test != "" {
					tests = append(tests, t.test)
				}
			}
			slices.Sort(tests)
			for _, name := range tests {
				fmt.Fprintf(p.w, "    (output of %s)\n", name)
				for _, o := range p.output[testKey{e.Package, name}] {
					fmt.Fprint(p.w, "    ", o)
				}
			}
		}
		for t := range p.started {
			if t.pkg == e.Package {
				fmt.Fprintf(p.w, "    (%s was running)\n", t.test)
				delete(p.started, t)
			}
		}
	}
	for t := range p.output {
		if t.pkg == e.Package {
			delete(p.output, t)
		}
	}
}

// running says how many tests are done and running, and names the ones
// that have run longest.
func (p *printer) running(now time.Time) {
	type run struct {
		name string
		d    time.Duration
	}
	var runs []run
	for k, at := range p.started {
		runs = append(runs, run{short(k.pkg) + " " + k.test, now.Sub(at)})
	}
	slices.SortFunc(runs, func(a, b run) int {
		if a.d != b.d {
			return int(b.d - a.d)
		}
		return strings.Compare(a.name, b.name)
	})
	line := fmt.Sprintf("... %s: %d tests done, %d running", now.Sub(p.start).Round(time.Second), len(p.timings), len(runs))
	for i, r := range runs[:min(len(runs), longestRunning)] {
		sep := ", "
		if i == 0 {
			sep = ", longest "
		}
		line += fmt.Sprintf("%s%s (%s)", sep, r.name, r.d.Round(time.Second))
	}
	fmt.Fprintln(p.w, line)
}

// longestRunning is how many running tests a progress line names.
const longestRunning = 4

// summary prints the slowest tests and the totals.
func (p *printer) summary(now time.Time) {
	slices.SortFunc(p.timings, func(a, b timing) int { return int(b.d - a.d) })
	if n := min(10, len(p.timings)); n > 0 {
		fmt.Fprintln(p.w, "slowest:")
		for _, t := range p.timings[:n] {
			fmt.Fprintf(p.w, "  %8s  %s %s\n", t.d.Round(10*time.Millisecond), short(t.pkg), t.test)
		}
	}
	failedPkgs := 0
	for _, r := range p.pkgs {
		if r == "fail" {
			failedPkgs++
		}
	}
	fmt.Fprintf(p.w, "%d packages (%d failed), %d tests passed, %d failed, %d skipped, in %s\n",
		len(p.pkgs), failedPkgs, p.counts["pass"], p.counts["fail"], p.counts["skip"], now.Sub(p.start).Round(time.Second))
}

// failed reports whether anything failed: a build, a package or a test.
func (p *printer) failed() bool {
	if p.broken || p.counts["fail"] > 0 {
		return true
	}
	for _, r := range p.pkgs {
		if r == "fail" {
			return true
		}
	}
	return false
}
