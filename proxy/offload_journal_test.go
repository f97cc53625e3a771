package proxy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/heraldproj/herald/lease"
)

func TestJournalKeepsLiveLeasesAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leases.journal")
	j, live, err := openJournal(path)
	if err != nil || len(live) != 0 {
		t.Fatalf("fresh journal: %v %v", live, err)
	}
	for id := lease.ID(1); id <= 5; id++ {
		if err := j.grant(lease.Record{ID: id, TTL: int64(id) * 10, Owner: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	j.end(2, 4, 99) // 99 was never granted
	j.close()

	// A crash mid-write leaves a torn entry at the end: replay stops there.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := encodeEntry(entryGrant, lease.Record{ID: 6, TTL: 60, Owner: "h"}.Encode())
	f.Write(torn[:len(torn)-3])
	f.Close()

	j, live, err = openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if len(live) != 3 || live[1].TTL != 10 || live[3].TTL != 30 || live[5].TTL != 50 {
		t.Fatalf("live after reopen: %+v; want leases 1, 3, 5", live)
	}
	// The reopened journal was rewritten compactly and takes new entries.
	if err := j.grant(lease.Record{ID: 7, TTL: 70, Owner: "h"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := replayJournal(b); len(got) != 4 || got[7].TTL != 70 {
		t.Fatalf("after rewrite and a grant: %+v", got)
	}
}

func TestJournalRejectsCorruptEntries(t *testing.T) {
	good := encodeEntry(entryGrant, lease.Record{ID: 1, TTL: 5, Owner: "h"}.Encode())
	bad := append([]byte(nil), good...)
	bad[3] ^= 0xff // a payload byte: the checksum fails
	if _, _, _, ok := decodeEntry(bad); ok {
		t.Fatal("a corrupt entry decoded")
	}
	if got := replayJournal(append(append([]byte(nil), good...), bad...)); len(got) != 1 {
		t.Fatalf("replay: %+v; want the good entry only", got)
	}
}

// FuzzJournalReplay feeds arbitrary files to the journal's replay.
func FuzzJournalReplay(f *testing.F) {
	f.Add(encodeEntry(entryGrant, lease.Record{ID: 1, TTL: 5, Owner: "h"}.Encode()))
	f.Add(encodeEntry(entryEnd, []byte{2}))
	f.Add([]byte{'G', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		for id, rec := range replayJournal(b) {
			if rec.ID != id {
				t.Fatalf("lease %d filed under %d", rec.ID, id)
			}
		}
	})
}
