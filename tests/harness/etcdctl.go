package harness

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// etcdctlDialTimeout is passed as --dial-timeout; etcdctlRunTimeout bounds a
// whole foreground command (a hang becomes a failure, not a stuck test).
const (
	etcdctlDialTimeout = "5s"
	etcdctlRunTimeout  = 60 * time.Second
)

// Etcdctl runs bin/etcdctl --endpoints=... --dial-timeout=5s args... with no
// ETCDCTL_* variable from the environment (not even ETCDCTL_API=3: the pinned
// etcdctl speaks only v3 and warns on stderr about that variable), and
// returns its stdout, stderr and exit error (an *exec.ExitError when it exited
// non-zero).
func Etcdctl(t testing.TB, endpoints []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return EtcdctlInput(t, endpoints, "", args...)
}

// EtcdctlInput is Etcdctl with stdin (for txn -i and the like).
func EtcdctlInput(t testing.TB, endpoints []string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bins := Binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), etcdctlRunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.Etcdctl, etcdctlArgs(endpoints, args)...)
	cmd.Env = etcdctlEnv()
	cmd.SysProcAttr = childSysProcAttr()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("harness: etcdctl %s: still running after %v", strings.Join(args, " "), etcdctlRunTimeout)
	}
	return out.String(), errb.String(), err
}

// ExitCode is the exit code carried by an error from Etcdctl: 0 for nil, -1
// for an error that is not an exit status.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return -1
}

func etcdctlArgs(endpoints []string, args []string) []string {
	return append([]string{
		"--endpoints=" + strings.Join(endpoints, ","),
		"--dial-timeout=" + etcdctlDialTimeout,
	}, args...)
}

func etcdctlEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCDCTL_") {
			env = append(env, kv)
		}
	}
	return env
}
