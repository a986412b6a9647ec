package bus

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// heldTransport is a transport whose health checks the test answers, one
// at a time.
type heldTransport struct {
	asked  chan struct{} // a check has begun
	answer chan bool
}

func (h *heldTransport) publish(context.Context, []wire) (int, error) { return 0, nil }
func (h *heldTransport) subscribe(string, Handler) error              { return nil }
func (h *heldTransport) close() error                                 { return nil }
func (h *heldTransport) healthy(ctx context.Context) bool {
	h.asked <- struct{}{}
	select {
	case ok := <-h.answer:
		return ok
	case <-ctx.Done():
		return false
	}
}

// A probe that began before the transport reported the connection lost
// must not mark the bus available when it ends: the loss stands until a
// probe begun after it succeeds.
func TestProbeDoesNotOverwriteLoss(t *testing.T) {
	h := &heldTransport{asked: make(chan struct{}), answer: make(chan bool)}
	b, _, err := newBus(Config{Kind: NATS, URL: "nats://unused", Key: DeriveKey(make([]byte, 16)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-h.asked; h.answer <- true }() // the check at start
	b.start(h, Config{ProbeInterval: 10 * time.Millisecond})
	t.Cleanup(func() {
		go func() {
			for range h.asked {
			}
		}()
		_ = b.Close()
		close(h.asked)
	})
	if !b.Available() {
		t.Fatal("not available after a healthy start")
	}

	<-h.asked             // a probe begins, on a connection that works
	b.setAvailable(false) // the connection is lost meanwhile
	h.answer <- true      // the probe ends: "healthy", as it was when it began
	<-h.asked             // the next probe has begun: the first one's result is in
	if b.Available() {
		t.Fatal("a probe begun before the loss marked the bus available after it")
	}
	h.answer <- true // a probe begun after the loss: the bus is back
	<-h.asked
	if !b.Available() {
		t.Fatal("a probe begun after the loss did not bring the bus back")
	}
	h.answer <- true
}

// stuckTransport is a transport whose sends wait until the test lets them
// go.
type stuckTransport struct {
	sending chan int // a send of this many events has begun
	release chan struct{}
}

func (s *stuckTransport) publish(_ context.Context, batch []wire) (int, error) {
	s.sending <- len(batch)
	<-s.release
	return len(batch), nil
}
func (s *stuckTransport) subscribe(string, Handler) error { return nil }
func (s *stuckTransport) healthy(context.Context) bool    { return true }
func (s *stuckTransport) close() error                    { return nil }

// A bus that cannot keep up costs the request nothing: once the queue is
// full, an event is delivered on this replica only, and counted.
func TestPublishQueueFull(t *testing.T) {
	st := &stuckTransport{sending: make(chan int, 100), release: make(chan struct{})}
	b, _, err := newBus(Config{Kind: Redis, URL: "redis://unused", Key: DeriveKey(make([]byte, 16)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b.start(st, Config{ProbeInterval: time.Hour, QueueSize: 10})
	local := 0
	if err := b.Subscribe("chat", func([]byte) { local++ }); err != nil { // delivered on this goroutine
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = b.Publish(ctx, "chat", []byte("first"))
	if n := <-st.sending; n != 1 {
		t.Fatalf("first send of %d events", n)
	}
	start := time.Now()
	for range 99 {
		_ = b.Publish(ctx, "chat", []byte("next"))
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("99 events behind a stuck send held the caller %v", took)
	}
	if b.dropped.Load() != 89 || local != 89 {
		t.Errorf("dropped %d, delivered locally %d: want the 89 that did not fit a queue of 10", b.dropped.Load(), local)
	}
	close(st.release)
	if n := <-st.sending; n != 10 {
		t.Errorf("the queued events went in a batch of %d, want 10", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b.published.Load() != 11 {
		t.Errorf("published %d, want 11", b.published.Load())
	}
}

// echoTransport fails every send, yet passes the events on (a send that
// timed out after the server had taken it): their copies come back later.
type echoTransport struct {
	h      Handler
	copies chan []byte
}

func (e *echoTransport) publish(_ context.Context, batch []wire) (int, error) {
	for _, m := range batch {
		e.copies <- m.data
	}
	return 0, context.DeadlineExceeded
}
func (e *echoTransport) subscribe(_ string, h Handler) error { e.h = h; return nil }
func (e *echoTransport) healthy(context.Context) bool        { return true }
func (e *echoTransport) close() error                        { return nil }

// An event whose send failed is delivered here instead; should the server
// have passed it on all the same, the copy that comes back is dropped, so
// this replica's subscribers get it once.
func TestFailedSendDeliveredOnce(t *testing.T) {
	et := &echoTransport{copies: make(chan []byte, 10)}
	b, _, err := newBus(Config{Kind: Redis, URL: "redis://unused", Key: DeriveKey(make([]byte, 16)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b.start(et, Config{ProbeInterval: time.Hour})
	t.Cleanup(func() { _ = b.Close() })
	got := make(chan string, 10)
	if err := b.Subscribe("chat", func(p []byte) { got <- string(p) }); err != nil {
		t.Fatal(err)
	}
	_ = b.Publish(context.Background(), "chat", []byte("line"))
	if p := <-got; p != "line" {
		t.Fatalf("delivered %q", p)
	}
	et.h(<-et.copies) // the server's copy, late
	select {
	case p := <-got:
		t.Fatalf("delivered twice: %q", p)
	case <-time.After(100 * time.Millisecond):
	}
	if b.Available() || b.fallbacks.Load() != 1 || b.received.Load() != 0 {
		t.Fatalf("available %v, fallbacks %d, received %d: want false, 1, 0", b.Available(), b.fallbacks.Load(), b.received.Load())
	}
}
