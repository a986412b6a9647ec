// Package admission bounds how many GraphQL operations execute at once
// (issue 9's load work): beyond the bound, an operation waits its turn,
// first come first served — but never longer than a short wait, after which
// it runs anyway, over the bound.
//
// On a saturated CPU, operations executing side by side share it: one
// needing a millisecond of CPU among sixty others takes sixty, and the
// costly kinds (a search, a submission) make the tail. Admitted a few at a
// time, each runs at nearly full speed after a short wait in line that is
// about the same for every kind.
//
// The wait is bounded because a turn is also held while an operation waits
// on something else — the database's write lock, a payment channel, a
// courier, an app's source interface. Were turns strict, a few slow outside
// systems, or one administrator's heavy operations, could stall everyone;
// bounded, they cost the others at most the wait. Outside calls are timed
// as they are, with no wait for a turn inside them.
package admission

import (
	"context"
	"time"
)

// Gate hands out turns; at most its limit are held at once, and an
// operation waits at most maxWait for one.
type Gate struct {
	slots   chan struct{}
	maxWait time.Duration
}

// New returns a gate of limit turns and a longest wait.
func New(limit int, maxWait time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, limit), maxWait: maxWait}
}

// Admission says how an operation got in.
type Admission int

// How an operation got in.
const (
	Immediate Admission = iota // a turn was free
	Waited                     // it waited for a turn
	Overflow                   // it waited maxWait and runs over the bound
)

// Enter admits an operation: at once when a turn is free, else when one
// frees up, else after maxWait over the bound. It fails only when ctx ends
// first. leave ends the operation's turn (if it had one).
func (g *Gate) Enter(ctx context.Context) (how Admission, leave func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return Immediate, g.leave, nil
	default:
	}
	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return Waited, g.leave, nil
	case <-timer.C:
		return Overflow, func() {}, nil
	case <-ctx.Done():
		return Immediate, nil, ctx.Err()
	}
}

func (g *Gate) leave() { <-g.slots }

// Held is the number of turns held now.
func (g *Gate) Held() int { return len(g.slots) }
