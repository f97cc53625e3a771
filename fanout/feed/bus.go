package feed

import "github.com/heraldproj/herald/internal/fleet"

// Bus is one topic of the fleet's broadcast tree, as a Feed uses it
// (gossip.Bus's Topic provides it). A nil Bus is a herald on its own: it
// is its own feeder.
type Bus = fleet.Topic
