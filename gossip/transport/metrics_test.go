package transport

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCollectorExportsEveryField: each Stats field comes out under the name
// the package doc promises, with its own value (no field wired to another).
func TestCollectorExportsEveryField(t *testing.T) {
	s := Stats{FramesSent: 1, FramesReceived: 2, FramesRejected: 3, QueueFull: 4, FramesLost: 5, DialsFailed: 6, DialsAhead: 7, Dials: 8}
	c := NewCollector(func() Stats { return s })
	want := `
# HELP herald_gossip_dials_ahead_total Connections opened to a kept peer (a link of the broadcast trees) before a frame needed them.
# TYPE herald_gossip_dials_ahead_total counter
herald_gossip_dials_ahead_total 7
# HELP herald_gossip_dials_failed_total Failed dials to a peer.
# TYPE herald_gossip_dials_failed_total counter
herald_gossip_dials_failed_total 6
# HELP herald_gossip_dials_total Connections opened to a peer, ahead of use or for a frame.
# TYPE herald_gossip_dials_total counter
herald_gossip_dials_total 8
# HELP herald_gossip_frames_lost_total Frames accepted for sending but dropped (dial or write failure, close).
# TYPE herald_gossip_frames_lost_total counter
herald_gossip_frames_lost_total 5
# HELP herald_gossip_frames_queue_full_total Sends refused because the peer's queue was full.
# TYPE herald_gossip_frames_queue_full_total counter
herald_gossip_frames_queue_full_total 4
# HELP herald_gossip_frames_received_total Frames authenticated and delivered.
# TYPE herald_gossip_frames_received_total counter
herald_gossip_frames_received_total 2
# HELP herald_gossip_frames_rejected_total Frames that failed a check (forged, corrupted, truncated, replayed); each closed its connection.
# TYPE herald_gossip_frames_rejected_total counter
herald_gossip_frames_rejected_total 3
# HELP herald_gossip_frames_sent_total Frames written to a connection.
# TYPE herald_gossip_frames_sent_total counter
herald_gossip_frames_sent_total 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatal(problems, err)
	}
}
