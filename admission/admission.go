// Package admission bounds how many GraphQL operations execute at once
// (issue 9's load work): the rest wait their turn, first come first served.
//
// On a saturated CPU, operations executing side by side share it: one
// needing a millisecond of CPU among sixty others takes sixty, and the
// costly kinds (a search, a submission) make the tail. Admitted a few at a
// time, each runs at nearly full speed after a wait that is about the same
// for every kind, and memory stays bounded under any load.
//
// A turn is for using the CPU and the database. An operation that waits on
// another system — a payment channel, a courier, an app's source interface —
// gives its turn to the next operation while it waits (Transport), so slow
// outside systems never hold up the platform's own work.
package admission

import (
	"context"
	"net/http"
	"sync"
)

// Gate hands out turns; at most its limit are held at once.
type Gate struct {
	slots chan struct{}
}

// New returns a gate of limit turns.
func New(limit int) *Gate { return &Gate{slots: make(chan struct{}, limit)} }

type holderKey struct{}

// holder is an admitted operation's turn, given back while the operation
// waits on other systems (several calls may be in flight at once).
type holder struct {
	gate    *Gate
	mu      sync.Mutex
	waiting int // outside calls in flight
}

// Enter waits for a turn until ctx ends. It reports whether the turn was
// waited for; leave gives the turn back.
func (g *Gate) Enter(ctx context.Context) (admitted context.Context, waited bool, leave func(), err error) {
	select {
	case g.slots <- struct{}{}:
	default:
		waited = true
		select {
		case g.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx, waited, nil, ctx.Err()
		}
	}
	h := &holder{gate: g}
	return context.WithValue(ctx, holderKey{}, h), waited, func() { <-g.slots }, nil
}

// stepOut gives the turn back while the first of the operation's outside
// calls is in flight.
func (h *holder) stepOut() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waiting++
	if h.waiting == 1 {
		<-h.gate.slots
	}
}

// stepIn takes a turn again when the last outside call has returned. It
// waits its turn as a new operation does, whatever its context says: the
// operation must hold a turn for its leave to give back.
func (h *holder) stepIn() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waiting--
	if h.waiting == 0 {
		h.gate.slots <- struct{}{}
	}
}

// Transport makes an HTTP client give the operation's turn back while it
// waits for the other side (requests made outside an admitted operation
// pass through unchanged).
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{next}
}

type roundTripper struct{ next http.RoundTripper }

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	h, _ := r.Context().Value(holderKey{}).(*holder)
	if h == nil {
		return t.next.RoundTrip(r)
	}
	h.stepOut()
	defer h.stepIn()
	return t.next.RoundTrip(r)
}
