package relay

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// runProber probes the direct path every interval until Close, feeding the
// outcomes to the rule. It is the Switch's only goroutine.
func (s *Switch) runProber() {
	defer s.prober.Done()
	for {
		fire, stop := s.clock.NewTimer(s.interval)
		select {
		case <-s.proberCtx.Done():
			stop()
			return
		case <-fire:
		}
		s.probeOnce()
	}
}

// probeOnce runs one probe and applies the rule's verdict.
func (s *Switch) probeOnce() {
	ctx, cancel := context.WithTimeout(s.proberCtx, s.timeout)
	err := s.probe(ctx)
	cancel()
	if s.proberCtx.Err() != nil {
		return // closing: the probe was cut short, not failed
	}
	relaying, changed := s.rule.observe(directHealthy(err), func() bool { return len(s.peers.list()) > 0 })
	if changed {
		s.relaying.Store(relaying)
		s.switches.Add(1)
		if relaying {
			s.log.Warn("relay: etcd does not answer directly; new upstream calls go through a peer herald", "err", err)
		} else {
			s.log.Info("relay: etcd answers again; new upstream calls go direct")
		}
		if s.onSwitch != nil {
			s.onSwitch(relaying)
		}
	}
	s.peers.prune()
}

// directHealthy classifies a probe's outcome: etcd refusing the probe for
// want of permission still answered, so the direct path works.
func directHealthy(err error) bool {
	return err == nil || status.Code(err) == codes.PermissionDenied
}
