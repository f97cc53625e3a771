package fanout

import (
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Batch is one upstream watch response's worth of events for the fan-out
// prefixes, as a feeder broadcasts it. The feeder chains batches: PrevRev is
// the Rev of the batch before it, so a receiver that holds everything up to
// PrevRev knows it holds everything up to Rev after applying this one.
type Batch struct {
	// PrevRev is the revision through which the previous batch was complete.
	PrevRev int64
	// Rev is the revision through which this batch is complete: the header
	// revision of the upstream response.
	Rev int64
	// Events are revision-ordered, with PrevRev < ModRevision <= Rev, and
	// carry PrevKv (the feeder watches with prev_kv) except for creations.
	Events []*mvccpb.Event
	// ProgressOnly marks an upstream progress notification (no events).
	// With PrevRev == Rev it is a heartbeat (see Heartbeat).
	ProgressOnly bool
}

// Heartbeat reports a progress-only batch with PrevRev == Rev: an idle
// feeder saying that the chain is complete through Rev and nothing came
// since its last batch. It moves no receiver on, but one that is behind
// Rev learns that it missed the chain's last batch (a Gap), which no later
// batch would tell it on an idle cluster.
func (b *Batch) Heartbeat() bool { return b.ProgressOnly && b.PrevRev == b.Rev }

// Gap says the cache is complete through From-1 and holds batches that
// start after To: the revisions From..To (inclusive) are missing. The driver
// repairs it by Applying batches that cover them, e.g. from an upstream
// watch of each prefix starting at From.
type Gap struct {
	From, To int64
}

// Validate checks the chaining invariants that Apply relies on.
func (b *Batch) Validate() error {
	switch {
	case b.ProgressOnly && (b.PrevRev < 0 || b.Rev < b.PrevRev):
		return fmt.Errorf("fanout: progress batch revisions prev=%d rev=%d: want 0 <= prev <= rev", b.PrevRev, b.Rev)
	case !b.ProgressOnly && (b.PrevRev < 0 || b.Rev <= b.PrevRev):
		return fmt.Errorf("fanout: batch revisions prev=%d rev=%d: want 0 <= prev < rev", b.PrevRev, b.Rev)
	}
	if b.ProgressOnly && len(b.Events) > 0 {
		return errors.New("fanout: progress-only batch with events")
	}
	last := b.PrevRev
	for i, ev := range b.Events {
		if ev == nil || ev.Kv == nil {
			return fmt.Errorf("fanout: batch event %d has no key-value", i)
		}
		if len(ev.Kv.Key) == 0 {
			return fmt.Errorf("fanout: batch event %d has an empty key", i)
		}
		if ev.Type != mvccpb.Event_PUT && ev.Type != mvccpb.Event_DELETE {
			return fmt.Errorf("fanout: batch event %d has type %d", i, ev.Type)
		}
		mod := ev.Kv.ModRevision
		if mod <= b.PrevRev || mod > b.Rev || mod < last {
			return fmt.Errorf("fanout: batch event %d at revision %d out of order (prev=%d rev=%d last=%d)", i, mod, b.PrevRev, b.Rev, last)
		}
		last = mod
	}
	return nil
}

// isCreate is etcd's v3rpc.IsCreateEvent: such events carry no prev_kv.
func isCreate(ev *mvccpb.Event) bool {
	return ev.Type == mvccpb.Event_PUT && ev.Kv.CreateRevision == ev.Kv.ModRevision
}
