package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"govmobile/bus"
)

// tally counts the distinct payloads a subscriber receives, and any
// received twice.
type tally struct {
	mu    sync.Mutex
	seen  map[string]bool
	twice int
}

func count(t *testing.T, b *bus.Bus, subject string) *tally {
	t.Helper()
	c := &tally{seen: map[string]bool{}}
	if err := b.Subscribe(subject, func(p []byte) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.seen[string(p)] {
			c.twice++
		}
		c.seen[string(p)] = true
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *tally) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *tally) wait(t *testing.T, who string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.n() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // nothing more, nothing twice
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) != want || c.twice > 0 {
		t.Fatalf("%s received %d distinct events (%d twice), want %d once each", who, len(c.seen), c.twice, want)
	}
}

// The messages to a matter's 1,000 followers, published from one call
// (messages.Service.Publish after the transaction), cost the request no
// round trip each: Publish queues, and the bus sends in the background,
// pipelined. All arrive on another replica, once each, and so do those
// still queued when the publishing replica closes.
func TestPublishQueued(t *testing.T) {
	const n = 1000
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			p := prefix(t)
			a, b := open(t, bus.Config{Kind: kind, URL: u, Prefix: p}), open(t, bus.Config{Kind: kind, URL: u, Prefix: p})
			onA, onB := count(t, a, "msg.user"), count(t, b, "msg.user")
			waitFor(t, "subscribed", func() bool { return a.Available() && b.Available() })
			time.Sleep(200 * time.Millisecond)
			ctx := context.Background()
			start := time.Now()
			for i := range n {
				_ = a.Publish(ctx, "msg.user", fmt.Appendf(nil, `{"UserID":%d,"Title":"订阅的事项有更新"}`, i+1))
			}
			took := time.Since(start)
			t.Logf("%s: %d events published in %v (%v each)", kind, n, took.Round(time.Microsecond), (took / n).Round(100*time.Nanosecond))
			// Queueing takes microseconds an event (logged above); the
			// bound only catches a publish that waits on the network
			// again, and leaves room for a loaded CI machine.
			if took > 2*time.Second {
				t.Errorf("publishing %d events held the caller %v", n, took)
			}
			onB.wait(t, "the other replica", n)
			onA.wait(t, "the publishing replica", n)
			if m := metrics(t, a); m["govmobile_bus_published_total"][""] != n || m["govmobile_bus_dropped_total"][""] != 0 {
				t.Errorf("published %v, dropped %v: want %d and 0", m["govmobile_bus_published_total"], m["govmobile_bus_dropped_total"], n)
			}

			// Closed right after publishing: what is queued is sent first.
			for i := range n {
				_ = a.Publish(ctx, "msg.user", fmt.Appendf(nil, "closing %d", i))
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			onB.wait(t, "the other replica, after the first closed", 2*n)
		})
	}
}
