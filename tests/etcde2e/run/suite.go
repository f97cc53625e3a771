package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

// packages are the suite's packages the runner knows, in run order.
var packages = []string{"common", "e2e"}

// testID names a test as pkg.TestName, as the list files do.
type testID struct{ pkg, name string }

func (id testID) String() string { return id.pkg + "." + id.name }

// listTests lists the top-level tests of every package.
func (w *workspace) listTests(env []string) ([]testID, error) {
	var out []testID
	for _, pkg := range packages {
		cmd := exec.Command(w.testBinary(pkg), "-test.list", ".*", "-bin-dir", w.proxyBin)
		cmd.Dir, cmd.Env = filepath.Join(w.src, pkg), env
		b, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s -test.list: %w", pkg, err)
		}
		for _, l := range strings.Fields(string(b)) {
			if strings.HasPrefix(l, "Test") {
				out = append(out, testID{pkg, l})
			}
		}
	}
	return out, nil
}

// status is a test's outcome in one mode.
type status string

const (
	pass status = "PASS"
	fail status = "FAIL"
	skip status = "SKIP"
	// notRun: with -lazy-baseline, grpc-proxy runs only where herald fails.
	notRun status = "-"
)

// result is one run of one test.
type result struct {
	status   status
	took     time.Duration
	failed   []string // first-level subtests that failed (common: cluster configs)
	firstErr string
	log      string
}

// cell is the result as a table shows it.
func (r result) cell() string {
	if r.status == notRun {
		return "-"
	}
	s := string(r.status)
	if subs := strings.Join(r.failed, ","); len(subs) > 0 && len(subs) <= 30 {
		s += " (" + subs + ")"
	} else if len(subs) > 0 {
		s += fmt.Sprintf(" (%d subtests)", len(r.failed))
	}
	return fmt.Sprintf("%s %ds", s, int(r.took.Seconds()))
}

// runTest runs one test in its own process, with bin as the framework's
// -bin-dir, and sweeps the processes it leaves behind.
func (w *workspace) runTest(id testID, mode, bin string, timeout time.Duration, env []string) result {
	logPath := filepath.Join(w.logs, mode, id.String()+".log")
	_ = os.MkdirAll(filepath.Dir(logPath), 0o755)
	wrapLog := filepath.Join(bin, "etcdwrap.log")
	stale, _ := filepath.Glob(filepath.Join(bin, "herald-*.log"))
	for _, f := range append(stale, wrapLog) {
		_ = os.Remove(f)
	}

	unlock, err := harness.LockFile(w.portsLock)
	if err != nil {
		return result{status: fail, firstErr: fmt.Sprintf("ports lock %s: %v", w.portsLock, err), log: logPath}
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.testBinary(id.pkg), "-test.run", "^"+id.name+"$", "-test.v",
		"-test.timeout", timeout.String(), "-bin-dir", bin)
	cmd.Dir, cmd.Env = filepath.Join(w.src, id.pkg), env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	sweep(w.dir)

	appendLogs(&out, wrapLog)
	heraldLogs, _ := filepath.Glob(filepath.Join(bin, "herald-*.log"))
	appendLogs(&out, heraldLogs...)
	_ = os.WriteFile(logPath, out.Bytes(), 0o644)
	r := result{took: took, log: logPath}
	text := out.String()
	switch {
	case err != nil:
		r.status = fail
		r.failed = failedSubtests(text, id.name)
		r.firstErr = firstError(text)
		if r.firstErr == "" {
			r.firstErr = err.Error()
		}
	case strings.Contains(text, "--- SKIP: "+id.name+" "):
		r.status = skip
	case !strings.Contains(text, "--- PASS: "+id.name+" "):
		// exit 0 without a PASS line: -test.run matched nothing.
		r.status = skip
	default:
		r.status = pass
	}
	return r
}

// failedSubtests lists the first-level subtests of name that failed.
func failedSubtests(out, name string) []string {
	re := regexp.MustCompile(`--- FAIL: ` + regexp.QuoteMeta(name) + `/([^/ ]+) `)
	var subs []string
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			subs = append(subs, m[1])
		}
	}
	return subs
}

var (
	testifyError = regexp.MustCompile(`^\s+Error:\s+(.*)$`)
	testifyCont  = regexp.MustCompile(`^\s+\t?\s*(\S.*)$`)
	testifyField = regexp.MustCompile(`^ *\t(Error Trace|Error|Test|Messages):\s*\t`)
	testLine     = regexp.MustCompile(`^\s+(\w+\.go:\d+: .*)$`)
	failWords    = regexp.MustCompile(`(?i)fail|error|unexpected|timed? ?out|expected|mismatch|not equal|deadline|panic`)
)

// firstError is the first line of a failure in a test's output: testify's
// "Error:" with the line of its message that says most (an "Error: …" line
// of a failed etcdctl, or else the first), or a t.Fatal/t.Error line, or a
// panic.
func firstError(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if m := testifyError.FindStringSubmatch(l); m != nil {
			return trim(testifyMessage(strings.TrimSpace(m[1]), lines[i+1:]))
		}
		if strings.HasPrefix(l, "panic: ") {
			return trim(l)
		}
		if m := testLine.FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[1], "logger.go") && failWords.MatchString(m[1]) {
			return trim(m[1])
		}
	}
	return ""
}

// testifyMessage picks from a testify "Error:" (its header and
// continuation lines) the error a failed command printed (etcdctl's "Error: …", a gRPC
// status's desc), or else the first line.
func testifyMessage(header string, lines []string) string {
	block := []string{header}
	for _, l := range lines {
		c := testifyCont.FindStringSubmatch(l)
		if testifyField.MatchString(l) || c == nil {
			break
		}
		block = append(block, strings.TrimSpace(c[1]))
	}
	text := strings.Join(block, "\n")
	cmd := ""
	if m := failedCommand.FindStringSubmatch(text); m != nil {
		cmd = "[" + commandWords(m[1], m[2]) + "] "
	}
	for _, re := range []*regexp.Regexp{etcdctlError, grpcDesc} {
		if m := re.FindStringSubmatch(text); m != nil {
			return cmd + m[1]
		}
	}
	return strings.Join(block[:min(2, len(block))], " ")
}

var (
	failedCommand = regexp.MustCompile(`after running \[\S*/(\S+)([^\]]*)\]`)
	etcdctlError  = regexp.MustCompile(`(?m)^(Error: .+)$`)
	grpcDesc      = regexp.MustCompile(`desc = ([^"\\\n]+)`)
)

// commandWords is a failed command without its flags: "etcdctl member
// remove ca6f".
func commandWords(name, args string) string {
	words := []string{name}
	fields := strings.Fields(args)
	for i := 0; i < len(fields); i++ {
		switch f := fields[i]; {
		case f == "-w":
			i++
		case !strings.HasPrefix(f, "-"):
			words = append(words, f)
		}
	}
	return strings.Join(words, " ")
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// sweep kills, by PID, the processes left running from the work dir's
// binaries: a test that times out leaves its etcds and proxies behind, and
// they would hold the framework's fixed ports for the next test.
func sweep(workDir string) {
	for range 3 {
		pids := leftovers(workDir)
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func leftovers(workDir string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(d.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, workDir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// readList reads a list file: one pkg.TestName per line, # starts a
// comment.
func readList(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, why, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out[line] = strings.TrimSpace(why)
		}
	}
	return out, sc.Err()
}

// appendLogs adds the wrapper's logs to a test's output, and removes them
// for the next test.
func appendLogs(out *bytes.Buffer, files ...string) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fmt.Fprintf(out, "\n=== %s\n", filepath.Base(f))
		out.Write(b)
		_ = os.Remove(f)
	}
}
