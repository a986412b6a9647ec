package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"govmobile/models"
)

// startupLock names the MySQL lock that serialises migrations and first-start
// seeding across replicas starting at the same time.
const startupLock = "govmobile_startup"

// WithStartupLock runs fn while holding a database-wide lock, so that of
// several replicas starting at once on one MySQL database only one migrates
// and seeds, and the others then find the work done. SQLite serves a single
// process, whose writers the database file already serialises.
func WithStartupLock(ctx context.Context, db *gorm.DB, dialect Dialect, fn func() error) error {
	if dialect != MySQL {
		return fn()
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	// GET_LOCK belongs to a session: hold one connection for its lifetime.
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("startup lock: %w", err)
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 120)", startupLock).Scan(&got); err != nil {
		return fmt.Errorf("startup lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("startup lock: another replica held %q for 120 s", startupLock)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", startupLock)
	return fn()
}

// TryLease takes or renews the lease name for holder until now+ttl, and
// says whether holder has it: of several replicas asking, one at a time
// does, until it stops renewing and the lease runs out.
func TryLease(ctx context.Context, db *gorm.DB, name, holder string, ttl time.Duration) (bool, error) {
	db = db.WithContext(ctx)
	now := time.Now().UTC()
	until := now.Add(ttl)
	res := db.Model(&models.Lease{}).Where("name = ? AND (holder = ? OR expires_at < ?)", name, holder, now).
		Updates(map[string]any{"holder": holder, "expires_at": until})
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	err := db.Create(&models.Lease{Name: name, Holder: holder, ExpiresAt: until}).Error
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return false, nil // another holder has it
	default:
		return false, err
	}
}

// ReleaseLease gives a lease up, so another replica need not wait for it to
// run out.
func ReleaseLease(ctx context.Context, db *gorm.DB, name, holder string) error {
	return db.WithContext(ctx).Where("name = ? AND holder = ?", name, holder).Delete(&models.Lease{}).Error
}
