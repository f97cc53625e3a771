package harness

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 10 * time.Second

// logTailLines is how much of a server's log a failed test prints.
const logTailLines = 40

// Proc is one process the harness started. It is stopped by PID when the test
// that started it ends; its stdout and stderr go to a log file in the test's
// temporary directory, which is printed (the tail) if the test fails.
type Proc struct {
	t       testing.TB
	name    string
	bin     string
	args    []string
	logPath string
	// stdout and stderr, when set, receive the process's output instead of
	// the log file (etcdctl in the background).
	stdout, stderr io.Writer
	stdin          string
	env            []string // nil: the test's environment
	// output, when set, describes the output for a failed test instead of
	// the log file's tail.
	output func() string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current process has exited
	waitErr error
	paused  bool // stopped by Pause and not resumed yet (pause.go)
}

// newProc starts bin with args and registers its cleanup on t.
func newProc(t testing.TB, name, bin string, args []string, logPath string) *Proc {
	t.Helper()
	return startNewProc(t, &Proc{t: t, name: name, bin: bin, args: args, logPath: logPath})
}

func startNewProc(t testing.TB, p *Proc) *Proc {
	t.Helper()
	name, bin, args := p.name, p.bin, p.args
	if err := p.start(); err != nil {
		t.Fatalf("harness: start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Stop()
		if !t.Failed() {
			return
		}
		if p.output != nil {
			t.Logf("harness: %s (%s %s) output:\n%s", name, bin, strings.Join(args, " "), p.output())
			return
		}
		t.Logf("harness: %s (%s %s) log tail:\n%s", name, bin, strings.Join(args, " "), p.LogTail(logTailLines))
	})
	return p
}

func (p *Proc) start() error {
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logFile, "=== harness: %s %s\n", p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if p.stdout != nil {
		cmd.Stdout = p.stdout
	}
	if p.stderr != nil {
		cmd.Stderr = p.stderr
	}
	if p.stdin != "" {
		cmd.Stdin = strings.NewReader(p.stdin)
	}
	cmd.Env = p.env
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.waitErr, p.paused = cmd, exited, nil, false
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// Name is the name the process was started under (for messages).
func (p *Proc) Name() string { return p.name }

// PID is the process id of the current incarnation.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Exited is closed when the current incarnation has exited.
func (p *Proc) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// Running reports whether the current incarnation is still alive.
func (p *Proc) Running() bool {
	select {
	case <-p.Exited():
		return false
	default:
		return true
	}
}

// ExitCode is the exit code of the last incarnation, or -1 while it runs or
// when it was ended by a signal.
func (p *Proc) ExitCode() int {
	if p.Running() {
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.ProcessState.ExitCode()
}

// Kill sends SIGKILL to the process (kill -9: no cleanup, no goodbye to
// its peers; a paused process dies too) and waits until it is gone.
func (p *Proc) Kill() {
	p.signalAndWait(syscall.SIGKILL, 0)
}

// Stop sends SIGTERM, waits up to stopGrace, then sends SIGKILL.
func (p *Proc) Stop() {
	p.signalAndWait(syscall.SIGTERM, stopGrace)
}

// Signal sends sig to the process without waiting.
func (p *Proc) Signal(sig syscall.Signal) {
	p.mu.Lock()
	proc := p.cmd.Process
	p.mu.Unlock()
	if p.Running() {
		_ = syscall.Kill(proc.Pid, sig)
	}
}

func (p *Proc) signalAndWait(sig syscall.Signal, grace time.Duration) {
	if !p.Running() {
		return
	}
	exited := p.Exited()
	p.Signal(sig)
	// A stopped process would keep sig pending until the grace period
	// ends; SIGCONT after it lets it handle sig at once.
	p.continueIfPaused()
	if sig != syscall.SIGKILL {
		select {
		case <-exited:
			return
		case <-time.After(grace):
			p.logf("harness: %s (pid %d) still running %v after %v; sending SIGKILL", p.name, p.PID(), grace, sig)
		}
		p.Signal(syscall.SIGKILL)
	}
	<-exited
}

// logf logs to the test that started the process, or to stderr for a
// process a package's tests share (started with no test of its own).
func (p *Proc) logf(format string, args ...any) {
	if p.t == nil {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		return
	}
	p.t.Logf(format, args...)
}

// Restart stops the process (SIGTERM) if it runs and starts it again with the
// same arguments. It does not wait for health; the server types do.
func (p *Proc) Restart() {
	p.t.Helper()
	p.Stop()
	if err := p.start(); err != nil {
		p.t.Fatalf("harness: restart %s: %v", p.name, err)
	}
}

// LogPath is the file holding the process's stdout and stderr.
func (p *Proc) LogPath() string { return p.logPath }

// LogTail returns the last n lines of the process's log.
func (p *Proc) LogTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
