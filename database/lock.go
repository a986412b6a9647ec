package database

import (
	"context"
	"database/sql"
	"fmt"

	"gorm.io/gorm"
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
