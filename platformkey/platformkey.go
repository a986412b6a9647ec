// Package platformkey keeps the platform's SM2 signing keys: made on first
// start, stored wrapped by the master key, rotatable. The newest key that is
// not retired signs; a retired key keeps verifying for a grace period, so
// what was signed just before a rotation stays valid for its lifetime.
//
// Replicas share the keys through the database. Each reloads them every
// refresh interval, at once when asked to verify under a key it does not
// know, and at once when another replica rotates them (ShareRotations,
// through the bus); a replica that missed that event may sign with a
// just-retired key for up to one interval, which the grace period allows
// for.
package platformkey

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"gorm.io/gorm"

	"govmobile/bus"
	"govmobile/database"
	"govmobile/gm"
	"govmobile/models"
)

// RefreshInterval is how often a replica rereads the keys.
const RefreshInterval = 30 * time.Second

// Key is one platform key.
type Key struct {
	ID           string
	Public       *ecdsa.PublicKey
	PublicKeyHex string
	CreatedAt    time.Time
	RetiredAt    *time.Time
	private      *sm2.PrivateKey
}

// Ring holds the platform keys.
type Ring struct {
	db     *gorm.DB
	master []byte
	grace  time.Duration
	now    func() time.Time

	mu       sync.RWMutex
	keys     []*Key // oldest first
	loadedAt time.Time
	missAt   time.Time // the last reload for an unknown key

	// bus tells the other replicas of rotations; nil until ShareRotations.
	bus *bus.Bus
}

// Open loads the keys, making the first on a database without one. grace
// is how long a retired key still verifies.
func Open(ctx context.Context, db *gorm.DB, master []byte, grace time.Duration) (*Ring, error) {
	r := &Ring{db: db, master: master, grace: grace + RefreshInterval, now: time.Now}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	if r.current() == nil {
		if _, err := r.add(ctx, false); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// reload reads every key from the database.
func (r *Ring) reload(ctx context.Context) error {
	var rows []models.PlatformKey
	if err := r.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return fmt.Errorf("load platform keys: %w", err)
	}
	keys := make([]*Key, 0, len(rows))
	for _, row := range rows {
		raw, err := gm.UnwrapKey(r.master, row.Wrapped)
		if err != nil {
			return fmt.Errorf("unwrap platform key %s (is this the master key the database was created with?): %w", row.KeyID, err)
		}
		priv, err := sm2.NewPrivateKey(raw)
		if err != nil {
			return fmt.Errorf("platform key %s: %w", row.KeyID, err)
		}
		keys = append(keys, &Key{ID: row.KeyID, Public: &priv.PublicKey, PublicKeyHex: row.PublicKey,
			CreatedAt: row.CreatedAt, RetiredAt: row.RetiredAt, private: priv})
	}
	r.mu.Lock()
	r.keys, r.loadedAt = keys, r.now()
	r.mu.Unlock()
	return nil
}

// Reload rereads the keys now (after a change made outside this process).
func (r *Ring) Reload(ctx context.Context) error { return r.reload(ctx) }

// fresh reloads the keys when the last load is older than RefreshInterval.
func (r *Ring) fresh(ctx context.Context) error {
	r.mu.RLock()
	stale := r.now().Sub(r.loadedAt) > RefreshInterval
	r.mu.RUnlock()
	if stale {
		return r.reload(ctx)
	}
	return nil
}

// current is the newest key not retired.
func (r *Ring) current() *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := len(r.keys) - 1; i >= 0; i-- {
		if r.keys[i].RetiredAt == nil {
			return r.keys[i]
		}
	}
	return nil
}

// add makes a new key; with retire, the keys before it are retired in the
// same transaction.
func (r *Ring) add(ctx context.Context, retire bool) (*Key, error) {
	priv, err := gm.GenerateSM2Key()
	if err != nil {
		return nil, err
	}
	wrapped, err := gm.WrapKey(r.master, priv.D.FillBytes(make([]byte, 32)))
	if err != nil {
		return nil, err
	}
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	now := r.now().UTC()
	row := models.PlatformKey{KeyID: hex.EncodeToString(id), Wrapped: wrapped, PublicKey: gm.SM2PublicKeyHex(&priv.PublicKey), CreatedAt: now}
	err = database.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		if retire {
			if err := tx.Model(&models.PlatformKey{}).Where("retired_at IS NULL").Update("retired_at", now).Error; err != nil {
				return err
			}
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store platform key: %w", err)
	}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	return r.Lookup(ctx, row.KeyID)
}

// Rotate makes a new signing key and retires the others; they verify for
// the grace period still.
func (r *Ring) Rotate(ctx context.Context) (*Key, error) {
	k, err := r.add(ctx, true)
	if err == nil {
		r.announce()
	}
	return k, err
}

// Current is the key that signs now.
func (r *Ring) Current(ctx context.Context) (*Key, error) {
	if err := r.fresh(ctx); err != nil {
		return nil, err
	}
	k := r.current()
	if k == nil {
		return nil, fmt.Errorf("no platform key")
	}
	return k, nil
}

// Sign signs msg with the key (SPEC §6: SM2 over SM3 with the default ID,
// DER).
func (k *Key) Sign(msg []byte) ([]byte, error) { return gm.SM2Sign(k.private, msg) }

// Verify checks sig over msg under the named key: false for an unknown
// key. retired reports a key retired longer ago than the grace period:
// what it signed is genuine but no longer valid.
func (r *Ring) Verify(ctx context.Context, keyID string, msg, sig []byte) (ok, retired bool, err error) {
	k, err := r.Lookup(ctx, keyID)
	if err != nil || k == nil {
		return false, false, err
	}
	retired = k.RetiredAt != nil && r.now().After(k.RetiredAt.Add(r.grace))
	return gm.SM2Verify(k.Public, msg, sig), retired, nil
}

// Lookup finds a key by ID, rereading the keys once if it is not known (a
// key made by another replica); nil if there is none. Unknown IDs reread
// at most once a second, so forged IDs cannot hammer the database.
func (r *Ring) Lookup(ctx context.Context, keyID string) (*Key, error) {
	if err := r.fresh(ctx); err != nil {
		return nil, err
	}
	if k := r.find(keyID); k != nil {
		return k, nil
	}
	r.mu.Lock()
	again := r.now().Sub(r.missAt) > time.Second
	if again {
		r.missAt = r.now()
	}
	r.mu.Unlock()
	if !again {
		return nil, nil
	}
	if err := r.reload(ctx); err != nil {
		return nil, err
	}
	return r.find(keyID), nil
}

func (r *Ring) find(keyID string) *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i := slices.IndexFunc(r.keys, func(k *Key) bool { return k.ID == keyID })
	if i < 0 {
		return nil
	}
	return r.keys[i]
}

// Keys lists the keys that still verify, newest first, for publishing to
// offline verifiers.
func (r *Ring) Keys(ctx context.Context) ([]*Key, error) {
	if err := r.fresh(ctx); err != nil {
		return nil, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*Key
	for i := len(r.keys) - 1; i >= 0; i-- {
		k := r.keys[i]
		if k.RetiredAt == nil || !r.now().After(k.RetiredAt.Add(r.grace)) {
			out = append(out, k)
		}
	}
	return out, nil
}
