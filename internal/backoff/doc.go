// Package backoff is herald's one retry pacing: a pause that doubles after
// every failure up to a ceiling, each pause drawn at random between half and
// all of the current step, so that heralds (or streams) that failed together
// do not retry together.
//
// Every driver that retries something against etcd or a peer (the lease
// offloader's streams and deletes, the fan-out feeder, the gossip
// transport's dials, the membership rejoin, herald's background start and
// its read retries) paces itself with a Backoff, so there is one place that
// decides how a retry waits.
//
// It lives under internal/ because no existing package fits: its callers
// sit in every layer (proxy/, lease/offload, fanout/feed, gossip/transport,
// gossip/membership), and none of them may import another layer's driver.
// It must stay a leaf: the standard library only, no herald package, no
// logging, no metrics.
package backoff
