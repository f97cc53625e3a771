package membership

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heraldproj/herald/tests/harness"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

func startMember(t *testing.T, name string, key []byte, seeds ...string) *Membership {
	t.Helper()
	m, err := New(Config{
		Name:     name,
		BindAddr: "127.0.0.1:0",
		Seeds:    seeds,
		Key:      key,
		Meta:     Meta{GRPCAddr: "127.0.0.1:2379", GossipAddr: "127.0.0.1:1" + name[1:], Roles: []string{"feeder"}},
		Profile:  Local,
		// Keep a seedless member from retrying often during the test.
		RejoinInterval: time.Hour,
	})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { _ = m.Close(time.Second) })
	return m
}

func nextEvent(t *testing.T, sub *Subscription, want EventType, name string) Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed waiting for %v of %s", want, name)
			}
			if e.Type == want && e.Member.Name == name {
				return e
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %v of %s", want, name)
		}
	}
}

func TestJoinMetadataUpdateCrash(t *testing.T) {
	a := startMember(t, "h1", testKey)
	sub := a.Subscribe()
	b := startMember(t, "h2", testKey, a.Addr())
	c := startMember(t, "h3", testKey, b.Addr())

	e := nextEvent(t, sub, Join, "h2")
	if e.Member.Meta.ID != "h2" || e.Member.Meta.GossipAddr != "127.0.0.1:12" || !e.Member.Meta.HasRole("feeder") {
		t.Fatalf("join event carries meta %+v", e.Member.Meta)
	}
	nextEvent(t, sub, Join, "h3")
	harness.WaitUntil(t, "3 members everywhere", harness.DefaultPatience, func() bool {
		return a.NumMembers() == 3 && b.NumMembers() == 3 && c.NumMembers() == 3
	})

	if err := c.UpdateMeta(Meta{GossipAddr: "127.0.0.1:999"}, time.Second); err != nil {
		t.Fatal(err)
	}
	e = nextEvent(t, sub, Update, "h3")
	if e.Member.Meta.GossipAddr != "127.0.0.1:999" || e.Member.Meta.HasRole("feeder") {
		t.Fatalf("update event carries meta %+v", e.Member.Meta)
	}

	// A crash: memberlist stops without leaving; the failure detector notices.
	crash(t, c)
	nextEvent(t, sub, Fail, "h3")
	harness.WaitUntil(t, "h3 gone from h1's and h2's views", harness.DefaultPatience, func() bool {
		return a.NumMembers() == 2 && b.NumMembers() == 2
	})
}

// TestGracefulLeave: with h1 the one other member there has ever been,
// Close's Leaving announcement (UpdateNode returns once it is sent to a
// member) reaches h1 before the leave itself, so h1 sees a Leave. Any other
// member, even one that crashed a moment ago (memberlist gossips to the
// dead for GossipToTheDeadTime), may get the announcement first, and h1
// then sees the leave unannounced: a Fail (the Leave event's contract,
// events.go). This test shared a fleet with the crash above and was flaky
// that way twice.
func TestGracefulLeave(t *testing.T) {
	a := startMember(t, "h1", testKey)
	sub := a.Subscribe()
	b := startMember(t, "h2", testKey, a.Addr())
	nextEvent(t, sub, Join, "h2")
	harness.WaitUntil(t, "2 members everywhere", harness.DefaultPatience, func() bool {
		return a.NumMembers() == 2 && b.NumMembers() == 2
	})
	if err := b.Close(5 * time.Second); err != nil {
		t.Fatalf("close h2: %v", err)
	}
	e := nextEvent(t, sub, Leave, "h2")
	if !e.Member.Meta.Leaving {
		t.Fatalf("leave event carries meta %+v, without Leaving", e.Member.Meta)
	}
	harness.WaitUntil(t, "h2 gone from h1's view", harness.DefaultPatience, func() bool { return a.NumMembers() == 1 })
}

// crash stops m's memberlist without leaving, as a killed process would.
func crash(t *testing.T, m *Membership) {
	m.closeMu.Lock()
	defer m.closeMu.Unlock()
	m.isClosed = true
	close(m.stop)
	m.wg.Wait()
	if err := m.ml.Shutdown(); err != nil {
		t.Fatal(err)
	}
	m.subs.close()
}

func TestWrongKeyCannotJoin(t *testing.T) {
	a := startMember(t, "h1", testKey)
	other := bytes.Repeat([]byte{0x43}, 32)
	_, err := New(Config{Name: "h2", BindAddr: "127.0.0.1:0", Seeds: []string{a.Addr()}, Key: other,
		Meta: Meta{GRPCAddr: "127.0.0.1:2379"}, Profile: Local})
	if !errors.Is(err, ErrForeignKey) {
		t.Fatalf("joining with another key: %v, want ErrForeignKey", err)
	}
	if n := a.NumMembers(); n != 1 {
		t.Fatalf("member with another key joined: h1 sees %d members", n)
	}
	// A seed that is not up is not a key problem: the member starts and
	// retries in the background.
	dead := startMember(t, "h3", other, "127.0.0.1:1")
	if n := dead.NumMembers(); n != 1 {
		t.Fatalf("h3 sees %d members", n)
	}
	if dead.Joined() {
		t.Error("h3 says it joined, though its one seed never answered")
	}
	if !a.Joined() {
		t.Error("a member without seeds founds its fleet: it must count as joined")
	}
	c := startMember(t, "h4", testKey, a.Addr())
	if !c.Joined() {
		t.Error("h4 joined through h1 and says it did not")
	}
}

func TestForeignKeyErrors(t *testing.T) {
	for _, e := range foreignKeyErrors {
		if !foreignKey(fmt.Errorf("1 error occurred: failed to join 127.0.0.1:7946: %s", e)) {
			t.Errorf("%q not recognised", e)
		}
	}
	for _, err := range []error{nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), errors.New("EOF")} {
		if foreignKey(err) {
			t.Errorf("%v taken for another key", err)
		}
	}
}

func TestSubscriptionBoundedAndCancel(t *testing.T) {
	s := &subscribers{}
	sub := s.add(2)
	for i := range 5 {
		s.publish(Event{Type: Join, Member: Member{Name: fmt.Sprint(i)}})
	}
	if got := sub.Dropped(); got != 3 {
		t.Fatalf("Dropped = %d, want 3", got)
	}
	sub.Cancel()
	sub.Cancel()
	n := 0
	for range sub.C {
		n++
	}
	if n != 2 {
		t.Fatalf("received %d buffered events, want 2", n)
	}
	s.publish(Event{Type: Join}) // must not panic on a cancelled subscription
	s.close()
	if _, ok := <-s.add(1).C; ok {
		t.Fatal("subscription after close is open")
	}
}

func TestConfigValidation(t *testing.T) {
	for name, c := range map[string]Config{
		"no name":       {BindAddr: "127.0.0.1:0"},
		"bad bind":      {Name: "h", BindAddr: "127.0.0.1"},
		"short key":     {Name: "h", BindAddr: "127.0.0.1:0", Key: []byte("short")},
		"meta id":       {Name: "h", BindAddr: "127.0.0.1:0", Meta: Meta{ID: "other"}},
		"unknown prof.": {Name: "h", BindAddr: "127.0.0.1:0", Profile: Profile(9)},
	} {
		if m, err := New(c); err == nil {
			_ = m.Close(0)
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
}

// TestProfileTiming: each profile gets its memberlist preset (WAN probes
// less often than LAN, Local more often).
func TestProfileTiming(t *testing.T) {
	probe := map[Profile]time.Duration{}
	for _, p := range []Profile{LAN, WAN, Local} {
		c := Config{Name: "h", BindAddr: "127.0.0.1:0", Profile: p}
		if err := c.validate(); err != nil {
			t.Fatal(err)
		}
		mc, err := c.memberlistConfig(nil)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		probe[p] = mc.ProbeInterval
	}
	if !(probe[Local] < probe[LAN] && probe[LAN] < probe[WAN]) {
		t.Errorf("probe intervals local %v, lan %v, wan %v: want increasing", probe[Local], probe[LAN], probe[WAN])
	}
	if WAN.String() != "wan" {
		t.Errorf("WAN.String() = %q", WAN.String())
	}
}
