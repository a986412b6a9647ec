package bus

import (
	"sync"
	"time"
)

// Replays. Whoever can publish on the bus server can send again, unchanged,
// a genuine event they saw: its tag is still right, and its time still
// fresh for Freshness. Each event names its sender (a random ID per bus,
// so per start of a replica) and its place in that sender's sequence; a
// receiver keeps, for each sender and subject, the highest sequence seen
// and which of the replayWindow before it were seen, and refuses any event
// seen already or older than that window. A replica therefore delivers
// each genuine event at most once, whatever is replayed.
//
// The window is per subject because the transports keep a sender's order
// only within a subject: nats.go delivers each subscription on its own
// goroutine, so a burst on one subject may overtake an event on another
// by any number. Within a subject events come in the order sent (one
// sending goroutine, one connection), and replayWindow is a margin. A
// Redis pipeline that go-redis sends again after a network error may
// repeat part of a batch (maxBatch at most, well inside the window): those
// copies are refused, and counted, as replays.
//
// Nothing is persisted: a replica that restarts is a new sender, and an
// event of its previous life is stale before the entry that records it may
// be forgotten (idle, below).

// replayWindow is how far behind the highest sequence seen (of a sender,
// on a subject) an event may come and still be accepted, once.
const replayWindow = 1024

// windowWords holds replayWindow bits and the word of the highest
// sequence, which is partly ahead of it.
const windowWords = replayWindow/64 + 1

// maxSenders bounds the senders remembered. Only genuine senders are
// (an event is checked for replay after its tag): replicas and their
// restarts within twice Freshness, a few dozen at most. Past the bound the
// one heard from longest ago is forgotten; its events could then be
// replayed once more on this replica until they go stale.
const maxSenders = 4096

// senderIdle is how long a sender is remembered after its last event:
// anything it sent before is stale by then (signed at most Freshness
// ahead of this clock when received, and refused Freshness after that).
const senderIdle = 2 * Freshness

// window records the sequences seen of one sender on one subject.
type window struct {
	top  uint64 // the highest seen; sequences start at 1
	bits [windowWords]uint64
}

// admit records seq, and reports whether it had not been seen and is
// within the window.
func (w *window) admit(seq uint64) bool {
	if seq > w.top {
		cur, next := w.top/64, seq/64
		for i := uint64(1); i <= min(next-cur, windowWords); i++ {
			w.bits[(cur+i)%windowWords] = 0
		}
		w.top = seq
	} else if w.top-seq >= replayWindow {
		return false
	}
	word, bit := (seq/64)%windowWords, uint64(1)<<(seq%64)
	if w.bits[word]&bit != 0 {
		return false
	}
	w.bits[word] |= bit
	return true
}

// sender is what is remembered of one sender.
type sender struct {
	heard    time.Time
	subjects map[string]*window // a handful: those this replica subscribes to
}

// replays holds the senders heard from.
type replays struct {
	mu      sync.Mutex
	senders map[senderID]*sender
	swept   time.Time
	max     int
}

// admit reports whether the event seq of from, received on subject at
// now, is received for the first time, and records it.
func (r *replays) admit(from senderID, subject string, seq uint64, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.senders[from]
	if s == nil {
		s = r.add(from, now)
	}
	s.heard = now
	w := s.subjects[subject]
	if w == nil {
		w = &window{}
		s.subjects[subject] = w
	}
	return w.admit(seq)
}

// add remembers a new sender, forgetting those idle longer than
// senderIdle (looked for at most once every Freshness, or when full) and,
// when still full, the one heard from longest ago. r.mu is held.
func (r *replays) add(from senderID, now time.Time) *sender {
	if r.senders == nil {
		r.senders = map[senderID]*sender{}
	}
	if r.max <= 0 {
		r.max = maxSenders
	}
	if len(r.senders) >= r.max || now.Sub(r.swept) >= Freshness {
		r.swept = now
		for id, s := range r.senders {
			if now.Sub(s.heard) > senderIdle {
				delete(r.senders, id)
			}
		}
	}
	if len(r.senders) >= r.max {
		var oldest senderID
		var at time.Time
		for id, s := range r.senders {
			if at.IsZero() || s.heard.Before(at) {
				oldest, at = id, s.heard
			}
		}
		delete(r.senders, oldest)
	}
	s := &sender{subjects: map[string]*window{}}
	r.senders[from] = s
	return s
}

// len is how many senders are remembered.
func (r *replays) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.senders)
}
