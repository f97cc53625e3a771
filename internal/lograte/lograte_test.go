package lograte

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

func TestLimiterOnePerIntervalPerKey(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(10 * time.Second)
	l.now = func() time.Time { return now }

	check := func(key string, wantOK bool, wantSuppressed int) {
		t.Helper()
		ok, n := l.Allow(key)
		if ok != wantOK || n != wantSuppressed {
			t.Fatalf("Allow(%q) at %s = %v, %d; want %v, %d", key, now.Format("05.000"), ok, n, wantOK, wantSuppressed)
		}
	}
	check("a", true, 0)
	check("a", false, 0)
	check("a", false, 0)
	check("b", true, 0) // kinds are independent
	now = now.Add(9 * time.Second)
	check("a", false, 0)
	now = now.Add(time.Second)
	check("a", true, 3) // three held back since the last one
	check("a", false, 0)
	now = now.Add(time.Minute)
	check("a", true, 1)
	check("b", true, 0)
}

func TestLimiterForgetsWhenFull(t *testing.T) {
	l := New(time.Hour)
	for i := range maxKeys {
		if ok, _ := l.Allow(fmt.Sprint(i)); !ok {
			t.Fatalf("first line of kind %d held back", i)
		}
	}
	if ok, _ := l.Allow("0"); ok {
		t.Fatal("a remembered kind let through within its interval")
	}
	if ok, _ := l.Allow("new"); !ok {
		t.Fatal("a new kind held back")
	}
	if len(l.keys) != 1 {
		t.Fatalf("%d kinds remembered after the limit, want 1 (the others forgotten)", len(l.keys))
	}
}

func TestLogHoldsBackRepeatsAndCountsThem(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(10 * time.Second)
	l.now = func() time.Time { return now }
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	for i := range 5 {
		l.Log(log, slog.LevelWarn, "rejected frame", "n", i)
	}
	now = now.Add(10 * time.Second)
	l.Log(log, slog.LevelWarn, "rejected frame", "n", 5)
	want := "level=WARN msg=\"rejected frame\" n=0\nlevel=WARN msg=\"rejected frame\" n=5 held_back=4\n"
	if got := buf.String(); got != want {
		t.Fatalf("logged:\n%s\nwant:\n%s", got, want)
	}
}
