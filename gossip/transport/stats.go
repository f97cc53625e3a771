package transport

import "sync/atomic"

// Stats are a transport's counters since it started.
type Stats struct {
	FramesSent     uint64 // written to a connection
	FramesReceived uint64 // authenticated and delivered to Recv
	FramesRejected uint64 // failed a check: forged, corrupted, truncated, replayed
	QueueFull      uint64 // Send calls refused with ErrQueueFull
	FramesLost     uint64 // accepted by Send but dropped: dial or write failure, Close
	DialsFailed    uint64
}

type counters struct {
	sent, received, rejected, queueFull, lost, dialsFailed atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		FramesSent:     c.sent.Load(),
		FramesReceived: c.received.Load(),
		FramesRejected: c.rejected.Load(),
		QueueFull:      c.queueFull.Load(),
		FramesLost:     c.lost.Load(),
		DialsFailed:    c.dialsFailed.Load(),
	}
}
