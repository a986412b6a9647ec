package analytics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"govmobile/database"
	"govmobile/models"
)

// The database tests run on SQLite always, and on MariaDB/MySQL as well when
// TEST_MYSQL_DSN is set (a go-sql-driver DSN). That database is shared with
// other suites, so these tests create their own tables under a random
// prefix and drop only those.

var quiet = slog.New(slog.NewTextHandler(logOut(), nil))

func logOut() io.Writer {
	if os.Getenv("TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

func tables() []any { return append([]any{&models.Lease{}}, models.AnalyticsTables...) }

func openSQLite(t testing.TB) *gorm.DB {
	t.Helper()
	db, _, err := database.Open(database.Config{DSN: "sqlite://" + filepath.Join(t.TempDir(), "a.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(tables()...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

func openMySQL(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, _, err := database.Open(database.Config{DSN: "mysql://" + dsn, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	// Set before any model is parsed: the schema cache then holds the
	// prefixed names.
	db.NamingStrategy = schema.NamingStrategy{TablePrefix: "analytics_" + hex.EncodeToString(b) + "_"}
	if err := db.AutoMigrate(tables()...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Migrator().DropTable(tables()...); err != nil {
			t.Errorf("drop test tables: %v", err)
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

// eachDB runs f as a subtest on every configured database, each fresh.
func eachDB(t *testing.T, f func(t *testing.T, db *gorm.DB)) {
	t.Run("sqlite", func(t *testing.T) { f(t, openSQLite(t)) })
	t.Run("mysql", func(t *testing.T) {
		dsn := os.Getenv("TEST_MYSQL_DSN")
		if dsn == "" {
			t.Skip("TEST_MYSQL_DSN not set")
		}
		f(t, openMySQL(t, dsn))
	})
}

// write records events through a recorder and waits until they are written.
func write(t testing.TB, db *gorm.DB, events ...models.Event) {
	t.Helper()
	before := testutil.ToFloat64(writeFailedTotal)
	// A generous drain: under -race, SQLite inserts are 100 times slower.
	r := NewRecorder(db, RecorderConfig{DrainTimeout: time.Minute, Logger: quiet})
	go r.Run(context.Background())
	for _, ev := range events {
		r.Record(ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if d := testutil.ToFloat64(writeFailedTotal) - before; d != 0 {
		t.Fatalf("%v events failed to write", d)
	}
}

func newService(db *gorm.DB) *Service { return New(db, Config{Logger: quiet}) }

func count(t testing.TB, db *gorm.DB, model any, where ...any) int64 {
	t.Helper()
	var n int64
	q := db.Model(model)
	if len(where) > 0 {
		q = q.Where(where[0], where[1:]...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func ptr(v int64) *int64 { return &v }

// at is a UTC time on 1 March 2026.
func at(hour, minute int) time.Time { return time.Date(2026, 3, 1, hour, minute, 0, 0, time.UTC) }
