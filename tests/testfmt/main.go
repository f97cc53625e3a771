package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

func main() {
	slow := flag.Duration("slow", 5*time.Second, "print a passing test that took at least this long")
	every := flag.Duration("every", time.Minute, "name the tests still running this often (0: never)")
	jsonOut := flag.String("json", "", "also write the raw events to this file")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: testfmt [flags] go test -json [packages]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(flag.Args(), *slow, *every, *jsonOut))
}

// run starts the command, prints its events as they come, and returns its
// exit status (1 if it succeeded but a test or package failed).
func run(args []string, slow, every time.Duration, jsonOut string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testfmt:", err)
		return 2
	}
	var in io.Reader = stdout
	if jsonOut != "" {
		f, err := os.Create(jsonOut)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testfmt:", err)
			return 2
		}
		defer f.Close()
		in = io.TeeReader(stdout, f)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testfmt:", err)
		return 2
	}
	p := newPrinter(os.Stdout, slow, time.Now())

	var mu sync.Mutex // p's calls
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		if every <= 0 {
			return
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				mu.Lock()
				p.running(now)
				mu.Unlock()
			}
		}
	}()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		mu.Lock()
		p.line(sc.Bytes())
		mu.Unlock()
	}
	close(stop)
	<-stopped
	err = cmd.Wait()
	p.summary(time.Now())
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		fmt.Fprintln(os.Stderr, "testfmt:", err)
		return 2
	case p.failed():
		return 1
	}
	return 0
}
