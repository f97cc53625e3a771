package harness

import (
	"syscall"
	"time"
)

// pausePatience bounds how long Pause and Resume wait for the kernel to
// report the new state; it turns a hang into a failure, it is not a
// threshold.
const pausePatience = 10 * time.Second

// Pause stops the process with SIGSTOP, as a long GC pause, a frozen VM or a
// debugger would: it keeps its sockets and its state but runs no code, so its
// peers see silence (connections stay open, the kernel still accepts new ones
// into the listen backlog, nothing answers). Pause returns once the kernel
// reports the process stopped (on Linux; elsewhere once the signal is sent).
//
// A test resumes it with Resume, or kills it with Kill (SIGKILL works on a
// stopped process); Stop, Restart, Interrupt and the end-of-test cleanup
// resume it themselves right after their signal, so that a paused process
// handles its SIGTERM at once instead of being killed after the grace period.
//
//	h.Pause()
//	... // assert what the fleet does while h is silent
//	h.Resume()
func (p *Proc) Pause() {
	p.t.Helper()
	if !p.Running() {
		p.t.Fatalf("harness: pause %s: not running", p.name)
	}
	pid := p.PID()
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
	p.Signal(syscall.SIGSTOP)
	if err := waitStopped(pid, true, p.Exited(), pausePatience); err != nil {
		p.t.Fatalf("harness: pause %s (pid %d): %v", p.name, pid, err)
	}
}

// Resume continues a process stopped by Pause with SIGCONT and returns once
// the kernel reports it running again (on Linux). Resuming a process that is
// not paused does nothing.
func (p *Proc) Resume() {
	p.t.Helper()
	if !p.Paused() {
		return
	}
	pid := p.PID()
	p.continueIfPaused()
	if err := waitStopped(pid, false, p.Exited(), pausePatience); err != nil {
		p.t.Fatalf("harness: resume %s (pid %d): %v", p.name, pid, err)
	}
}

// Paused reports whether the process was paused and not resumed since.
func (p *Proc) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

// continueIfPaused sends SIGCONT if the process is paused, and marks it
// running.
func (p *Proc) continueIfPaused() {
	p.mu.Lock()
	paused := p.paused
	p.paused = false
	p.mu.Unlock()
	if paused {
		p.Signal(syscall.SIGCONT)
	}
}
