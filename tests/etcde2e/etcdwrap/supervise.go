package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readyLine is what the framework waits for from a grpc-proxy
// (framework/e2e/cluster_proxy.go: waitReady(ctx, "started gRPC proxy")).
const readyLine = "started gRPC proxy"

// runHerald runs the herald beside the wrapper in place of
// `etcd grpc-proxy start args…` and returns the exit code to leave with.
func runHerald(dir string, args []string) int {
	herald := filepath.Join(dir, "herald")
	help, err := exec.Command(herald, "start", "--help").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcdwrap: %s start --help: %v\n%s", herald, err, help)
		return 1
	}
	known := parseHelpFlags(string(help))
	t := translate(args, known)

	listen, _ := t.lookup("listen-addr")
	_, portStr, err := net.SplitHostPort(listen)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil {
		fmt.Fprintf(os.Stderr, "etcdwrap: --listen-addr %q has no port\n", listen)
		return 1
	}
	extra := []string{"--name=herald-" + portStr}
	if _, ok := t.lookup("metrics-addr"); !ok {
		addr, err := freeAddr()
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcdwrap: %v\n", err)
			return 1
		}
		extra = append(extra, "--metrics-addr="+addr)
	}
	note := ""
	if peers, err := fleetPeers(t, port); err != nil {
		note = fmt.Sprintf("no fleet (%v)", err)
	} else if len(peers) > 1 {
		extra = append(extra, "--gossip-addr="+peers[0], "--join="+strings.Join(peers[1:], ","),
			"--gossip-key-file="+filepath.Join(dir, "gossip.key"), "--gossip-profile=local")
		note = fmt.Sprintf("fleet of %d", len(peers))
	} else {
		note = "no fleet (one member)"
	}
	heraldArgs := append(append([]string{"start"}, t.args()...), extra...)
	logTranslation(dir, args, heraldArgs, t.dropped, note)

	out := io.Writer(os.Stdout)
	if f, err := os.OpenFile(filepath.Join(dir, "herald-"+portStr+".log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		defer f.Close()
		out = io.MultiWriter(os.Stdout, f)
	}
	return supervise(herald, heraldArgs, listen, out)
}

// supervise starts herald, prints readyLine once it accepts connections on
// listen, passes SIGTERM and SIGINT on, and returns herald's exit code.
// Herald's output goes to out (the framework's pty, and a file beside the
// wrapper that the runner adds to the test's log).
func supervise(herald string, args []string, listen string, out io.Writer) int {
	cmd := exec.Command(herald, args...)
	cmd.Stdout, cmd.Stderr = out, out
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "etcdwrap: %v\n", err)
		return 1
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	go announceReady(listen, done)
	err := cmd.Wait()
	close(done)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcdwrap: herald: %v\n", err)
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

// announceReady prints readyLine once listen accepts a connection, unless
// herald ends first.
func announceReady(listen string, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-time.After(100 * time.Millisecond):
		}
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
			fmt.Printf("etcdwrap: %s: herald listens on %s\n", readyLine, listen)
			return
		}
	}
}

// freeAddr asks the kernel for a free port on 127.0.0.1.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// logTranslation records the command line herald got and what it did not
// get, in etcdwrap.log beside the wrapper and on stderr (the test's log).
func logTranslation(dir string, in, out []string, dropped []flagArg, note string) {
	var d []string
	for _, f := range dropped {
		d = append(d, f.String())
	}
	line := fmt.Sprintf("etcdwrap: grpc-proxy start %s\n  => herald %s\n  dropped: [%s]; %s\n",
		strings.Join(quoteAll(in), " "), strings.Join(out, " "), strings.Join(d, " "), note)
	fmt.Fprint(os.Stderr, line)
	f, err := os.OpenFile(filepath.Join(dir, "etcdwrap.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s", time.Now().Format(time.RFC3339), line)
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return out
}

func splitComma(s string) []string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
