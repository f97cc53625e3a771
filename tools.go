//go:build tools

// Package tools pins the etcd binaries that the real-server tests build
// (etcd and etcdctl) to the versions in go.mod.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
