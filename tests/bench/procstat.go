package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// defaultClockTicks is USER_HZ on every Linux architecture Go supports; it is
// used when `getconf CLK_TCK` cannot be run.
const defaultClockTicks = 100

var (
	clockTicksOnce sync.Once
	clockTicks     float64
)

// clkTck is sysconf(_SC_CLK_TCK), the unit of utime and stime in
// /proc/<pid>/stat.
func clkTck() float64 {
	clockTicksOnce.Do(func() {
		clockTicks = defaultClockTicks
		out, err := exec.Command("getconf", "CLK_TCK").Output()
		if err != nil {
			return
		}
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			clockTicks = float64(v)
		}
	})
	return clockTicks
}

// cpuTime is the CPU time (user + system, all threads) that process pid has
// used so far. pid 0 means the benchmark process itself.
func cpuTime(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	ticks, err := parseStatTicks(string(data))
	if err != nil {
		return 0, fmt.Errorf("bench: %s: %w", path, err)
	}
	return time.Duration(float64(ticks) / clkTck() * float64(time.Second)), nil
}

// parseStatTicks returns utime+stime from the text of /proc/<pid>/stat. The
// command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatTicks(stat string) (uint64, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("no ')' in stat line")
	}
	// After ')' come fields 3 (state), 4, …; utime is field 14, stime 15.
	fields := strings.Fields(stat[end+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("stat line has %d fields after the command name", len(fields))
	}
	u, err := strconv.ParseUint(fields[utime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	s, err := strconv.ParseUint(fields[stime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return u + s, nil
}

// cpuMeter measures the CPU cores a set of processes use over a window.
type cpuMeter struct {
	pids  []int
	start []time.Duration
	at    time.Time
}

// startCPU records the CPU time of each pid (0: this process) now.
func startCPU(pids ...int) (*cpuMeter, error) {
	m := &cpuMeter{pids: pids, start: make([]time.Duration, len(pids)), at: time.Now()}
	for i, pid := range pids {
		t, err := cpuTime(pid)
		if err != nil {
			return nil, err
		}
		m.start[i] = t
	}
	return m, nil
}

// cores returns, for each pid given to startCPU, the CPU time used since then
// divided by the wall time: the average number of cores it kept busy.
func (m *cpuMeter) cores() ([]float64, error) {
	wall := time.Since(m.at).Seconds()
	out := make([]float64, len(m.pids))
	for i, pid := range m.pids {
		t, err := cpuTime(pid)
		if err != nil {
			return nil, err
		}
		out[i] = (t - m.start[i]).Seconds() / wall
	}
	return out, nil
}

// rssBytes is the resident set size of process pid (0: this process), from
// VmRSS in /proc/<pid>/status.
func rssBytes(pid int) (int64, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	v, err := parseVmRSS(string(data))
	if err != nil {
		return 0, fmt.Errorf("bench: %s: %w", path, err)
	}
	return v, nil
}

// parseVmRSS returns the VmRSS line of a /proc/<pid>/status text, in bytes.
func parseVmRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS line")
}

// reniceSelf sets the nice value of every thread of this process. On Linux
// a nice value belongs to a thread (setpriority with a process ID sets only
// the thread of that ID); threads started later inherit their creator's.
// A negative value needs CAP_SYS_NICE (root).
func reniceSelf(nice int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("setpriority of thread %d to %d: %w", tid, nice, err)
		}
	}
	return nil
}
