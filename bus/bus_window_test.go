package bus

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// The window of one sender on one subject: each sequence is admitted once,
// in any order within replayWindow of the highest seen, and never below it.
func TestWindow(t *testing.T) {
	type step struct {
		seq  uint64
		want bool
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{1, true}, {2, true}, {3, true}, {3, false}, {1, false}}},
		{"first seen anywhere", []step{{5000, true}, {5000, false}, {4999, true}, {5000 - 1023, true}, {5000 - 1024, false}}},
		{"reordered", []step{{3, true}, {1, true}, {2, true}, {1, false}, {2, false}, {3, false}, {4, true}}},
		{"a word boundary", []step{{63, true}, {64, true}, {65, true}, {63, false}, {64, false}, {128, true}, {127, true}, {127, false}}},
		{"the window slides", []step{{1, true}, {1024, true}, {1025, true}, {1, false}, {2, true}, {2, false}, {1025 + 1023, true}, {1026, true}, {1024, false}}},
		{"a jump past the window forgets what was seen", []step{{10, true}, {10 + 5000, true}, {10, false}, {10 + 5000 - 1, true}, {10 + 5000, false}}},
		{"a jump of exactly the words held", []step{{64, true}, {64 + 17*64, true}, {64 + 17*64 - 1, true}, {64 + 16*64, true}, {64 + 16*64, false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w window
			for i, s := range c.steps {
				if got := w.admit(s.seq); got != s.want {
					t.Fatalf("step %d: admit(%d) = %v, want %v", i, s.seq, got, s.want)
				}
			}
		})
	}
}

// Every sequence in a long run with local shuffling is admitted exactly
// once, against a plain set.
func TestWindowAgainstSet(t *testing.T) {
	var w window
	seen := map[uint64]bool{}
	top := uint64(0)
	x := uint64(88172645463325252)
	for range 200000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		seq := top + 1 + x%8
		if x%3 == 0 && top > 2000 {
			seq = top - x%2000 // sometimes behind, inside or outside the window
		}
		top = max(top, seq)
		want := !seen[seq] && top-seq < replayWindow
		if got := w.admit(seq); got != want {
			t.Fatalf("admit(%d) with top %d = %v, want %v", seq, top, got, want)
		}
		if want {
			seen[seq] = true
		}
	}
}

// The senders remembered are bounded: at most max, the one heard from
// longest ago forgotten first, and those idle for twice Freshness
// forgotten (their events are stale by then).
func TestSenderTableBounded(t *testing.T) {
	const max = 4096
	r := &replays{max: max}
	id := func(i int) (s senderID) {
		binary.BigEndian.PutUint64(s[:], uint64(i))
		return s
	}
	t0 := time.Now()
	// 10,000 senders within a minute (a restart loop, say), one event each.
	for i := range 10000 {
		at := t0.Add(time.Duration(i) * 5 * time.Millisecond)
		if !r.admit(id(i), "chat", 1, at) {
			t.Fatalf("sender %d's first event refused", i)
		}
		if n := r.len(); n > max {
			t.Fatalf("%d senders remembered, more than %d", n, max)
		}
	}
	now := t0.Add(10000 * 5 * time.Millisecond)
	if r.len() != max {
		t.Fatalf("%d senders remembered, want %d", r.len(), max)
	}
	// The newest are remembered: their replays refused. The oldest were
	// forgotten.
	for _, i := range []int{9999, 10000 - max} {
		if r.admit(id(i), "chat", 1, now) {
			t.Errorf("a replay of sender %d's event admitted", i)
		}
	}
	if !r.admit(id(0), "chat", 1, now) {
		t.Error("the sender heard from longest ago is still remembered")
	}
	// Idle for twice Freshness: forgotten when the next sender comes.
	later := now.Add(senderIdle + time.Second)
	r.admit(id(-1), "chat", 1, later)
	if n := r.len(); n != 1 {
		t.Errorf("%d senders remembered after every other was idle for %v, want 1", n, senderIdle)
	}
}

// A replay of the copy of a failed send (dropped once, as the echo of an
// event delivered here) is refused as a replay.
func TestEchoReplayed(t *testing.T) {
	et := &echoTransport{copies: make(chan []byte, 10)}
	b, _, err := newBus(Config{Kind: NATS, URL: "nats://unused", Key: DeriveKey(make([]byte, 16)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b.start(et, Config{ProbeInterval: time.Hour})
	t.Cleanup(func() { _ = b.Close() })
	var got atomic.Int32 // delivered locally on the sending goroutine
	if err := b.Subscribe("chat", func([]byte) { got.Add(1) }); err != nil {
		t.Fatal(err)
	}
	_ = b.Publish(context.Background(), "chat", []byte("line"))
	waitUntil(t, func() bool { return got.Load() == 1 }) // after the echo is recorded
	copied := <-et.copies
	for range 3 {
		et.h(copied)
	}
	if got.Load() != 1 || b.received.Load() != 0 || b.rejected[rejectReplay].Load() != 2 {
		t.Fatalf("delivered %d, received %d, refused as replays %d: want 1, 0, 2", got.Load(), b.received.Load(), b.rejected[rejectReplay].Load())
	}
}

// An event larger than MaxPayload, which every replica would refuse, is
// not sent: it is delivered here, and counted as dropped.
func TestOversizedPublishedLocally(t *testing.T) {
	st := &stuckTransport{sending: make(chan int, 10), release: make(chan struct{})}
	close(st.release)
	b, _, err := newBus(Config{Kind: Redis, URL: "redis://unused", Key: DeriveKey(make([]byte, 16)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b.start(st, Config{ProbeInterval: time.Hour})
	local := 0
	if err := b.Subscribe("chat", func([]byte) { local++ }); err != nil {
		t.Fatal(err)
	}
	_ = b.Publish(context.Background(), "chat", make([]byte, MaxPayload+1))
	_ = b.Publish(context.Background(), "chat", make([]byte, MaxPayload))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if local != 1 || b.dropped.Load() != 1 || b.published.Load() != 1 || len(st.sending) != 1 {
		t.Fatalf("delivered locally %d, dropped %d, published %d in %d sends: want 1, 1, 1, 1",
			local, b.dropped.Load(), b.published.Load(), len(st.sending))
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("not within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkAcceptReplay is the cost to a replica of one replayed copy of
// a genuine catalogue.changed: its tag checked, its sequence found seen.
func BenchmarkAcceptReplay(b *testing.B) {
	bus, _, err := newBus(Config{Kind: NATS, URL: "nats://unused", Key: DeriveKey(make([]byte, 16)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	subject := bus.subject("catalogue.changed")
	ev := seal(bus.key, subject, []byte(`{"origin":"0123456789abcdef"}`), time.Now(), senderID{1}, 1)
	bus.accept(subject, ev)
	for b.Loop() {
		bus.accept(subject, ev)
	}
	if bus.rejected[rejectReplay].Load() == 0 {
		b.Fatal("not refused as a replay")
	}
}
