// Package database opens the relational store (embedded SQLite or MySQL)
// through gorm, counts the SQL statements it executes and migrates the schema.
// It knows tables, not business rules: it must never decide who may read what.
package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the kind of database behind a DSN.
type Dialect string

// The supported dialects.
const (
	SQLite Dialect = "sqlite"
	MySQL  Dialect = "mysql"
)

// QueriesTotal counts every SQL statement gorm executes, by kind
// (query, create, update, delete, row, raw). Tests read it to assert how many
// statements a GraphQL request costs.
var QueriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "govmobile_db_queries_total",
	Help: "SQL statements executed, by kind.",
}, []string{"kind"})

// Config says where the database is.
type Config struct {
	// DSN is sqlite://PATH or mysql://USER:PASS@tcp(HOST:PORT)/DB?params.
	DSN string
	// Logger receives slow statements and errors.
	Logger *slog.Logger
}

// ParseDSN splits a DSN into its dialect and the driver's own DSN.
func ParseDSN(dsn string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path == "" {
			return "", "", fmt.Errorf("sqlite DSN has no path")
		}
		return SQLite, path, nil
	case strings.HasPrefix(dsn, "mysql://"):
		return MySQL, strings.TrimPrefix(dsn, "mysql://"), nil
	}
	return "", "", fmt.Errorf("unsupported database URL %q: want sqlite://PATH or mysql://USER:PASS@tcp(HOST:PORT)/DB", redact(dsn))
}

func redact(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j >= 0 && j < i {
			return dsn[:j+3] + "***" + dsn[i:]
		}
	}
	return dsn
}

// Open connects to the database, tunes the connection pool for the dialect and
// installs the statement counter.
func Open(cfg Config) (*gorm.DB, Dialect, error) {
	dialect, driverDSN, err := ParseDSN(cfg.DSN)
	if err != nil {
		return nil, "", err
	}
	gcfg := &gorm.Config{
		Logger: newLogger(cfg.Logger),
		// Prepared statements save MySQL a round trip each. On SQLite they
		// save little (the engine is in the process) and, with the small
		// pool and BEGIN IMMEDIATE, gorm's statement cache deadlocks under
		// load: a new statement is prepared under the cache's lock on a
		// pooled connection while every connection waits for the write lock
		// its holder cannot release without that cache (found by the load
		// mix, issue 9; it lasted until the busy timeout).
		PrepareStmt:            dialect == MySQL,
		SkipDefaultTransaction: true,
		TranslateError:         true,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	var db *gorm.DB
	switch dialect {
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(driverDSN), 0o700); err != nil {
			return nil, "", fmt.Errorf("create database directory: %w", err)
		}
		// WAL lets readers proceed during a write; busy_timeout makes a writer
		// wait for another instead of failing; foreign keys are enforced.
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		db, err = gorm.Open(sqlite.Open("file:"+driverDSN+"?"+q.Encode()), gcfg)
		if err != nil {
			return nil, "", fmt.Errorf("open sqlite: %w", err)
		}
		sqlDB, _ := db.DB()
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	case MySQL:
		driverDSN = mysqlDSN(driverDSN)
		// The driver's own complaints (a connection found dropped, as in a
		// database outage) go to the structured log, not to stderr as
		// plain lines among the JSON ones.
		if cfg.Logger != nil {
			_ = mysqldriver.SetLogger(driverLogger{cfg.Logger})
		}
		db, err = gorm.Open(mysql.New(mysql.Config{DSN: driverDSN, DefaultStringSize: 191}), gcfg)
		if err != nil {
			return nil, "", fmt.Errorf("open mysql: %w", err)
		}
		sqlDB, _ := db.DB()
		tuneMySQLPool(sqlDB)
	}
	if err := installCounter(db); err != nil {
		return nil, "", err
	}
	return db, dialect, nil
}

// mysqlDSN completes a go-sql-driver DSN with the parameters every MySQL
// connection of govmobile needs, the primary's and the read replicas' alike,
// unless the DSN sets them.
func mysqlDSN(driverDSN string) string {
	if !strings.Contains(driverDSN, "parseTime=") {
		driverDSN += sep(driverDSN) + "parseTime=true"
	}
	if !strings.Contains(driverDSN, "charset=") {
		driverDSN += sep(driverDSN) + "charset=utf8mb4"
	}
	if !strings.Contains(driverDSN, "loc=") {
		driverDSN += sep(driverDSN) + "loc=UTC"
	}
	// An UPDATE's affected rows are the rows it matched, as on SQLite,
	// not only those whose values changed: the conditional updates of
	// every state machine read "0 rows" as "the row moved on", and a
	// step that rewrites the same values in the same millisecond is not
	// a conflict.
	if !strings.Contains(driverDSN, "clientFoundRows=") {
		driverDSN += sep(driverDSN) + "clientFoundRows=true"
	}
	// A database that does not answer the dial (a dropped network
	// rather than a refused connection) is given up on after a few
	// seconds, so requests answer UNAVAILABLE well within their own
	// time limit.
	if !strings.Contains(driverDSN, "timeout=") {
		driverDSN += sep(driverDSN) + "timeout=5s"
	}
	return driverDSN
}

// tuneMySQLPool sizes a MySQL connection pool (the primary's, a replica's).
func tuneMySQLPool(sqlDB *sql.DB) {
	sqlDB.SetMaxOpenConns(32)
	sqlDB.SetMaxIdleConns(16)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
}

func sep(dsn string) string {
	if strings.Contains(dsn, "?") {
		return "&"
	}
	return "?"
}

// installCounter counts statements after gorm has executed them.
func installCounter(db *gorm.DB) error {
	cb := db.Callback()
	counters := []struct {
		kind string
		reg  func(string, func(*gorm.DB)) error
	}{
		{"create", cb.Create().After("gorm:create").Register},
		{"query", cb.Query().After("gorm:query").Register},
		{"update", cb.Update().After("gorm:update").Register},
		{"delete", cb.Delete().After("gorm:delete").Register},
		{"row", cb.Row().After("gorm:row").Register},
		{"raw", cb.Raw().After("gorm:raw").Register},
	}
	for _, c := range counters {
		counter := QueriesTotal.WithLabelValues(c.kind)
		if err := c.reg("govmobile:count_"+c.kind, func(tx *gorm.DB) {
			if tx.Statement.SQL.Len() > 0 {
				counter.Inc()
			}
		}); err != nil {
			return fmt.Errorf("register statement counter: %w", err)
		}
	}
	return nil
}

// Ping checks that the database answers, for /readyz.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// driverLogger adapts the MySQL driver's logger to slog.
type driverLogger struct{ log *slog.Logger }

func (l driverLogger) Print(v ...any) { l.log.Warn("mysql driver", "msg", fmt.Sprint(v...)) }

// slogLogger adapts gorm's logger to slog: errors and slow statements only.
type slogLogger struct {
	log   *slog.Logger
	level logger.LogLevel
}

func newLogger(l *slog.Logger) logger.Interface {
	if l == nil {
		l = slog.Default()
	}
	return &slogLogger{log: l, level: logger.Warn}
}

func (l *slogLogger) LogMode(level logger.LogLevel) logger.Interface {
	c := *l
	c.level = level
	return &c
}
func (l *slogLogger) Info(ctx context.Context, msg string, args ...any) {
	if l.level >= logger.Info {
		l.log.InfoContext(ctx, fmt.Sprintf(msg, args...))
	}
}
func (l *slogLogger) Warn(ctx context.Context, msg string, args ...any) {
	if l.level >= logger.Warn {
		l.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
	}
}
func (l *slogLogger) Error(ctx context.Context, msg string, args ...any) {
	if l.level >= logger.Error {
		l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
	}
}

const slowStatement = 200 * time.Millisecond

// Trace logs failed and slow statements. The SQL text is logged without its
// bound values, which may hold personal data. A statement cancelled with its
// context (a shutdown, a client gone) has not failed.
func (l *slogLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, context.Canceled) && l.level >= logger.Error:
		sql, _ := fc()
		l.log.ErrorContext(ctx, "sql error", "err", err, "sql", stripValues(sql), "ms", elapsed.Milliseconds())
	case elapsed > slowStatement && l.level >= logger.Warn:
		sql, _ := fc()
		l.log.WarnContext(ctx, "slow sql", "sql", stripValues(sql), "ms", elapsed.Milliseconds())
	}
}

// stripValues cuts a statement at its first quoted literal: gorm's explain
// output interpolates values, and those may be personal data.
func stripValues(sql string) string {
	if i := strings.IndexAny(sql, "'\""); i >= 0 {
		return sql[:i] + "…"
	}
	if len(sql) > 500 {
		return sql[:500] + "…"
	}
	return sql
}

// Retryable reports whether a transaction failed only because it lost a
// race with another one (a MySQL deadlock or lock-wait timeout, SQLite
// busy) and may simply be run again.
func Retryable(err error) bool {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	return err != nil && strings.Contains(err.Error(), "database is locked")
}

// Unavailable reports whether err says the database could not be reached
// or went away mid-statement (refused, reset or timed-out connections, a
// connection the driver found broken, a server shutting down or refusing
// more connections, a full disk under SQLite), not that the statement was
// wrong: the client is told to try again later (UNAVAILABLE), not that the
// server failed (INTERNAL). Any network failure counts: one that reached
// the presenter unmapped is as much "try again later". Found by the
// database outage test of issue 9.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		// ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_OPTION_PREVENTS_STATEMENT
		// (a primary gone read-only in a failover), ER_CONNECTION_KILLED
		// (MariaDB), ER_CLIENT_INTERACTION_TIMEOUT.
		return me.Number == 1040 || me.Number == 1053 || me.Number == 1290 || me.Number == 1927 || me.Number == 4031
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysqldriver.ErrInvalidConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	return strings.Contains(err.Error(), "database or disk is full")
}

// Transaction runs f in a transaction on db, and runs it again (a few
// times, briefly apart) when it failed only by losing a race (Retryable).
func Transaction(ctx context.Context, db *gorm.DB, f func(tx *gorm.DB) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = db.WithContext(ctx).Transaction(f); !Retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

// NewestFirst reads a page of q's rows newest first (by ID): first rows
// with an ID below afterID (0 for the first page), and the total count of
// q's rows.
func NewestFirst[T any](q *gorm.DB, first int, afterID uint64) ([]*T, int64, error) {
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	if afterID > 0 {
		q = q.Where("id < ?", afterID)
	}
	var out []*T
	err := q.Order("id DESC").Limit(first).Find(&out).Error
	return out, total, err
}

// Padded splits ids into chunks for `IN ?`, each padded (by repeating its
// last ID) to one of a few fixed lengths, so that prepared statements come
// in a few shapes, not one per list length (MySQL caps prepared
// statements per server).
func Padded(ids []uint64) func(yield func([]uint64) bool) {
	return func(yield func([]uint64) bool) {
		for len(ids) > 0 {
			n := min(len(ids), 500)
			size := 500
			for _, s := range []int{1, 8, 64, 500} {
				if n <= s {
					size = s
					break
				}
			}
			chunk := make([]uint64, size)
			copy(chunk, ids[:n])
			for i := n; i < size; i++ {
				chunk[i] = ids[n-1]
			}
			if !yield(chunk) {
				return
			}
			ids = ids[n:]
		}
	}
}

// Take reads one row by ID; a missing row is notFound.
func Take[T any](tx *gorm.DB, id uint64, notFound error) (*T, error) {
	var row T
	if err := tx.Take(&row, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	return &row, nil
}

// Scope narrows a console list: to one status, to a region-code prefix, to
// one agency (each when given).
type Scope struct {
	Status       string
	RegionPrefix string
	AgencyID     uint64
}

// ScopedPage is NewestFirst over the rows of q within scope.
func ScopedPage[T any](q *gorm.DB, scope Scope, first int, afterID uint64) ([]*T, int64, error) {
	if scope.AgencyID != 0 {
		q = q.Where("agency_id = ?", scope.AgencyID)
	}
	if scope.Status != "" {
		q = q.Where("status = ?", scope.Status)
	}
	if scope.RegionPrefix != "" {
		q = q.Where("region_code LIKE ?", scope.RegionPrefix+"%")
	}
	return NewestFirst[T](q, first, afterID)
}

// JSONList is a list of strings as a `serializer:json` column holds it, for
// map updates, which bypass the serializer (nil is []).
func JSONList(list []string) string {
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(list) // strings always marshal
	return string(b)
}
