package bus_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"govmobile/bus"
)

// rawCapture listens on the bus server directly, as anyone holding its
// address and credentials can, and hands on what is published on subject.
func rawCapture(t *testing.T, kind, u, subject string) <-chan []byte {
	t.Helper()
	out := make(chan []byte, 16)
	switch kind {
	case bus.NATS:
		nc, err := nats.Connect(u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		if _, err := nc.Subscribe(subject, func(m *nats.Msg) {
			select {
			case out <- m.Data:
			default:
			}
		}); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	default:
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { _ = c.Close() })
		ps := c.Subscribe(context.Background(), subject)
		t.Cleanup(func() { _ = ps.Close() })
		if _, err := ps.Receive(context.Background()); err != nil { // the confirmation
			t.Fatal(err)
		}
		ch := ps.Channel()
		go func() {
			for m := range ch {
				select {
				case out <- []byte(m.Payload):
				default:
				}
			}
		}()
	}
	return out
}

// counter counts the payloads a subscriber receives.
func counter(t *testing.T, b *bus.Bus, subject string) func() int {
	t.Helper()
	c := count(t, b, subject)
	return func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.seen) + c.twice
	}
}

// The review's attack: whoever can publish on the bus server captures one
// genuine catalogue.changed (each copy accepted would move every replica's
// caches on and wake its search index) and publishes it again 1,000 times
// within the freshness window. The replica that published it, which had it
// already, refuses all 1,000; a replica that subscribed after it was sent,
// and so never had it, delivers it once and refuses 999. One warning is
// logged, without the payload.
func TestReplayRefused(t *testing.T) {
	const copies = 1000
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			p := prefix(t)
			var logA, logB logBuffer
			a := open(t, bus.Config{Kind: kind, URL: u, Prefix: p, Logger: logA.logger()})
			onA := counter(t, a, "catalogue.changed")
			waitFor(t, "subscribed", a.Available)
			captured := rawCapture(t, kind, u, p+".catalogue.changed")
			time.Sleep(200 * time.Millisecond)
			const payload = `{"origin":"SECRET-ORIGIN"}`
			_ = a.Publish(context.Background(), "catalogue.changed", []byte(payload))
			var ev []byte
			select {
			case ev = <-captured:
			case <-time.After(5 * time.Second):
				t.Fatal("nothing captured")
			}
			waitFor(t, "delivered on A", func() bool { return onA() == 1 })

			b := open(t, bus.Config{Kind: kind, URL: u, Prefix: p, Logger: logB.logger()})
			onB := counter(t, b, "catalogue.changed")
			waitFor(t, "subscribed", b.Available)
			time.Sleep(200 * time.Millisecond)
			publish := rawPublisher(t, kind, u)
			start := time.Now()
			for range copies {
				publish(p+".catalogue.changed", ev)
			}
			replays := func(r *bus.Bus) float64 { return metrics(t, r)["govmobile_bus_rejected_total"]["replay"] }
			waitFor(t, "every copy received", func() bool { return replays(a) == copies && replays(b) == copies-1 })
			t.Logf("%s: %d copies of one event replayed in %v: A refused %v, B delivered %d and refused %v",
				kind, copies, time.Since(start).Round(time.Millisecond), replays(a), onB(), replays(b))
			time.Sleep(200 * time.Millisecond)
			if onA() != 1 || onB() != 1 {
				t.Errorf("delivered %d times on A and %d on B, want once each", onA(), onB())
			}
			for name, l := range map[string]*logBuffer{"A": &logA, "B": &logB} {
				logged := l.String()
				if n := strings.Count(logged, "重放"); n != 1 || strings.Contains(logged, "SECRET") {
					t.Errorf("%s logged %d warnings about replays (want 1, at most one a minute, without the payload):\n%s", name, n, logged)
				}
			}
			if r := metrics(t, b)["govmobile_bus_received_total"][""]; r != 1 {
				t.Errorf("B's govmobile_bus_received_total: %v, want 1", r)
			}
		})
	}
}

// Events of one sender that arrive out of order (a Redis pipeline sent
// again after a failure) are each delivered once, within replayWindow
// (1,024) of the highest sequence seen; a second copy of any is refused,
// and so is one older than the window.
func TestReorderedDeliveredOnce(t *testing.T) {
	const n = 1000
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			p := prefix(t)
			a := open(t, bus.Config{Kind: kind, URL: u, Prefix: p})
			got := count(t, a, "msg.user")
			waitFor(t, "subscribed", a.Available)
			time.Sleep(200 * time.Millisecond)
			publish := rawPublisher(t, kind, u)
			subject := p + ".msg.user"
			from := newSender()
			event := func(seq uint64) []byte {
				return bus.Seal(testKey, subject, fmt.Appendf(nil, "event %d", seq), time.Now(), from, seq)
			}
			order := rand.Perm(n)
			for _, i := range order {
				publish(subject, event(uint64(i+1)))
			}
			for _, i := range order[:n/2] { // copies of half of them, in another order
				publish(subject, event(uint64(n-i)))
			}
			// Far ahead, then just inside the window behind it, then just
			// outside.
			publish(subject, event(5000))
			publish(subject, event(5000-1023))
			publish(subject, event(5000-1024))
			got.wait(t, "the subscriber", n+2)
			if r := metrics(t, a)["govmobile_bus_rejected_total"]["replay"]; r != n/2+1 {
				t.Errorf("refused %v as replays, want %d", r, n/2+1)
			}
		})
	}
}
