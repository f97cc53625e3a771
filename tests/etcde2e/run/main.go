package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

func main() {
	var (
		work    = flag.String("work", filepath.Join(os.TempDir(), "herald-etcd-e2e"), "work dir (module copy, binaries, logs); reused")
		bins    = flag.String("bins", "bin", "dir with herald, etcd and etcdctl (make build etcd-bins)")
		run     = flag.String("run", "", "regexp: only tests whose pkg.TestName matches")
		listF   = flag.String("list", "", "file of pkg.TestName lines: only these tests")
		known   = flag.String("known-failures", "tests/etcde2e/known-failures.txt", "tests that fail through herald by design")
		timeout = flag.Duration("timeout", 5*time.Minute, "per test and mode")
		modes   = flag.String("modes", "grpc-proxy,herald", "which proxies to run through, in order")
		lazy    = flag.Bool("lazy-baseline", false, "run through herald first and through grpc-proxy only if herald fails (about half the time)")
		ports   = flag.String("ports-lock", filepath.Join(os.TempDir(), "herald-etcd-e2e.ports.lock"), "file locked around each test: etcd's e2e framework listens on fixed ports (20000 on), so two runs on one machine take turns test by test")
		minimal = flag.Bool("minimal", false, "E2E_TEST_MINIMAL: common's tests on two cluster configs (1 member; 3 members with TLS) instead of three")
	)
	firstErr := flag.Bool("first-error", false, "print the first error line of each test log named as an argument, and exit")
	flag.Parse()
	if *firstErr {
		for _, f := range flag.Args() {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			fmt.Printf("%s: %s\n", f, firstError(string(b)))
		}
		return
	}
	if *lazy {
		*modes = "herald,grpc-proxy"
	}
	code, err := mainErr(*work, *bins, *ports, *run, *listF, *known, *modes, *timeout, *minimal, *lazy)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcde2e:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func mainErr(work, bins, portsLock, run, listFile, knownFile, modeList string, timeout time.Duration, minimal, lazy bool) (int, error) {
	version, err := pinnedVersion()
	if err != nil {
		return 0, err
	}
	bins, err = filepath.Abs(bins)
	if err != nil {
		return 0, err
	}
	w := newWorkspace(work, version)
	w.portsLock = portsLock
	if err := w.prepareModule(); err != nil {
		return 0, err
	}
	if err := w.prepareBins(bins); err != nil {
		return 0, err
	}
	known, err := readList(knownFile)
	if err != nil {
		return 0, err
	}
	env := append(os.Environ(), fmt.Sprintf("E2E_TEST_MINIMAL=%t", minimal))
	all, err := w.listTests(env)
	if err != nil {
		return 0, err
	}
	tests, err := selectTests(all, run, listFile)
	if err != nil {
		return 0, err
	}
	binOf := map[string]string{"grpc-proxy": w.proxyBin, "herald": w.heraldBin}
	ms := strings.Split(modeList, ",")
	for _, m := range ms {
		if binOf[m] == "" {
			return 0, fmt.Errorf("unknown mode %q (grpc-proxy, herald)", m)
		}
	}
	logf("%d tests, modes %v, %s each; logs in %s", len(tests), ms, timeout, w.logs)
	rep := newReport(ms, known)
	start := time.Now()
	for i, id := range tests {
		results := map[string]result{}
		for _, m := range ms {
			if lazy && m == "grpc-proxy" && results["herald"].status != fail {
				results[m] = result{status: notRun}
				continue
			}
			results[m] = w.runTest(id, m, binOf[m], timeout, env)
		}
		rep.add(id, results)
		fmt.Printf("[%d/%d] %s\n", i+1, len(tests), rep.row(id))
	}
	fmt.Printf("\n%d tests in %s\n", len(tests), time.Since(start).Round(time.Second))
	return rep.print(os.Stdout, filepath.Join(w.dir, "report.txt")), nil
}

// selectTests keeps the tests matching run and listed in listFile (either
// may be empty), in the suite's order.
func selectTests(all []testID, run, listFile string) ([]testID, error) {
	re, err := regexp.Compile(run)
	if err != nil {
		return nil, fmt.Errorf("-run: %w", err)
	}
	var listed map[string]string
	if listFile != "" {
		if listed, err = readList(listFile); err != nil {
			return nil, err
		}
		for name := range listed {
			if !contains(all, name) {
				logf("warning: %s in %s is not a test of the suite", name, listFile)
			}
		}
	}
	var out []testID
	for _, id := range all {
		if _, ok := listed[id.String()]; (listed == nil || ok) && re.MatchString(id.String()) {
			out = append(out, id)
		}
	}
	return out, nil
}

func contains(all []testID, name string) bool {
	for _, id := range all {
		if id.String() == name {
			return true
		}
	}
	return false
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "etcde2e: "+format+"\n", a...)
}
