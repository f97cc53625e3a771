package plumtree

import "testing"

func TestSeenSetWindow(t *testing.T) {
	s := newSeenSet(64, 2)
	id := func(seq uint64) MessageID { return MessageID{"o", seq} }
	steps := []struct {
		add            uint64
		gapFrom, gapTo uint64
	}{
		{5, 0, 0},       // first message of an origin: nothing to compare with
		{6, 0, 0},       // in order
		{9, 7, 8},       // 7 and 8 missing
		{8, 0, 0},       // a late one fills the gap
		{200, 137, 199}, // a jump: only the window is reported
	}
	for _, st := range steps {
		if s.has(id(st.add)) {
			t.Fatalf("%d seen before add", st.add)
		}
		if f, to := s.add(id(st.add)); f != st.gapFrom || to != st.gapTo {
			t.Fatalf("add(%d) gap = [%d,%d], want [%d,%d]", st.add, f, to, st.gapFrom, st.gapTo)
		}
		if !s.has(id(st.add)) {
			t.Fatalf("%d not seen after add", st.add)
		}
	}
	if !s.has(id(100)) {
		t.Error("a message older than the window must count as seen")
	}
	if s.has(id(150)) || s.has(id(201)) {
		t.Error("unseen messages inside or above the window reported seen")
	}
	// A third origin evicts the least recently active one.
	s.add(MessageID{"p", 1})
	s.add(id(201))
	s.add(MessageID{"q", 1})
	if s.origins["p"] != nil || s.origins["o"] == nil || len(s.origins) != 2 {
		t.Errorf("eviction kept %v", s.origins)
	}
}
