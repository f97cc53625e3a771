package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// printRunInfo writes what a reader needs to judge a table: when, on what,
// at which commit, how busy the machine was, and the command to run it again.
func printRunInfo(w io.Writer, benchmark, repoRoot string) {
	fmt.Fprintf(w, "\n### %s\n\n", benchmark)
	fmt.Fprintf(w, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- machine: %s, %d cores (GOMAXPROCS %d)\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "- load average at start: %s\n", loadAverage())
	fmt.Fprintf(w, "- commit: %s\n", treeAtBuild(repoRoot))
	fmt.Fprintf(w, "- etcd: %s\n", etcdVersion(repoRoot))
	fmt.Fprintf(w, "- command: `%s`\n\n", reproduceCommand(benchmark))
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

var (
	treeOnce sync.Once
	tree     string
)

// treeAtBuild describes the source tree as it was the first time it is
// called — right after harness.Binaries built herald, which it does once per
// test process — so that every table of a run names the tree its herald was
// built from, even when commits land while the run goes on.
func treeAtBuild(repoRoot string) string {
	treeOnce.Do(func() { tree = describeTree(repoRoot) })
	return tree
}

// describeTree is `git rev-parse --short HEAD`, plus the top-level folders
// that hold uncommitted changes.
func describeTree(repoRoot string) string {
	out, err := gitOutput(repoRoot, "rev-parse", "--short", "HEAD")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	c := strings.TrimSpace(out)
	st, err := gitOutput(repoRoot, "status", "--porcelain")
	if err != nil || strings.TrimSpace(st) == "" {
		return c
	}
	var dirs []string
	// Porcelain lines start with a two-letter status and a space (" M x"):
	// trim only the line ends, not that leading space.
	for _, line := range strings.Split(strings.TrimRight(st, "\n"), "\n") {
		if len(line) < 4 {
			continue
		}
		path := strings.TrimSpace(line[3:])
		if dir, _, ok := strings.Cut(path, "/"); ok {
			path = dir + "/"
		}
		if !slices.Contains(dirs, path) {
			dirs = append(dirs, path)
		}
	}
	return fmt.Sprintf("%s plus uncommitted changes (in %s)", c, strings.Join(dirs, ", "))
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}

// etcdVersion is what the harness recorded when it built bin/etcd.
func etcdVersion(repoRoot string) string {
	data, err := os.ReadFile(repoRoot + "/bin/.etcd-version")
	if err != nil {
		return "unknown"
	}
	var mods []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			mods = append(mods, line)
		}
	}
	return strings.Join(mods, "; ")
}
