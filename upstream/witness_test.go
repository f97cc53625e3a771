package upstream

import "testing"

// TestWitness: Seen holds the newest revision noted and counts every note,
// an older revision's too; nothing is noted for a revision of 0 (an answer
// without a header) or on a nil Witness.
func TestWitness(t *testing.T) {
	var nilW *Witness
	nilW.Note(5)
	if rev, n := nilW.Seen(); rev != 0 || n != 0 {
		t.Fatalf("nil Witness saw %d, %d notes", rev, n)
	}
	w := new(Witness)
	for _, step := range []struct {
		note  int64
		rev   int64
		notes uint64
	}{
		{note: 7, rev: 7, notes: 1},
		{note: 5, rev: 7, notes: 2},
		{note: 0, rev: 7, notes: 2},
		{note: 9, rev: 9, notes: 3},
	} {
		w.Note(step.note)
		if rev, n := w.Seen(); rev != step.rev || n != step.notes {
			t.Fatalf("after Note(%d): Seen %d, %d notes; want %d, %d", step.note, rev, n, step.rev, step.notes)
		}
	}
}
