package status

import (
	"bytes"
	"testing"
)

// TestTable: the terminal table of a fleet with a feeder, an unhealthy
// herald and an unreachable one, and what is wrong with them below it.
func TestTable(t *testing.T) {
	var out bytes.Buffer
	if err := Table(&out, sampleFleet()); err != nil {
		t.Fatal(err)
	}
	want := `HERALD  FEEDER  UPSTREAM     READY  VIRTUAL LEASES  CARRIERS  WINDOW    EVENTS  BYTES    WATCHERS  LAG (REVS)  ADVANCED
h0      feeder  healthy      yes    1200            2         [3..812]  809     3.0 MiB  17        3           1.3s ago
h1      -       unhealthy    no     -               -         [3..812]  809     3.0 MiB  17        3           1.3s ago
h2      -       unreachable  -      -               -         -         -       -        -         -           -
TOTAL   1       1/3          1/3    1200            2                                    34        max 3

as seen by h0 at 2025-01-02 15:04:05Z: 3 heralds (2 reachable, 1 healthy, 1 ready), 1 feeding, 1200 virtual leases on 2 carriers, 34 watchers
h1: upstream: etcdserver: no leader
h1: fan-out cache is not loaded
h2: unreachable: Get "http://h2.rack:2379/status.json?scope=local": context deadline exceeded
`
	if out.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestTableNeutralisesControlCharacters: a peer's name or error cannot
// move the terminal's cursor or break the table's columns.
func TestTableNeutralisesControlCharacters(t *testing.T) {
	r := sampleFleet()
	r.Heralds[0].Name = "h0\x1b[2J\tx"
	r.Heralds[2].Error = "refused\r\n\x1b]0;owned\x07"
	var out bytes.Buffer
	if err := Table(&out, r); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(out.Bytes(), "\x1b\t\r\x07") {
		t.Fatalf("control characters reach the terminal:\n%q", out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("h0?[2J?x  feeder")) || !bytes.Contains(out.Bytes(), []byte("h2: unreachable: refused???]0;owned?\n")) {
		t.Fatalf("names and errors not shown with ? for control characters:\n%s", out.String())
	}
}

// TestFormats: bytes, ages, counts and windows as the table and the page
// show them.
func TestFormats(t *testing.T) {
	h := sampleHerald("h0", false)
	h.Fanout.WindowStart, h.Fanout.Rev = 2, 1
	if got := rowOf(h).Cells[5].Text; got != "empty at 1" {
		t.Errorf("an empty window shows as %q", got)
	}
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 64 << 20: "64.0 MiB", 3 << 40: "3.0 TiB", 5 << 50: "5120.0 TiB"} {
		if got := bytesIEC(in); got != want {
			t.Errorf("bytesIEC(%d) = %q, want %q", in, got, want)
		}
	}
	if got := count(1, "carrier") + ", " + count(0, "carrier") + ", " + count(2, "carrier"); got != "1 carrier, 0 carriers, 2 carriers" {
		t.Errorf("count: %s", got)
	}
	for in, want := range map[float64]string{0: "never", 0.04: "0s ago", 1.25: "1.3s ago", 65: "1m5s ago", 1e12: "long ago"} {
		if got := ago(in); got != want {
			t.Errorf("ago(%g) = %q, want %q", in, got, want)
		}
	}
}
