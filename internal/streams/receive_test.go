package streams

import (
	"context"
	"errors"
	"io"
	"testing"

	"go.uber.org/goleak"
)

// TestReceiveEndsWithTheStream: requests come in order, and the goroutine
// ends with the stream's first error, which it hands over.
func TestReceiveEndsWithTheStream(t *testing.T) {
	in := make(chan int, 3)
	in <- 1
	in <- 2
	close(in)
	recv := func() (*int, error) {
		v, ok := <-in
		if !ok {
			return nil, io.EOF
		}
		return &v, nil
	}
	reqs, errs := Receive(context.Background(), recv)
	for want := 1; want <= 2; want++ {
		if got := <-reqs; *got != want {
			t.Fatalf("request %d: got %d", want, *got)
		}
	}
	if err := <-errs; !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want EOF", err)
	}
}

// TestReceiveEndsWithItsContext: a request that nobody takes does not keep
// the goroutine once ctx is done.
func TestReceiveEndsWithItsContext(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	received := make(chan struct{})
	recv := func() (*int, error) {
		close(received)
		v := 1
		return &v, nil
	}
	Receive(ctx, recv) // its requests are never read
	<-received
	cancel()
}
