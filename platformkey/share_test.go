package platformkey_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

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
	db, _, err := database.Open(database.Config{DSN: "sqlite://" + filepath.Join(t.TempDir(), "keys.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	master := gm.GenerateKey(gm.KeySize)
	b := bus.NewLocal()
	rings := make([]*platformkey.Ring, 2)
	for i := range rings {
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
