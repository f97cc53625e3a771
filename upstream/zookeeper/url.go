package zookeeper

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Scheme is the URL scheme that selects the ZooKeeper upstream.
const Scheme = "zk"

// defaultPort is ZooKeeper's client port, for servers given without one.
const defaultPort = "2181"

// Target is what a zk:// URL names: the servers of one ensemble and the
// chroot under which herald keeps its znodes.
type Target struct {
	// Servers are host:port, in the URL's order.
	Servers []string
	// Chroot is "" (the ensemble's root) or a znode path such as
	// "/apps/herald" without a trailing '/'.
	Chroot string
}

var errBadURL = errors.New("zookeeper: bad URL")

// ParseURL parses zk://host1:2181,host2:2181[/chroot]. A server without a
// port gets 2181; IPv6 hosts are bracketed ([::1]:2181). The URL has no
// user, query or fragment: ZooKeeper's connect string has none.
func ParseURL(raw string) (Target, error) {
	rest, ok := strings.CutPrefix(raw, Scheme+"://")
	if !ok {
		return Target{}, fmt.Errorf("%w %q: the scheme must be %s://", errBadURL, raw, Scheme)
	}
	if strings.ContainsAny(rest, "?#@") {
		return Target{}, fmt.Errorf("%w %q: no user, query or fragment", errBadURL, raw)
	}
	hosts, chroot, _ := strings.Cut(rest, "/")
	var t Target
	for _, h := range strings.Split(hosts, ",") {
		server, err := parseServer(h)
		if err != nil {
			return Target{}, fmt.Errorf("%w %q: %v", errBadURL, raw, err)
		}
		t.Servers = append(t.Servers, server)
	}
	if chroot != "" {
		t.Chroot = "/" + strings.TrimSuffix(chroot, "/")
		if t.Chroot == "/" || !validChroot(t.Chroot) {
			return Target{}, fmt.Errorf("%w %q: chroot %q is not a znode path", errBadURL, raw, "/"+chroot)
		}
	}
	return t, nil
}

func parseServer(h string) (string, error) {
	if h == "" {
		return "", errors.New("empty server")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port: "host" or "[v6]".
		host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defaultPort
		if strings.Contains(host, ":") && !strings.HasPrefix(h, "[") {
			return "", fmt.Errorf("server %q: bracket an IPv6 address", h)
		}
	}
	if host == "" {
		return "", fmt.Errorf("server %q has no host", h)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("server %q: bad port %q", h, port)
	}
	return net.JoinHostPort(host, port), nil
}

// validChroot accepts a path of non-empty names other than "." and "..",
// in the characters escape leaves plain (keys are escaped; a chroot is
// written by an operator and kept as it is).
func validChroot(p string) bool {
	for _, name := range strings.Split(p[1:], "/") {
		if name == "" || name == "." || name == ".." {
			return false
		}
		for _, r := range name {
			if !plainRune(r) {
				return false
			}
		}
	}
	return true
}
