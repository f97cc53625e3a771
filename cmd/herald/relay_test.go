package main

import (
	"testing"
	"time"
)

func TestRelayTimingAtTheDefaultSession(t *testing.T) {
	interval, timeout := relayTiming(2)
	if interval != 500*time.Millisecond || timeout != 300*time.Millisecond {
		t.Fatalf("relayTiming(2) = %v, %v; want 500ms, 300ms", interval, timeout)
	}
}

// For every session TTL, a hung direct path is left for the relay (two
// probes that time out) before the session lapses, and a healthy path's
// session keepalives (every third of the TTL) come often enough for every
// probe to be skipped.
func TestRelayTimingFitsTheSession(t *testing.T) {
	for ttl := int64(1); ttl <= 120; ttl++ {
		interval, timeout := relayTiming(ttl)
		session := time.Duration(ttl) * time.Second
		if hung := 2 * (interval + timeout); hung >= session {
			t.Errorf("TTL %d s: a hung path is noticed after %v, not before the session lapses", ttl, hung)
		}
		if keepalive := session / 3; keepalive >= interval+timeout {
			t.Errorf("TTL %d s: keepalives every %v do not answer within a probe's %v, so probes read etcd", ttl, keepalive, interval+timeout)
		}
		if interval <= 0 || timeout <= 0 {
			t.Errorf("TTL %d s: interval %v, timeout %v", ttl, interval, timeout)
		}
	}
}
