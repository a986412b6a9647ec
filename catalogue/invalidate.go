package catalogue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"govmobile/bus"
)

// Replicas. Every replica keeps the catalogue's aggregates, first pages and
// public responses per generation, and its own search index. A write moves
// the writing replica's generation at once (Changed), and an event on the
// bus moves every other replica's within the bus's latency, waking its
// search index too, so that it applies the write from the outbox now rather
// than at its next poll.
//
// Delivery is at most once: an event lost while the bus, or this replica's
// connection to it, was down leaves the other replicas' caches as they were
// until their TTLs (aggregateTTL, the response cache's), which are the
// bound on staleness only then. When this replica's bus comes back, it
// moves its own generation on (it may have missed others' writes) and
// publishes one event (the others missed its writes).

// ChangedSubject is the bus subject of catalogue changes. Its payload names
// the replica the change was made on, and nothing else.
const ChangedSubject = "catalogue.changed"

// settleDelay: after a change the generation moves on once more, this long
// (plus the read lag, SetReadLag) after the last one. An answer computed
// between the change and the search index applying it (a keyword list,
// kept by the response cache), or read from a read replica that had not
// yet replayed it, is then not kept for a whole TTL.
const settleDelay = time.Second

// busCheckInterval is how often the bus's availability is looked at, to
// notice it coming back after an outage.
const busCheckInterval = time.Second

type changedEvent struct {
	Origin string `json:"origin"`
}

// sharer publishes this replica's changes. A write only signals pending;
// one goroutine publishes, so a write never waits on the bus (a silent Redis
// costs a PUBLISH up to its timeout), and a burst of writes makes a few
// events, not one each: every write is followed by an event published after
// it.
type sharer struct {
	bus     *bus.Bus
	origin  string
	payload []byte
	pending chan struct{}
	done    chan struct{} // closed when run returns
}

// ShareChanges makes the catalogue's changes move every replica's caches
// on: Changed publishes on b, and the changes published by other replicas
// move this one's generation on and wake its search index. Call it once at
// start, after SetSearch and before serving; publishing stops when ctx
// ends.
func (s *Service) ShareChanges(ctx context.Context, b *bus.Bus) error {
	var id [8]byte
	_, _ = rand.Read(id[:])
	sh := &sharer{bus: b, origin: hex.EncodeToString(id[:]), pending: make(chan struct{}, 1), done: make(chan struct{})}
	sh.payload, _ = json.Marshal(changedEvent{Origin: sh.origin})
	if err := b.Subscribe(ChangedSubject, func(p []byte) {
		var ev changedEvent
		// This replica's own changes moved it on already; a payload that
		// cannot be read is taken for a change.
		if json.Unmarshal(p, &ev) == nil && ev.Origin == sh.origin {
			return
		}
		s.moveOn()
	}); err != nil {
		return err
	}
	s.sharing.Store(sh)
	go sh.run(ctx, s)
	return nil
}

// StopSharing waits until the publishing of changes has ended (its context
// ended): a change made before has been handed to the bus, which is then
// closed.
func (s *Service) StopSharing() {
	if sh := s.sharing.Load(); sh != nil {
		<-sh.done
	}
}

// publish asks for an event, without waiting.
func (sh *sharer) publish() {
	select {
	case sh.pending <- struct{}{}:
	default: // one is pending already, and is sent after this write
	}
}

func (sh *sharer) run(ctx context.Context, s *Service) {
	defer close(sh.done)
	tick := time.NewTicker(busCheckInterval)
	defer tick.Stop()
	wasUp := sh.bus.Available()
	for {
		select {
		case <-ctx.Done():
			// A write just before the stop still tells the others (the bus
			// sends what is queued when it is closed, after this).
			select {
			case <-sh.pending:
				_ = sh.bus.Publish(context.WithoutCancel(ctx), ChangedSubject, sh.payload)
			default:
			}
			return
		case <-tick.C:
			up := sh.bus.Available()
			if up && !wasUp {
				s.moveOn()
				sh.publish()
			}
			wasUp = up
			continue
		case <-sh.pending:
		}
		// While the bus is down, Publish hands the event to this replica
		// only, which skips it.
		_ = sh.bus.Publish(ctx, ChangedSubject, sh.payload)
	}
}

// SetReadLag tells the catalogue how far behind its writes its reads may
// be: the allowed lag of the read replicas its public reads go to (0, the
// default, when every read goes to the primary). Call it at start.
func (s *Service) SetReadLag(d time.Duration) { s.readLag = max(d, 0) }

// moveOn makes this replica's caches move on: the generation now, and
// again settleDelay and the read lag after the last change; the search
// index applies the outbox at once.
func (s *Service) moveOn() {
	s.generation.Add(1)
	if s.search != nil {
		s.search.Notify()
	}
	s.settleMu.Lock()
	defer s.settleMu.Unlock()
	if s.settle == nil {
		s.settle = time.AfterFunc(settleDelay+s.readLag, func() { s.generation.Add(1) })
	} else {
		s.settle.Reset(settleDelay + s.readLag)
	}
}

// settleState is the delayed second move of the generation.
type settleState struct {
	readLag  time.Duration
	settleMu sync.Mutex
	settle   *time.Timer
}
