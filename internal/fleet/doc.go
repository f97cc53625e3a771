// Package fleet is the contract between the herald fleet's carrier
// (gossip/) and the packages that use it (fanout/feed, fanout/hub,
// lease/offload, proxy/): a Bus of named topics, each a Topic that a feed
// broadcasts on, and a Member, a herald as its clients reach it. gossip
// provides them (gossip.Bus, gossip.Fleet.Heralds); tests provide
// in-memory ones.
//
// It holds interfaces and plain types only, so that neither side imports
// the other. It must not import any herald package.
package fleet
