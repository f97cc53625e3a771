package fanout

import (
	"slices"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"
)

// Stream is one client watch stream served from the cache. Its watch ids
// are the stream's own, assigned as etcd assigns them.
type Stream struct {
	c        *Cache
	watchers map[int64]*watcher
	order    []*watcher // creation order: output is deterministic
	nextID   int64      // mvcc watchStream.nextID

	nextProgress time.Time
	closed       bool

	rd Ready // accumulated until Ready()
}

// Ready is what a Stream asks its driver to do, in order.
type Ready struct {
	// Responses go to the client stream, in this order.
	Responses []*pb.WatchResponse
	// CatchUps are watchers whose start revision the window no longer
	// holds (but upstream has not compacted): the driver opens an upstream
	// watch of the range from StartRevision with prev_kv, no filters, and
	// passes what it returns to Stream.CatchUp until that returns done.
	CatchUps []CatchUpRequest
	// StopCatchUps are catch-up watches the driver may close (the watcher
	// was cancelled).
	StopCatchUps []int64
	// Forwards are create requests outside the fan-out prefixes. Their
	// WatchId is the id assigned here (reserved on this stream); the driver
	// serves them upstream (created response included) under that id.
	Forwards []*pb.WatchCreateRequest
	// ForwardCancels are cancel requests for forwarded watches; the driver
	// cancels them upstream and relays the cancel response.
	ForwardCancels []int64
	// ForwardProgress is set when a ProgressRequest arrived on a stream with
	// forwarded watchers: the engine cannot tell whether all are synced, so
	// it sends nothing and the driver decides.
	ForwardProgress bool
}

// CatchUpRequest asks for the history of one watcher from upstream.
type CatchUpRequest struct {
	WatchID       int64
	Key, RangeEnd []byte // as normalized by etcd ("\x00" = every key >= Key)
	StartRevision int64
}

func (rd *Ready) empty() bool {
	return len(rd.Responses) == 0 && len(rd.CatchUps) == 0 && len(rd.StopCatchUps) == 0 &&
		len(rd.Forwards) == 0 && len(rd.ForwardCancels) == 0 && !rd.ForwardProgress
}

// Errors etcd puts in cancel_reason.
const (
	// rpctypes.ErrCompacted, for a negative start_revision (v3rpc recvLoop)
	reasonCompacted = "etcdserver: mvcc: required revision has been compacted"
	// mvcc.ErrEmptyWatcherRange
	reasonEmptyRange = "mvcc: watcher range is empty"
	// mvcc.ErrWatcherDuplicateID
	reasonDuplicateID = "mvcc: duplicate watch ID provided on the WatchStream"

	// clientv3.AutoWatchID: 0 asks for an id, so a client cannot choose 0.
	autoWatchID = 0
	// clientv3.InvalidWatchID
	invalidWatchID = -1
)

// NewStream opens a stream for one client watch stream.
func (c *Cache) NewStream() *Stream {
	s := &Stream{c: c, watchers: map[int64]*watcher{}}
	if c.cfg.ProgressInterval > 0 && !c.now.IsZero() {
		s.nextProgress = c.now.Add(c.cfg.ProgressInterval)
	}
	c.streams = append(c.streams, s)
	return s
}

// Close ends the stream: the driver stops every catch-up and forwarded
// watch it started for it.
func (s *Stream) Close() {
	if s.closed {
		return
	}
	s.closed = true
	for _, w := range s.order {
		s.c.release(w.held)
	}
	if i := slices.Index(s.c.streams, s); i >= 0 {
		s.c.streams = slices.Delete(s.c.streams, i, i+1)
	}
	s.watchers, s.order, s.rd = nil, nil, Ready{}
}

// Handle takes one request from the client stream (v3rpc recvLoop): create,
// cancel or progress. Unknown requests are ignored, as etcd ignores them.
func (s *Stream) Handle(req *pb.WatchRequest) {
	if s.closed || req == nil {
		return
	}
	// What happened before the request goes out before its answer.
	s.materialize()
	switch u := req.RequestUnion.(type) {
	case *pb.WatchRequest_CreateRequest:
		if u.CreateRequest != nil {
			s.create(u.CreateRequest)
		}
	case *pb.WatchRequest_CancelRequest:
		if u.CancelRequest != nil {
			s.cancel(u.CancelRequest.WatchId)
		}
	case *pb.WatchRequest_ProgressRequest:
		if u.ProgressRequest != nil {
			s.progressAll()
		}
	}
}

// HasReady reports whether Ready may have something.
func (s *Stream) HasReady() bool {
	if s.closed {
		return false
	}
	if !s.rd.empty() {
		return true
	}
	for _, w := range s.order {
		if w.state == stateLive && w.nextRev <= s.c.rev {
			return true
		}
	}
	return false
}

// Ready returns what the driver must do now and resets it. The driver sends
// the responses before calling Ready again; while it does not, watchers of
// this stream accumulate at most MaxPendingBytes each.
func (s *Stream) Ready() Ready {
	if s.closed {
		return Ready{}
	}
	s.materialize()
	rd := s.rd
	s.rd = Ready{}
	for _, w := range s.order {
		w.pendingBytes = 0
	}
	return rd
}

func (s *Stream) emit(r *pb.WatchResponse) { s.rd.Responses = append(s.rd.Responses, r) }

func (s *Stream) add(w *watcher) {
	s.watchers[w.id] = w
	s.order = append(s.order, w)
}

func (s *Stream) remove(w *watcher) {
	s.c.release(w.held)
	delete(s.watchers, w.id)
	if i := slices.Index(s.order, w); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
}

// create follows v3rpc recvLoop and mvcc watchStream.Watch /
// watchableStore.watch, in their order of checks.
func (s *Stream) create(creq *pb.WatchCreateRequest) {
	c := s.c
	key := creq.Key
	if len(key) == 0 {
		key = []byte{0} // "\x00 is the smallest key"
	}
	refuse := func(reason string) {
		s.emit(&pb.WatchResponse{Header: c.header(c.rev), WatchId: invalidWatchID, Created: true, Canceled: true, CancelReason: reason})
	}
	if creq.StartRevision < 0 {
		refuse(reasonCompacted)
		return
	}
	// Permission checks are the hub's (fanout/hub permit.go), before Handle.
	sp := requestSpan(key, creq.RangeEnd)
	if sp.empty() {
		refuse(reasonEmptyRange)
		return
	}
	id := creq.WatchId
	if id == autoWatchID {
		for s.watchers[s.nextID] != nil {
			s.nextID++
		}
		id = s.nextID
		s.nextID++
	} else if s.watchers[id] != nil {
		refuse(reasonDuplicateID)
		return
	}
	w := newWatcher(id, sp, creq)
	s.add(w)
	if !c.Loaded() || !c.covers(sp) {
		w.state = stateExternal
		fwd := proto.Clone(creq).(*pb.WatchCreateRequest)
		fwd.WatchId = id
		s.rd.Forwards = append(s.rd.Forwards, fwd)
		return
	}
	w.held = c.hold(sp)
	s.emit(&pb.WatchResponse{Header: c.header(c.rev), WatchId: id, Created: true})
	switch start := creq.StartRevision; {
	case start == 0 || start > c.rev:
		// watchableStore.watch: synced, from the next revision on
		w.synced = true
		w.nextRev = max(c.rev+1, start)
	case start < c.compactRev:
		// syncWatchers → chooseAll: created first, then the compaction
		w.nextRev = start
		s.compacted(w, c.compactRev)
	case start >= c.windowStart(w.held):
		w.nextRev = start
	default:
		w.nextRev = start
		w.state = stateCatchingUp
		end := creq.RangeEnd
		if sp.single {
			end = nil
		}
		s.rd.CatchUps = append(s.rd.CatchUps, CatchUpRequest{WatchID: id, Key: key, RangeEnd: end, StartRevision: start})
	}
}

// compacted cancels w as mvcc's chooseAll does: WatchResponse{WatchID,
// CompactRevision} and v3rpc sendLoop turns it into canceled=true, no
// cancel_reason, and header revision 0 (the mvcc response has no
// revision). The id stays taken until the client cancels it.
func (s *Stream) compacted(w *watcher, rev int64) {
	w.state = stateCompacted
	s.emit(&pb.WatchResponse{Header: s.c.header(0), WatchId: w.id, Canceled: true, CompactRevision: rev})
}

// cancel follows v3rpc recvLoop: an unknown id gets no answer.
func (s *Stream) cancel(id int64) {
	w := s.watchers[id]
	if w == nil {
		return
	}
	s.remove(w)
	switch w.state {
	case stateExternal:
		s.rd.ForwardCancels = append(s.rd.ForwardCancels, id)
		return
	case stateCatchingUp:
		s.rd.StopCatchUps = append(s.rd.StopCatchUps, id)
	}
	s.emit(&pb.WatchResponse{Header: s.c.header(s.c.rev), WatchId: id, Canceled: true})
}
