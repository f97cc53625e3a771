package transport

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func memPair(t *testing.T) (*MemTransport, *MemTransport) {
	t.Helper()
	n := NewNetwork()
	a, err := n.Listen("a:1", "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Listen("b:1", "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Listen("b:1", "b2", 0); err == nil {
		t.Fatal("address reused")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestMemNetwork(t *testing.T) {
	n := NewNetwork()
	a, _ := n.Listen("a:1", "a", 2)
	b, _ := n.Listen("b:1", "b", 2)
	defer a.Close()
	if err := a.Send("b:1", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := a.Send("b:1", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := a.Send("b:1", []byte("3")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third send to a 2-frame queue: %v", err)
	}
	if f := <-b.Recv(); f.From != "a" || string(f.Data) != "1" {
		t.Fatalf("got %q from %q", f.Data, f.From)
	}
	if err := a.Send("nowhere:1", []byte("x")); err != nil {
		t.Fatalf("send to an unknown address: %v", err)
	}
	b.Close()
	if err := a.Send("b:1", []byte("x")); err != nil {
		t.Fatalf("send to a closed endpoint: %v", err)
	}
	if err := b.Send("a:1", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("send from a closed endpoint: %v", err)
	}
}

func TestFaultyLossIsSeededAndNearRate(t *testing.T) {
	run := func() []int {
		a, b := memPair(t)
		f := NewFaulty(a, FaultConfig{Loss: 0.1, Seed: 7})
		defer f.Close()
		var got []int
		for i := range 1000 {
			if err := f.Send("b:1", []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			select {
			case fr := <-b.Recv():
				var j int
				fmt.Sscan(string(fr.Data), &j)
				got = append(got, j)
			default:
			}
		}
		if int(f.Stats().Dropped)+len(got) != 1000 {
			t.Fatalf("dropped %d + received %d != 1000", f.Stats().Dropped, len(got))
		}
		return got
	}
	first, second := run(), run()
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Fatal("same seed, different losses")
	}
	// Binomial(1000, 0.1): mean 100, sd 9.5; the seed fixes the draw.
	if lost := 1000 - len(first); lost < 60 || lost > 140 {
		t.Fatalf("lost %d of 1000 at 10%%", lost)
	}
}

func TestFaultyCutAndHeal(t *testing.T) {
	a, b := memPair(t)
	f := NewFaulty(a, FaultConfig{})
	defer f.Close()
	f.Cut("b:1")
	for range 10 {
		if err := f.Send("b:1", []byte("cut")); err != nil {
			t.Fatal(err)
		}
	}
	noFrame(t, b)
	if got := f.Stats().Cut; got != 10 {
		t.Fatalf("Stats.Cut = %d", got)
	}
	f.Heal("b:1")
	if err := f.Send("b:1", []byte("healed")); err != nil {
		t.Fatal(err)
	}
	if fr := recvFrame(t, b); string(fr.Data) != "healed" {
		t.Fatalf("got %q", fr.Data)
	}
	f.Cut("b:1")
	f.HealAll()
	if err := f.Send("b:1", []byte("all healed")); err != nil {
		t.Fatal(err)
	}
	recvFrame(t, b)
}

func TestFaultyDelayDeliversEverything(t *testing.T) {
	a, b := memPair(t)
	f := NewFaulty(a, FaultConfig{DelayMin: time.Millisecond, DelayMax: 3 * time.Millisecond, Seed: 1})
	seen := make(map[string]bool)
	for i := range 200 {
		if err := f.Send("b:1", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		seen[string(recvFrame(t, b).Data)] = true
	}
	if len(seen) != 200 {
		t.Fatalf("%d distinct frames of 200", len(seen))
	}
	// Close drops what is still delayed and closes the inner transport.
	if err := f.Send("b:1", []byte("late")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Send("b:1", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if _, ok := <-a.Recv(); ok {
		t.Fatal("inner transport not closed")
	}
}

func TestFaultyMaxPending(t *testing.T) {
	a, _ := memPair(t)
	f := NewFaulty(a, FaultConfig{DelayMin: time.Hour, MaxPending: 3})
	defer f.Close()
	for i := range 3 {
		if err := f.Send("b:1", nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := f.Send("b:1", nil); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("4th delayed frame: %v", err)
	}
}
