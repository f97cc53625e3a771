package transport

import "sync/atomic"

// Stats are a transport's counters since it started.
type Stats struct {
	FramesSent     uint64 // written to a connection
	FramesReceived uint64 // authenticated and delivered to Recv
	FramesRejected uint64 // failed a check: forged, corrupted, truncated, replayed
	QueueFull      uint64 // Send calls refused with ErrQueueFull
	FramesLost     uint64 // accepted by Send but dropped: dial or write failure, Close
	Dials          uint64 // connections opened to a peer, ahead of use or for a frame
	DialsFailed    uint64
	DialsAhead     uint64 // connections opened to a kept peer before a frame needed them (Keep)
}

type counters struct {
	sent, received, rejected, queueFull, lost, dials, dialsFailed, dialsAhead atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		FramesSent:     c.sent.Load(),
		FramesReceived: c.received.Load(),
		FramesRejected: c.rejected.Load(),
		QueueFull:      c.queueFull.Load(),
		FramesLost:     c.lost.Load(),
		Dials:          c.dials.Load(),
		DialsFailed:    c.dialsFailed.Load(),
		DialsAhead:     c.dialsAhead.Load(),
	}
}
