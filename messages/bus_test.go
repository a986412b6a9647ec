package messages_test

import (
	"context"
	"testing"

	"govmobile/messages"
	"govmobile/models"
)

func TestListenersPerUserAreBounded(t *testing.T) {
	bus, err := messages.NewBus(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, cancelFirst := context.WithCancel(ctx)
	ch, err := bus.Listen(first, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < messages.MaxListeners; i++ {
		if _, err := bus.Listen(ctx, 7); err != nil {
			t.Fatalf("listener %d: %v", i+1, err)
		}
	}
	if _, err := bus.Listen(ctx, 7); models.ErrorCode(err) != models.ECodeRateLimited {
		t.Fatalf("one listener too many: %v", err)
	}
	if _, err := bus.Listen(ctx, 8); err != nil {
		t.Fatalf("another user is not limited by the first: %v", err)
	}
	cancelFirst()
	for range ch { // closed once the listener is gone
	}
	if _, err := bus.Listen(ctx, 7); err != nil {
		t.Fatalf("a listener after one ended: %v", err)
	}
}
