// Package streams holds what herald's stream servers (proxy/, fanout/hub)
// share about reading a client stream: Receive, which moves the reads onto
// a goroutine of their own so that the server can wait on them and on
// other things at once.
//
// It knows nothing of gRPC or etcd: a stream is its Recv function. It must
// not import any herald package.
package streams
