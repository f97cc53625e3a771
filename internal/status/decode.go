package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Size limits of a report in bytes. A herald's own report is well under a
// kilobyte; a fleet report is about that much per herald.
const (
	MaxLocalBytes = 64 << 10
	MaxFleetBytes = 16 << 20
)

// Decode reads one report of scope want from r (bytes from the network:
// a peer's local report, or a herald's fleet report for `herald status`).
// It refuses, with an error that says why:
//
//   - more than MaxLocalBytes (local) or MaxFleetBytes (fleet) bytes;
//   - anything but one JSON object, or values of the wrong JSON type;
//   - a version other than Version, or a scope other than want;
//   - a report that breaks the shape's rules: an answering herald named,
//     at least one herald, names non-empty and unique; an unreachable
//     herald with nothing but its name, URL and error, a reachable one with
//     upstream and ready figures; no negative figure; a local report of
//     exactly the herald that answered, reachable.
//
// Fields it does not know are ignored: a newer herald of the same version
// may have added some (see Version).
func Decode(r io.Reader, want Scope) (Report, error) {
	limit := int64(MaxFleetBytes)
	if want == Local {
		limit = MaxLocalBytes
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return Report{}, fmt.Errorf("status: read report: %w", err)
	}
	if int64(len(b)) > limit {
		return Report{}, fmt.Errorf("status: %s report larger than %d bytes", want, limit)
	}
	var rep Report
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&rep); err != nil {
		return Report{}, fmt.Errorf("status: decode %s report: %w", want, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Report{}, fmt.Errorf("status: decode %s report: data after the report", want)
	}
	if err := rep.check(want); err != nil {
		return Report{}, fmt.Errorf("status: %s report: %w", want, err)
	}
	return rep, nil
}

// check applies the shape's rules (see Decode).
func (r Report) check(want Scope) error {
	switch {
	case r.Version != Version:
		return fmt.Errorf("version %d, this herald reads version %d", r.Version, Version)
	case r.Scope != want:
		return fmt.Errorf("scope %q, want %q", r.Scope, want)
	case r.From == "":
		return errors.New("no answering herald (from)")
	case len(r.Heralds) == 0:
		return errors.New("no heralds")
	case want == Local && (len(r.Heralds) != 1 || r.Heralds[0].Name != r.From || !r.Heralds[0].Reachable()):
		return fmt.Errorf("a local report from %q must list that herald alone, reachable", r.From)
	}
	seen := make(map[string]bool, len(r.Heralds))
	for i, h := range r.Heralds {
		if seen[h.Name] {
			return fmt.Errorf("herald %q listed twice", h.Name)
		}
		seen[h.Name] = true
		if err := h.check(); err != nil {
			return fmt.Errorf("herald %d (%q): %w", i, h.Name, err)
		}
	}
	return nil
}

func (h Herald) check() error {
	switch {
	case h.Name == "":
		return errors.New("no name")
	case !h.Reachable() && (h.Upstream != nil || h.Ready != nil || h.Offload != nil || h.Fanout != nil):
		return errors.New("unreachable, yet with figures")
	case h.Reachable() && (h.Upstream == nil || h.Ready == nil):
		return errors.New("reachable, yet without upstream or ready")
	}
	if o := h.Offload; o != nil && anyNegative(o.VirtualLeases, o.Carriers, o.FleetLeases, o.IndexRev) {
		return errors.New("negative offload figure")
	}
	if f := h.Fanout; f != nil {
		if anyNegative(f.Rev, f.WindowStart, f.CompactRev, f.WindowEvents, f.WindowBytes, f.HeldBatches,
			f.Streams, f.Watchers, f.SlowCancels, f.Gaps, f.SeenRev, f.LagRevisions) {
			return errors.New("negative fan-out figure")
		}
		if !(f.SinceAdvanceSeconds >= 0) || math.IsInf(f.SinceAdvanceSeconds, 0) {
			return errors.New("since_advance_seconds must be 0 or more")
		}
	}
	return nil
}

func anyNegative(v ...int64) bool {
	for _, x := range v {
		if x < 0 {
			return true
		}
	}
	return false
}
