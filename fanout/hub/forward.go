package hub

import (
	"context"
	"errors"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/heraldproj/herald/upstream"
)

// forwarder is the upstream stream for a client stream's watchers outside
// the fan-out prefixes, opened on first use.
type forwarder struct {
	ctx     context.Context
	wc      upstream.Watches
	running *sync.WaitGroup // the stream's: Serve waits for the receiver
	once    sync.Once
	up      upstream.WatchStream
	resp    chan *pb.WatchResponse
	err     chan error
}

// send does req on the stream, opening it on first use.
func (f *forwarder) send(req func(upstream.WatchStream) error) error {
	var openErr error
	f.once.Do(func() {
		f.resp, f.err = make(chan *pb.WatchResponse), make(chan error, 1)
		f.up, openErr = f.wc.Watch(upstream.Outgoing(f.ctx))
		if openErr != nil {
			return
		}
		f.running.Add(1)
		go func() {
			defer f.running.Done()
			for {
				r, err := f.up.Recv()
				if err != nil {
					f.err <- err
					return
				}
				select {
				case f.resp <- r:
				case <-f.ctx.Done():
					return
				}
			}
		}()
	})
	if openErr != nil {
		return openErr
	}
	if f.up == nil {
		return errors.New("hub: upstream watch stream failed to open")
	}
	return req(f.up)
}

// responses and errs are nil (never ready) until the stream is open.
func (f *forwarder) responses() <-chan *pb.WatchResponse { return f.resp }
func (f *forwarder) errs() <-chan error                  { return f.err }
