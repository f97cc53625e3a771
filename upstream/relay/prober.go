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
	err := s.probeWithin(s.probe)
	if s.proberCtx.Err() != nil {
		return // closing: the probe was cut short, not failed
	}
	if directHealthy(err) {
		s.stayed = false
	}
	relaying, changed := s.rule.observe(directHealthy(err), s.relayAnswers)
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

// relayAnswers reports whether new calls can go through a peer: one is
// listed and, with a relay probe, etcd answers that probe through a peer
// in time. It runs on the prober goroutine, only when the rule would go to
// the relay.
func (s *Switch) relayAnswers() bool {
	if len(s.peers.list()) == 0 {
		return false
	}
	if s.relayProbe == nil {
		return true
	}
	err := s.probeWithin(s.relayProbe)
	if !directHealthy(err) {
		if !s.stayed {
			s.log.Info("relay: etcd does not answer through a peer either; new upstream calls stay direct", "err", err)
		}
		s.stayed = true
		return false
	}
	s.stayed = false
	return true
}

// probeWithin runs probe bounded by the probe timeout.
func (s *Switch) probeWithin(probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(s.proberCtx, s.timeout)
	defer cancel()
	return probe(ctx)
}

// directHealthy classifies a probe's outcome: etcd refusing the probe for
// want of permission still answered, so the direct path works.
func directHealthy(err error) bool {
	return err == nil || status.Code(err) == codes.PermissionDenied
}
