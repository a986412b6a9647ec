package platformkey

import (
	"context"
	"time"

	"govmobile/bus"
)

// RotatedSubject is the bus subject of key rotations; its payload is
// empty. A replica that hears one rereads the keys at once, so that it
// lists the new key for offline verifiers (and stops signing with the
// retired one) within the bus's latency rather than RefreshInterval; a
// rotation event lost on the way leaves RefreshInterval as the bound.
const RotatedSubject = "platformkey.rotated"

// ShareRotations tells the other replicas of rotations made on this one
// through b, and rereads the keys when another replica rotates. Call it
// once at start, before serving.
func (r *Ring) ShareRotations(b *bus.Bus) error {
	if err := b.Subscribe(RotatedSubject, func([]byte) {
		// The handler runs on the bus's delivery goroutine: the reread
		// (a database query) does not. An error keeps the keys as they
		// were until the next refresh.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = r.reload(ctx)
		}()
	}); err != nil {
		return err
	}
	r.bus = b
	return nil
}

// announce publishes a rotation; the bus does not hold up the
// administrator's request, and an event it cannot send is only lost.
func (r *Ring) announce() {
	if r.bus != nil {
		_ = r.bus.Publish(context.Background(), RotatedSubject, []byte("{}"))
	}
}
