// Package streams holds what herald's stream servers (proxy/, fanout/hub)
// share about reading a client stream: Receive, which moves the reads onto
// a goroutine of their own so that the server can wait on them and on
// other things at once. ReceiveWaited does the same for a stream herald
// opened itself (fanout/feed's upstream watch), whose reader is waited
// for: the stream's context ends it.
//
// That goroutine's owner is the stream: it ends with the stream's first
// error, which a gRPC server stream gives once its handler has returned, so
// the handler cannot wait for it. Goroutines blocked in a client stream's
// Recv (this one, proxy's request pumps) are the one kind that herald
// leaves to end after their starter returns; goleak sees none left once
// the streams have ended.
//
// It knows nothing of gRPC or etcd: a stream is its Recv function. It must
// not import any herald package.
package streams
