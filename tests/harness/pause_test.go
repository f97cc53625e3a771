package harness

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// startSleep runs `sleep 600` as a Proc, the cheapest process to pause.
func startSleep(t *testing.T) *Proc {
	t.Helper()
	bin, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep binary: %v", err)
	}
	return newProc(t, "sleep", bin, []string{"600"}, filepath.Join(t.TempDir(), "sleep.log"))
}

// endSignal is the signal that ended p's last incarnation (0 if it exited).
func endSignal(t *testing.T, p *Proc) syscall.Signal {
	t.Helper()
	<-p.Exited()
	p.mu.Lock()
	defer p.mu.Unlock()
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

func TestPauseResume(t *testing.T) {
	p := startSleep(t)
	if _, err := procState(p.PID()); err != nil {
		t.Skipf("cannot read the process state: %v", err)
	}
	p.Pause()
	if st, err := procState(p.PID()); err != nil || st != 'T' {
		t.Fatalf("state after Pause = %q, %v; want T", st, err)
	}
	if !p.Paused() {
		t.Errorf("Paused = false after Pause")
	}
	p.Resume()
	if st, err := procState(p.PID()); err != nil || st == 'T' {
		t.Fatalf("state after Resume = %q, %v; want not T", st, err)
	}
	if p.Paused() {
		t.Errorf("Paused = true after Resume")
	}
	p.Resume() // resuming a running process does nothing
}

// TestStopResumesPaused: Stop of a paused process ends it with its SIGTERM,
// not with the SIGKILL that follows the grace period.
func TestStopResumesPaused(t *testing.T) {
	p := startSleep(t)
	p.Pause()
	p.Stop()
	if sig := endSignal(t, p); sig != syscall.SIGTERM {
		t.Fatalf("paused process ended by %v; want SIGTERM (Stop must resume it)", sig)
	}
	if p.Paused() {
		t.Errorf("Paused = true after Stop")
	}
}

func TestKillPaused(t *testing.T) {
	p := startSleep(t)
	p.Pause()
	p.Kill()
	if sig := endSignal(t, p); sig != syscall.SIGKILL {
		t.Fatalf("paused process ended by %v; want SIGKILL", sig)
	}
}

// TestPauseEtcd: a paused etcd keeps its port but answers nothing; resumed,
// it serves the same client again.
func TestPauseEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd; skipped in -short mode")
	}
	c := StartEtcd(t, EtcdOptions{})
	cli := Client(t, c.Endpoints()...)
	put := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := cli.Put(ctx, "k", "v")
		return err
	}
	if err := put(startTimeout); err != nil {
		t.Fatalf("put: %v", err)
	}
	m := c.Member(0)
	m.Pause()
	if err := put(200 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put to a paused etcd: %v; want %v", err, context.DeadlineExceeded)
	}
	m.Resume()
	if err := put(startTimeout); err != nil {
		t.Fatalf("put after Resume: %v", err)
	}
	m.Pause() // left paused: the cleanup resumes it for its SIGTERM
}
