package platformkey

import (
	"context"
	"sync"
	"time"

	"govmobile/bus"
)

// RotatedSubject is the bus subject of key rotations; its payload is
// empty. A replica that hears one rereads the keys at once, so that it
// lists the new key for offline verifiers (and stops signing with the
// retired one) within the bus's latency rather than RefreshInterval; a
// rotation event lost on the way leaves RefreshInterval as the bound.
const RotatedSubject = "platformkey.rotated"

// rereads runs the rereads that rotation events ask for: one at a time,
// and at most one more after it however many events come meanwhile (it
// reads every rotation made before it starts). A burst of events, or a
// flood, costs two database queries, not one goroutine and query each.
type rereads struct {
	mu      sync.Mutex
	running bool
	pending bool
}

// ask asks for a reread, without waiting: one starts now, or after the
// one running.
func (q *rereads) ask(r *Ring) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running {
		q.pending = true
		return
	}
	q.running = true
	go q.run(r)
}

func (q *rereads) run(r *Ring) {
	for {
		// An error keeps the keys as they were until the next refresh.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = r.reload(ctx)
		cancel()
		q.mu.Lock()
		if !q.pending {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.pending = false
		q.mu.Unlock()
	}
}

// ShareRotations tells the other replicas of rotations made on this one
// through b, and rereads the keys when another replica rotates. Call it
// once at start, before serving.
func (r *Ring) ShareRotations(b *bus.Bus) error {
	// The handler runs on the bus's delivery goroutine: the reread (a
	// database query) does not.
	q := &rereads{}
	if err := b.Subscribe(RotatedSubject, func([]byte) { q.ask(r) }); err != nil {
		return err
	}
	r.bus = b
	return nil
}

// announce publishes a rotation; the bus does not hold up the
// administrator's request, and an event it cannot send is only lost.
func (r *Ring) announce() {
	if r.bus != nil {
		_ = r.bus.Publish(context.Background(), RotatedSubject, []byte("{}"))
	}
}
