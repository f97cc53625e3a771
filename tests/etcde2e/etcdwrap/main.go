package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

func main() {
	exe, err := os.Executable()
	if err != nil {
		fatalf("etcdwrap: %v", err)
	}
	dir := filepath.Dir(exe)
	args := os.Args[1:]
	if len(args) >= 2 && args[0] == "grpc-proxy" && args[1] == "start" {
		os.Exit(runHerald(dir, args[2:]))
	}
	real := filepath.Join(dir, "etcd-real")
	if err := syscall.Exec(real, append([]string{real}, args...), os.Environ()); err != nil {
		fatalf("etcdwrap: exec %s: %v", real, err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}
