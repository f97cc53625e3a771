package status

// Totals sums a report over the heralds that answered.
type Totals struct {
	Heralds, Reachable, Feeders int
	// Healthy: heralds whose upstream is healthy; Ready: heralds ready.
	Healthy, Ready          int
	VirtualLeases, Carriers int64
	Watchers                int64
	// MaxLag is the largest LagRevisions of a herald.
	MaxLag int64
}

// Totals sums r's heralds.
func (r Report) Totals() Totals {
	t := Totals{Heralds: len(r.Heralds)}
	for _, h := range r.Heralds {
		if !h.Reachable() {
			continue
		}
		t.Reachable++
		if h.Upstream != nil && h.Upstream.Healthy {
			t.Healthy++
		}
		if h.Ready != nil && h.Ready.Offload && h.Ready.Fanout {
			t.Ready++
		}
		if h.Offload != nil {
			t.VirtualLeases += h.Offload.VirtualLeases
			t.Carriers += h.Offload.Carriers
		}
		if f := h.Fanout; f != nil {
			if f.Feeding {
				t.Feeders++
			}
			t.Watchers += f.Watchers
			t.MaxLag = max(t.MaxLag, f.LagRevisions)
		}
	}
	return t
}
