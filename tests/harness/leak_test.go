package harness

import (
	"strings"
	"sync"
	"testing"
)

// parkForLeakTest blocks until release is closed: a goroutine with a
// creator of its own for TestGoroutinesByCreatorSeesWhatAFunctionStarted.
func parkForLeakTest(n int, release <-chan struct{}, wg *sync.WaitGroup) {
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); <-release }()
	}
}

// TestGoroutinesByCreatorSeesWhatAFunctionStarted: the goroutines a
// function starts are counted under its name while they run, and no
// longer once they ended.
func TestGoroutinesByCreatorSeesWhatAFunctionStarted(t *testing.T) {
	creator := func(counts map[string]int) (string, int) {
		for c, n := range counts {
			if strings.Contains(c, "parkForLeakTest") {
				return c, n
			}
		}
		return "", 0
	}
	if c, n := creator(GoroutinesByCreator()); n != 0 {
		t.Fatalf("%d goroutines of %s before any was started", n, c)
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	parkForLeakTest(37, release, &wg)
	if c, n := creator(GoroutinesByCreator()); n != 37 {
		t.Fatalf("%d goroutines counted for %q with 37 running, want 37", n, c)
	}
	close(release)
	wg.Wait()
	WaitUntil(t, "the goroutines gone from the count", DefaultPatience, func() bool {
		_, n := creator(GoroutinesByCreator())
		return n == 0
	})
}
