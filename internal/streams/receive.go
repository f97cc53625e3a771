package streams

import (
	"context"
	"sync"
)

// Receive reads a client stream's requests on a goroutine of its own, so
// that the caller can wait on them and on other things at once. The
// goroutine ends with the stream's first error, sent on errs, or with ctx.
func Receive[Req any](ctx context.Context, recv func() (*Req, error)) (reqs <-chan *Req, errs <-chan error) {
	return ReceiveWaited(ctx, recv, nil)
}

// ReceiveWaited is Receive whose goroutine is counted in wg (nil: not
// counted), for a caller that must wait for every goroutine it started.
func ReceiveWaited[Req any](ctx context.Context, recv func() (*Req, error), wg *sync.WaitGroup) (reqs <-chan *Req, errs <-chan error) {
	out, errc := make(chan *Req), make(chan error, 1)
	if wg != nil {
		wg.Add(1)
	}
	go func() {
		if wg != nil {
			defer wg.Done()
		}
		for {
			req, err := recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case out <- req:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errc
}
