package main

import (
	"container/heap"
	"time"

	"github.com/heraldproj/herald/gossip/plumtree"
)

// eventKind says what an event does when its time comes.
type eventKind uint8

const (
	evMessage   eventKind = iota // deliver msg to node `to`
	evTick                       // tick node `to`
	evBroadcast                  // node `to` broadcasts broadcast number `hops`
	evAnnounce                   // node `to` has joined: it introduces itself
	evDial                       // node `to` dials its link to node `from` (-dial ahead)
	evCarrier                    // node `to` sends a packet anyway, carrying its waiting piggyback messages
	evExpire                     // node `to` sends the piggyback messages that waited too long
)

// event is one scheduled happening. seq breaks ties between events at the
// same instant in scheduling order, which keeps runs deterministic.
type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	to   int32
	from int32
	hops int32 // flooding: hops so far; broadcast: its number
	msg  plumtree.Message
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*h = old[:len(old)-1]
	return e
}

// queue is the simulator's virtual clock: events come out in time order.
type queue struct {
	h   eventHeap
	seq uint64
}

func (q *queue) push(e event) {
	q.seq++
	e.seq = q.seq
	heap.Push(&q.h, e)
}

func (q *queue) pop() (event, bool) {
	if len(q.h) == 0 {
		return event{}, false
	}
	return heap.Pop(&q.h).(event), true
}
