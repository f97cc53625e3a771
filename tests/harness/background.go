package harness

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitOutputTimeout bounds WaitOutput; it turns a missing line into a failure
// with the output so far, it is not a performance threshold.
const waitOutputTimeout = 30 * time.Second

// BackgroundCtl is an etcdctl command left running (watch, elect, lock)
// whose output is collected while the test acts.
type BackgroundCtl struct {
	*Proc
	out, errb SyncBuffer
}

// StartEtcdctl starts etcdctl with args (and stdin, if not empty) in the
// background. Stop it with Interrupt or Stop; it is stopped by PID when t ends.
func StartEtcdctl(t testing.TB, endpoints []string, stdin string, args ...string) *BackgroundCtl {
	t.Helper()
	bins := Binaries(t)
	b := &BackgroundCtl{}
	p := &Proc{
		t:       t,
		name:    "etcdctl " + strings.Join(args, " "),
		bin:     bins.Etcdctl,
		args:    etcdctlArgs(endpoints, args),
		logPath: filepath.Join(t.TempDir(), "etcdctl.log"),
		stdout:  &b.out,
		stderr:  &b.errb,
		stdin:   stdin,
		env:     etcdctlEnv(),
	}
	p.output = func() string { return "stdout:\n" + b.Stdout() + "stderr:\n" + b.Stderr() }
	b.Proc = startNewProc(t, p)
	return b
}

// Stdout is the output so far.
func (b *BackgroundCtl) Stdout() string { return b.out.String() }

// Stderr is the error output so far.
func (b *BackgroundCtl) Stderr() string { return b.errb.String() }

// WaitOutput waits until stdout contains substr at least n times.
func (b *BackgroundCtl) WaitOutput(substr string, n int) error {
	deadline := time.Now().Add(waitOutputTimeout)
	for strings.Count(b.Stdout(), substr) < n {
		if !b.Running() {
			if strings.Count(b.Stdout(), substr) >= n {
				return nil
			}
			return fmt.Errorf("%s exited (code %d) before printing %q %d times; stdout:\n%s\nstderr:\n%s",
				b.Name(), b.ExitCode(), substr, n, b.Stdout(), b.Stderr())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %q not printed %d times within %v; stdout:\n%s\nstderr:\n%s",
				b.Name(), substr, n, waitOutputTimeout, b.Stdout(), b.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// Interrupt sends SIGINT (what a user's Ctrl-C does) and waits for the exit;
// it returns the whole stdout and stderr.
func (b *BackgroundCtl) Interrupt() (stdout, stderr string) {
	b.signalAndWait(syscall.SIGINT, stopGrace)
	return b.Stdout(), b.Stderr()
}

// Wait waits until the command exits by itself and returns its output.
func (b *BackgroundCtl) Wait() (stdout, stderr string, code int) {
	<-b.Exited()
	return b.Stdout(), b.Stderr(), b.ExitCode()
}
