package clock

import (
	"testing"
	"time"
)

// fired reports whether c holds a value, and which.
func fired(c <-chan time.Time) (time.Time, bool) {
	select {
	case t := <-c:
		return t, true
	default:
		return time.Time{}, false
	}
}

// TestManualFiresTimersOnlyWhenAdvancedPastThem: a timer fires when Advance
// reaches its deadline, once, with the clock's time; a stopped timer never
// fires; a timer of zero fires at once.
func TestManualFiresTimersOnlyWhenAdvancedPastThem(t *testing.T) {
	start := time.Unix(1000, 0)
	m := NewManual(start)
	short, _ := m.NewTimer(time.Second)
	long, _ := m.NewTimer(3 * time.Second)
	stopped, stop := m.NewTimer(time.Second)
	if !stop() {
		t.Fatal("stop of a pending timer reported it fired")
	}
	if m.Timers() != 2 {
		t.Fatalf("%d timers armed, want 2", m.Timers())
	}

	m.Advance(999 * time.Millisecond)
	if _, ok := fired(short); ok {
		t.Fatal("a 1 s timer fired 999 ms in")
	}
	now := m.Advance(time.Millisecond)
	if got, ok := fired(short); !ok || !got.Equal(start.Add(time.Second)) || !now.Equal(got) {
		t.Fatalf("1 s timer at 1 s: fired %v at %v, want at %v", ok, got, start.Add(time.Second))
	}
	m.Advance(5 * time.Second)
	if got, ok := fired(long); !ok || !got.Equal(start.Add(6*time.Second)) {
		t.Fatalf("3 s timer after 6 s: fired %v at %v, want at the clock's time", ok, got)
	}
	for name, c := range map[string]<-chan time.Time{"fired": short, "stopped": stopped} {
		if _, ok := fired(c); ok {
			t.Fatalf("the %s timer fired again", name)
		}
	}
	if m.Timers() != 0 {
		t.Fatalf("%d timers armed after all fired or stopped", m.Timers())
	}
	now, _ = fired(func() <-chan time.Time { c, _ := m.NewTimer(0); return c }())
	if !now.Equal(m.Now()) {
		t.Fatalf("a zero timer fired at %v, want at once (%v)", now, m.Now())
	}
}

// TestOrIsTheWallClockForNil: the zero option is the wall clock.
func TestOrIsTheWallClockForNil(t *testing.T) {
	if _, ok := Or(nil).(Real); !ok {
		t.Fatalf("Or(nil) = %T, want Real", Or(nil))
	}
	m := NewManual(time.Unix(0, 0))
	if Or(m) != Clock(m) {
		t.Fatal("Or(m) is not m")
	}
}
