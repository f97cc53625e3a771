package membership

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/heraldproj/herald/internal/backoff"
)

// Membership is this herald's view of the fleet. All methods are safe for
// concurrent use.
type Membership struct {
	cfg  Config
	ml   *memberlist.Memberlist
	meta *metaDelegate
	view *view
	subs *subscribers
	addr string // memberlist's advertised host:port, fixed after New
	log  *slog.Logger

	joined atomic.Bool // a seed answered (or there are none)

	stop     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.Mutex
	isClosed bool
	closing  *atomic.Bool // set before memberlist's shutdown: its closed-socket errors are expected (log.go)
}

// New starts memberlist on cfg.BindAddr and tries to join cfg.Seeds. If no
// seed answers it keeps retrying in the background with exponential backoff
// (the first herald of a fleet is often started before its seeds), so New
// fails only on a bad configuration or a bind error. It does not block on
// the network beyond one join attempt.
func New(cfg Config) (*Membership, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	closing := new(atomic.Bool)
	mc, err := cfg.memberlistConfig(closing)
	if err != nil {
		return nil, err
	}
	metaBytes, err := cfg.Meta.MarshalBinary()
	if err != nil {
		return nil, err
	}
	m := &Membership{
		cfg:     cfg,
		meta:    &metaDelegate{b: metaBytes, carrier: &carried{c: cfg.Carrier, full: packetBudget(mc)}},
		view:    &view{},
		subs:    &subscribers{},
		log:     cfg.Logger.With("component", "membership", "name", cfg.Name),
		stop:    make(chan struct{}),
		closing: closing,
	}
	mc.Delegate = m.meta
	mc.Events = eventDelegate{view: m.view, subs: m.subs}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("membership: start memberlist: %w", err)
	}
	m.ml = ml
	m.addr = net.JoinHostPort(mc.AdvertiseAddr, strconv.Itoa(mc.AdvertisePort))
	if mc.AdvertiseAddr == "" {
		m.addr = ml.LocalNode().Address() // before any other goroutine can update it
	}
	if len(cfg.Seeds) == 0 {
		m.joined.Store(true)
	} else if err := m.join(); err != nil {
		if foreignKey(err) {
			_ = ml.Shutdown()
			return nil, fmt.Errorf("%w (%v)", ErrForeignKey, err)
		}
		m.log.Warn("membership: no seed answered, retrying in background", "seeds", cfg.Seeds, "err", err)
		m.wg.Add(1)
		go m.rejoinLoop()
	}
	return m, nil
}

func (m *Membership) join() error {
	n, err := m.ml.Join(m.cfg.Seeds)
	if n > 0 {
		m.joined.Store(true)
		m.log.Info("membership: joined fleet", "contacted", n)
		return nil
	}
	return fmt.Errorf("membership: join %v: %w", m.cfg.Seeds, err)
}

func (m *Membership) rejoinLoop() {
	defer m.wg.Done()
	b := backoff.New(m.cfg.RejoinInterval, 30*time.Second)
	for {
		wait := b.Next()
		t := time.NewTimer(wait)
		select {
		case <-m.stop:
			t.Stop()
			return
		case <-t.C:
		}
		err := m.join()
		if err == nil {
			return
		}
		if foreignKey(err) {
			m.log.Error("membership: a seed answered under another fleet key; this herald stays out of that fleet (check --gossip-key-file)", "seeds", m.cfg.Seeds, "err", err)
			continue
		}
		m.log.Debug("membership: rejoin failed", "err", err, "waited", wait)
	}
}

// Joined reports whether a seed has answered a join, or none was
// configured (this member founds the fleet). A seed may be this member
// itself, as behind a service that lists every member.
func (m *Membership) Joined() bool { return m.joined.Load() }

// Addr is the host:port memberlist advertises (useful with port 0).
func (m *Membership) Addr() string { return m.addr }

// Local returns this member.
func (m *Membership) Local() Member {
	meta, err := DecodeMeta(m.meta.get())
	return Member{Name: m.cfg.Name, Addr: m.addr, Meta: meta, MetaErr: err}
}

// Members returns the live members (alive or suspect), this one included,
// sorted by name. It does not block on the network.
func (m *Membership) Members() []Member { return m.view.list() }

// NumMembers is the number of live members, this one included.
func (m *Membership) NumMembers() int { return m.view.len() }

// Subscribe returns a subscription whose channel receives every later event,
// buffered up to Config.EventBuffer; see Subscription.Dropped. To build a
// view, subscribe first, then read Members(): an event may then appear in
// both, so apply events idempotently.
func (m *Membership) Subscribe() *Subscription { return m.subs.add(m.cfg.EventBuffer) }

// UpdateMeta changes this member's metadata and gossips it, waiting up to
// timeout for the update to be sent.
func (m *Membership) UpdateMeta(meta Meta, timeout time.Duration) error {
	if meta.ID == "" {
		meta.ID = m.cfg.Name
	}
	if meta.ID != m.cfg.Name {
		return fmt.Errorf("membership: Meta.ID %q differs from Name %q", meta.ID, m.cfg.Name)
	}
	b, err := meta.MarshalBinary()
	if err != nil {
		return err
	}
	m.meta.set(b)
	if err := m.ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("membership: update metadata: %w", err)
	}
	return nil
}

// Close leaves the fleet gracefully — it gossips Meta.Leaving, then the
// leave itself, waiting up to timeout for each to go out, so that peers see
// Leave rather than Fail — then stops memberlist and closes every
// subscription. It is idempotent.
func (m *Membership) Close(timeout time.Duration) error {
	m.closeMu.Lock()
	defer m.closeMu.Unlock()
	if m.isClosed {
		return nil
	}
	m.isClosed = true
	close(m.stop)
	m.wg.Wait()
	var leaveErr error
	m.meta.setLeaving()
	if err := m.ml.UpdateNode(timeout); err != nil {
		m.log.Debug("membership: announcing leave", "err", err)
	}
	if err := m.ml.Leave(timeout); err != nil {
		leaveErr = fmt.Errorf("membership: leave: %w", err)
	}
	m.closing.Store(true)
	if err := m.ml.Shutdown(); err != nil && leaveErr == nil {
		leaveErr = fmt.Errorf("membership: shutdown: %w", err)
	}
	m.subs.close()
	return leaveErr
}

// metaDelegate serves this member's metadata to memberlist, and the
// Carrier's messages to its packets (carried).
type metaDelegate struct {
	mu      sync.Mutex
	b       []byte
	carrier *carried
}

// setLeaving sets the Leaving flag in the encoded metadata (see MarshalBinary).
func (d *metaDelegate) setLeaving() {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := bytes.Clone(d.b)
	b[1] |= flagLeaving
	d.b = b
}

func (d *metaDelegate) get() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.b
}

func (d *metaDelegate) set(b []byte) {
	d.mu.Lock()
	d.b = b
	d.mu.Unlock()
}

func (d *metaDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.b) > limit {
		panic("membership: metadata over limit " + strconv.Itoa(limit)) // prevented by MarshalBinary
	}
	return d.b
}

func (d *metaDelegate) NotifyMsg(b []byte) { d.carrier.incoming(b) }
func (d *metaDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.carrier.outgoing(overhead, limit)
}
func (*metaDelegate) LocalState(bool) []byte                 { return nil }
func (*metaDelegate) MergeRemoteState(buf []byte, join bool) {}
