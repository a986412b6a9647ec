package admission

import (
	"context"
	"testing"
	"time"
)

// TestTurnsAreBoundedAndWaitsAreShort: with one turn, a second operation
// waits until the first leaves; one that cannot get a turn within the
// longest wait runs over the bound; one whose context ends first is
// refused; every turn taken is given back.
func TestTurnsAreBoundedAndWaitsAreShort(t *testing.T) {
	g := New(1, 200*time.Millisecond)
	how, leave1, err := g.Enter(context.Background())
	if err != nil || how != Immediate {
		t.Fatalf("first: %v, %v", how, err)
	}
	// A context ending before the longest wait: refused.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := g.Enter(ctx); err == nil {
		t.Fatal("an operation whose deadline passed in line was admitted")
	}
	// The first leaves while the second waits: the second gets the turn.
	got := make(chan Admission)
	go func() {
		how, leave, err := g.Enter(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- how
		leave()
	}()
	time.Sleep(30 * time.Millisecond)
	leave1()
	if how := <-got; how != Waited {
		t.Fatalf("second: %v, want Waited", how)
	}
	// Nobody leaves: after the longest wait, the operation runs anyway.
	_, leave3, _ := g.Enter(context.Background())
	start := time.Now()
	how, leave4, err := g.Enter(context.Background())
	if err != nil || how != Overflow || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("over the bound: %v after %s, %v", how, time.Since(start), err)
	}
	leave4()
	if g.Held() != 1 {
		t.Fatalf("an overflowing operation took or gave a turn: %d held", g.Held())
	}
	leave3()
	if g.Held() != 0 {
		t.Fatalf("%d turns still held", g.Held())
	}
}
