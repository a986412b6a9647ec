package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"govmobile/gm"
	"govmobile/models"

	"gorm.io/gorm"
)

// Names of the keys kept wrapped in key_materials.
const (
	dataKeyName = "pii-data-key"
	hmacKeyName = "pii-hmac-key"
)

// LoadKeyring unwraps the personal-data keys with the master key, creating
// them on first start. Replicas sharing a database and a master key file
// share the keys; whichever creates them first wins, the others read them.
func LoadKeyring(ctx context.Context, db *gorm.DB, master []byte) (*gm.Keyring, error) {
	dataKey, err := loadOrCreateKey(ctx, db, master, dataKeyName, gm.KeySize)
	if err != nil {
		return nil, err
	}
	hmacKey, err := loadOrCreateKey(ctx, db, master, hmacKeyName, gm.HMACKeySize)
	if err != nil {
		return nil, err
	}
	return gm.NewKeyring(dataKey, hmacKey)
}

func loadOrCreateKey(ctx context.Context, db *gorm.DB, master []byte, name string, size int) ([]byte, error) {
	db = db.WithContext(ctx)
	var km models.KeyMaterial
	err := db.Where("name = ?", name).Take(&km).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		wrapped, werr := gm.WrapKey(master, gm.GenerateKey(size))
		if werr != nil {
			return nil, werr
		}
		km = models.KeyMaterial{Name: name, Wrapped: wrapped, CreatedAt: time.Now().UTC()}
		if err = db.Create(&km).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
			err = db.Where("name = ?", name).Take(&km).Error
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", name, err)
	}
	key, err := gm.UnwrapKey(master, km.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrap key %s (is this the master key the database was created with?): %w", name, err)
	}
	return key, nil
}

// EnsureAdmin creates the bootstrap super-admin "admin" on first start
// (SPEC §2). It reports whether it created one.
func EnsureAdmin(ctx context.Context, db *gorm.DB, password string) (bool, error) {
	var n int64
	if err := db.WithContext(ctx).Model(&models.Admin{}).Where("username = ?", "admin").Count(&n).Error; err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	hash, err := gm.PasswordHash(password)
	if err != nil {
		return false, err
	}
	a := &models.Admin{Username: "admin", PasswordHash: hash, SuperAdmin: true, CreatedAt: time.Now().UTC()}
	if err := db.WithContext(ctx).Create(a).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
