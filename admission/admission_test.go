package admission

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTurnsAreBoundedAndFirstComeFirstServed: with one turn, a second
// operation waits until the first leaves; a third that gives up on its
// deadline is refused and takes nothing.
func TestTurnsAreBoundedAndFirstComeFirstServed(t *testing.T) {
	g := New(1)
	_, waited, leave1, err := g.Enter(context.Background())
	if err != nil || waited {
		t.Fatalf("first: waited %v, %v", waited, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, waited, _, err := g.Enter(ctx); err == nil || !waited {
		t.Fatalf("a turn past the bound: waited %v, %v", waited, err)
	}
	got := make(chan struct{})
	go func() {
		_, waited, leave, err := g.Enter(context.Background())
		if err != nil || !waited {
			t.Errorf("second: waited %v, %v", waited, err)
		}
		leave()
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("the second operation ran while the first held the only turn")
	case <-time.After(30 * time.Millisecond):
	}
	leave1()
	select {
	case <-got:
	case <-time.After(time.Second):
		t.Fatal("the second operation never got the turn")
	}
}

// TestOutsideCallsGiveTheTurnAway: while an admitted operation waits on
// another system, the next operation runs; when the call returns, the
// first takes a turn again.
func TestOutsideCallsGiveTheTurnAway(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	client := &http.Client{Transport: Transport(nil)}

	g := New(1)
	ctx, _, leave1, err := g.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	called := make(chan struct{})
	go func() {
		defer close(called)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, slow.URL, nil)
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	// Another operation gets the turn while the call is in flight.
	ctx2, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _, leave2, err := g.Enter(ctx2)
	if err != nil {
		t.Fatalf("no turn while the first operation waited on another system: %v", err)
	}
	close(release)
	// The first operation's call cannot return to it until a turn is free.
	select {
	case <-called:
		t.Fatal("the call returned without a turn to return to")
	case <-time.After(30 * time.Millisecond):
	}
	leave2()
	select {
	case <-called:
	case <-time.After(2 * time.Second):
		t.Fatal("the call never got its turn back")
	}
	leave1()
	if len(g.slots) != 0 {
		t.Fatalf("%d turns still held", len(g.slots))
	}
}
