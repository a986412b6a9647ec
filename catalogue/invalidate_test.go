package catalogue

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"govmobile/bus"
)

// replica is a catalogue service without a database: enough for its
// generation, which is all ShareChanges moves.
func replica(t *testing.T, ctx context.Context, b *bus.Bus) *Service {
	s := &Service{}
	s.generation.Store(1)
	if err := s.ShareChanges(ctx, b); err != nil {
		t.Fatal(err)
	}
	return s
}

// moves waits up to d for s's generation to pass from.
func moves(s *Service, from uint64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for s.Generation() == from {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// TestChangesCrossReplicas: two replicas on one bus (the in-process bus
// delivers to both, as a shared one does). A change moves the writer's
// generation at once and the other's when the event arrives; the writer
// skips its own event; both move on once more after settleDelay.
func TestChangesCrossReplicas(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := bus.NewLocal()
	a, other := replica(t, ctx, b), replica(t, ctx, b)
	start := time.Now()
	a.Changed()
	if a.Generation() != 2 {
		t.Fatalf("the writer's generation %d, want 2 at once", a.Generation())
	}
	if !moves(other, 1, 500*time.Millisecond) {
		t.Fatal("the other replica's generation did not move")
	}
	// Before the settling move, the writer is where its own change put it:
	// its event came back and was skipped.
	if time.Since(start) < settleDelay/2 && a.Generation() != 2 {
		t.Fatalf("the writer moved on its own event: generation %d", a.Generation())
	}
	g := other.Generation()
	if !moves(other, g, settleDelay+time.Second) || !moves(a, 2, time.Second) {
		t.Fatal("no settling move after the change")
	}
}

// TestChangedWithTheBusDown: with the shared bus unreachable, a write
// neither fails nor waits, and this replica still moves on.
func TestChangedWithTheBusDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Nothing listens on port 1: the bus starts unavailable.
	b, err := bus.New(bus.Config{Kind: bus.NATS, URL: "nats://127.0.0.1:1", Key: bus.DeriveKey(make([]byte, 16)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := replica(t, ctx, b)
	start := time.Now()
	const writes = 1000
	for range writes {
		s.Changed()
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("%d writes took %v with the bus down", writes, took)
	}
	if g := s.Generation(); g < writes+1 {
		t.Fatalf("generation %d after %d writes", g, writes)
	}
}
