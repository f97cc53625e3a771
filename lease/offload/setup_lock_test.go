package offload

import (
	"context"
	"errors"
	"testing"
)

// TestSetupLockGivesUpWithTheContext: a caller waiting behind a held setup
// lock returns with its context's end , and takes the
// lock once it is free.
func TestSetupLockGivesUpWithTheContext(t *testing.T) {
	l := newSetupLock()
	if err := l.lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.lock(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock while held, context cancelled: %v; want Canceled", err)
	}
	l.unlock()
	if err := l.lock(context.Background()); err != nil {
		t.Fatalf("lock once free: %v", err)
	}
	l.unlock()
}
