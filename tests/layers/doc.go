// Package layers holds herald's architecture test: it fails when a package
// imports across the seams that STYLE.md draws (gRPC only in the front end
// and the upstream adapters, clientv3 and go-zookeeper only behind the
// upstream seam, memberlist only in gossip/membership, viper and cobra only
// in cmd/, no I/O at all in the pure cores), or has no package comment.
package layers
