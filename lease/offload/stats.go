package offload

// Stats is a snapshot of an offloader for metrics and the status page.
type Stats struct {
	// Active: the offloader grants virtual leases.
	Active bool
	// VirtualLeases this herald holds as their owner; Carriers it owns (its
	// own and those it took over); FleetLeases in the fleet's lease index.
	VirtualLeases, Carriers, FleetLeases int
	// IndexRev is the revision through which the lease index is complete.
	IndexRev int64
}

// Stats returns the offloader's current figures. It does no I/O.
func (o *Offloader) Stats() Stats {
	return Stats{Active: o.Active(), VirtualLeases: o.held(), Carriers: o.carrierCount(), FleetLeases: o.fleetLeases(), IndexRev: o.IndexRev()}
}
