package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Where Debian's zookeeper package (libzookeeper-java) puts the server and
// the slf4j binding that sends its log to stderr; the jar's manifest names
// the rest of its class path.
const (
	zooKeeperJar   = "/usr/share/java/zookeeper.jar"
	zooKeeperSLF4J = "/usr/share/java/slf4j-simple.jar"
	zooKeeperMain  = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
)

// ZooKeeperInstalled returns nil when the zookeeper package and a java
// runtime are installed, or what is missing.
func ZooKeeperInstalled() error {
	_, err := zooKeeperJava()
	return err
}

func zooKeeperJava() (string, error) {
	for _, jar := range []string{zooKeeperJar, zooKeeperSLF4J} {
		if _, err := os.Stat(jar); err != nil {
			return "", fmt.Errorf("zookeeper is not installed (%s: %w)", jar, err)
		}
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("zookeeper needs java: %w", err)
	}
	return java, nil
}

// zooKeeperArgs is the java command line of one server: QuorumPeerMain runs
// standalone when cfg lists no ensemble. The JVM is kept small (serial GC,
// C1 only) because tests start several on a shared two-core machine.
func zooKeeperArgs(cfg string) []string {
	return []string{
		"-Xms16m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.net.preferIPv4Stack=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-cp", zooKeeperJar + ":" + zooKeeperSLF4J,
		zooKeeperMain, cfg,
	}
}

// Mode asks the server (the srvr four-letter command) whether it serves
// clients and as what: "standalone", "leader" or "follower". A server
// without a quorum answers, but with an error.
func (s *ZooKeeperServer) Mode() (string, error) {
	out, err := fourLetter(s.clientAddr, "srvr")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if mode, ok := strings.CutPrefix(line, "Mode: "); ok {
			return strings.TrimSpace(mode), nil
		}
	}
	return "", fmt.Errorf("%s does not serve: %q", s.Name(), strings.TrimSpace(out))
}

// Mntr reads the server's monitoring figures (the mntr four-letter
// command): zk_packets_received, zk_packets_sent, zk_watch_count, … as
// numbers; figures that are not numbers are left out.
func (s *ZooKeeperServer) Mntr() (map[string]float64, error) {
	out, err := fourLetter(s.clientAddr, "mntr")
	if err != nil {
		return nil, err
	}
	figures := map[string]float64{}
	for _, line := range strings.Split(out, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			figures[name] = v
		}
	}
	if len(figures) == 0 {
		return nil, fmt.Errorf("%s: mntr answered %q", s.Name(), strings.TrimSpace(out))
	}
	return figures, nil
}

// fourLetter sends one of ZooKeeper's four-letter commands and returns the
// answer (the server closes the connection after it).
func fourLetter(addr, cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", err
	}
	out, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, io.EOF) {
		return string(out), err
	}
	return string(out), nil
}
