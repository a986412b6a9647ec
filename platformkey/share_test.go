package platformkey_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"govmobile/bus"
	"govmobile/database"
	"govmobile/gm"
	"govmobile/platformkey"
)

// TestRotationCrossesReplicas: two replicas' rings on one database and one
// bus (the in-process bus reaches both, as a shared one does). A rotation
// on one is listed by the other at once, not after RefreshInterval, and the
// other signs with the new key.
func TestRotationCrossesReplicas(t *testing.T) {
	ctx := context.Background()
	db := keysDB(t)
	master := gm.GenerateKey(gm.KeySize)
	b := bus.NewLocal()
	rings := make([]*platformkey.Ring, 2)
	for i := range rings {
		var err error
		if rings[i], err = platformkey.Open(ctx, db, master, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := rings[i].ShareRotations(b); err != nil {
			t.Fatal(err)
		}
	}
	k, err := rings[0].Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		keys, err := rings[1].Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := rings[1].Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(keys, func(x *platformkey.Key) bool { return x.ID == k.ID }) && cur.ID == k.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other replica does not know the rotated key 2 s later (it would after %v)", platformkey.RefreshInterval)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Every rotation event makes a replica reread the keys; a flood of them (a
// captured event replayed on the bus server, or a burst of rotations)
// costs at most one reread running and one more after it, not a goroutine
// and a database query each. 1,000 events that arrive while a reread runs
// make exactly one more.
func TestRotationEventsCoalesced(t *testing.T) {
	ctx := context.Background()
	db := keysDB(t)
	ring, err := platformkey.Open(ctx, db, gm.GenerateKey(gm.KeySize), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := bus.NewLocal()
	if err := ring.ShareRotations(b); err != nil {
		t.Fatal(err)
	}

	// The rereads, seen from the database: the first is held until every
	// event has arrived.
	var mu sync.Mutex
	reads, running, most := 0, 0, 0
	first, release := make(chan struct{}), make(chan struct{})
	if err := db.Callback().Query().Before("gorm:query").Register("test:reread", func(tx *gorm.DB) {
		if tx.Statement.Table != "platform_keys" {
			return
		}
		mu.Lock()
		reads++
		running++
		most = max(most, running)
		n := reads
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Callback().Query().After("gorm:query").Register("test:reread done", func(tx *gorm.DB) {
		if tx.Statement.Table == "platform_keys" {
			mu.Lock()
			running--
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	state := func() (int, int, int) {
		mu.Lock()
		defer mu.Unlock()
		return reads, running, most
	}

	const events = 1000
	_ = b.Publish(ctx, platformkey.RotatedSubject, []byte("{}"))
	<-first
	for range events - 1 {
		_ = b.Publish(ctx, platformkey.RotatedSubject, []byte("{}"))
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, r, _ := state(); n >= 2 && r == 0 {
			break
		}
		if time.Now().After(deadline) {
			n, r, _ := state()
			t.Fatalf("%d rereads, %d running, 5 s after the events", n, r)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // nothing more comes
	if n, _, m := state(); n != 2 || m != 1 {
		t.Fatalf("%d rotation events made %d rereads, at most %d at once: want 2, one at a time", events, n, m)
	}
}

// keysDB is a fresh, migrated SQLite database of the test's own.
func keysDB(t *testing.T) *gorm.DB {
	t.Helper()
	db, _, err := database.Open(database.Config{DSN: "sqlite://" + filepath.Join(t.TempDir(), "keys.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := database.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}
