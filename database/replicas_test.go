package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"
)

type item struct {
	ID   uint64
	Name string
}

// twoDatabases opens a primary and a "replica" — two real SQLite files whose
// rows differ, so every read says where it went — with the routing of
// UseReplicas installed (SQLite stands in for MySQL only here: the routing
// is dbresolver's and ours, the same for any dialect).
func twoDatabases(t *testing.T) (*gorm.DB, *Replicas, *replica) {
	t.Helper()
	db, r, reps := openDatabases(t, 1)
	return db, r, reps[0]
}

// openDatabases is twoDatabases with n replicas, named replica0, replica1…
func openDatabases(t *testing.T, n int) (*gorm.DB, *Replicas, []*replica) {
	t.Helper()
	dir := t.TempDir()
	db, _, err := Open(Config{DSN: "sqlite://" + filepath.Join(dir, "primary.db"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	execs := map[string]func(string, ...any) error{
		"primary": func(q string, args ...any) error { return db.Exec(q, args...).Error },
	}
	var reps []*replica
	var dialectors []gorm.Dialector
	for i := range n {
		name := "replica"
		if n > 1 {
			name = fmt.Sprintf("replica%d", i)
		}
		rdb, err := sql.Open("sqlite", "file:"+filepath.Join(dir, name+".db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		execs[name] = func(q string, args ...any) error { _, err := rdb.Exec(q, args...); return err }
		reps = append(reps, &replica{name: name + "-" + t.Name(), db: rdb})
		dialectors = append(dialectors, &sqlite.Dialector{Conn: rdb})
	}
	for name, exec := range execs {
		if err := exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"); err != nil {
			t.Fatal(err)
		}
		if err := exec("INSERT INTO items (id, name) VALUES (1, ?)", name); err != nil {
			t.Fatal(err)
		}
	}
	r, err := useReplicas(db, reps, dialectors,
		ReplicaConfig{MaxLag: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return db, r, reps
}

func nameOf(t *testing.T, tx *gorm.DB) string {
	t.Helper()
	var it item
	if err := tx.Table("items").First(&it, 1).Error; err != nil {
		t.Fatal(err)
	}
	return it.Name
}

func TestReplicaRouting(t *testing.T) {
	db, r, rep := twoDatabases(t)
	ctx := context.Background()
	ok := WithReplicaOK(ctx)

	// Until a probe finds the replica well, even replica-OK reads go to
	// the primary.
	if got := nameOf(t, db.WithContext(ok)); got != "primary" {
		t.Fatalf("replica-OK read before any probe went to the %s", got)
	}
	zero := time.Duration(0)
	r.setState(rep, true, &zero, "")
	if r.Usable() != 1 || r.Ready(ctx) != nil {
		t.Fatalf("usable %d, ready %v", r.Usable(), r.Ready(ctx))
	}
	before := testutil.ToFloat64(rep.counter)

	cases := []struct {
		name string
		read func() string
		want string
	}{
		{"default context", func() string { return nameOf(t, db.WithContext(ctx)) }, "primary"},
		{"replica-OK First", func() string { return nameOf(t, db.WithContext(ok)) }, "replica"},
		{"replica-OK Find", func() string {
			var items []item
			db.WithContext(ok).Table("items").Find(&items)
			return items[0].Name
		}, "replica"},
		{"replica-OK Pluck", func() string {
			var names []string
			db.WithContext(ok).Table("items").Pluck("name", &names)
			return names[0]
		}, "replica"},
		{"replica-OK raw scan", func() string {
			var name string
			db.WithContext(ok).Raw("SELECT name FROM items WHERE id = 1").Scan(&name)
			return name
		}, "replica"},
		{"Primary inside replica-OK", func() string { return nameOf(t, db.WithContext(Primary(ok))) }, "primary"},
		{"replica-OK in a transaction", func() string {
			var name string
			_ = db.WithContext(ok).Transaction(func(tx *gorm.DB) error { name = nameOf(t, tx); return nil })
			return name
		}, "primary"},
		{"raw SELECT without replica-OK", func() string {
			var name string
			db.WithContext(ctx).Raw("SELECT name FROM items WHERE id = 1").Scan(&name)
			return name
		}, "primary"},
	}
	for _, c := range cases {
		if got := c.read(); got != c.want {
			t.Errorf("%s: read from the %s, want the %s", c.name, got, c.want)
		}
	}
	if n := testutil.ToFloat64(rep.counter) - before; n != 4 {
		t.Errorf("replica counted %v statements, want 4", n)
	}

	// Writes, and raw statements run for their effect, go to the primary
	// whatever the context.
	if err := db.WithContext(ok).Table("items").Where("id = 1").Update("name", "primary-2").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.WithContext(ok).Exec("INSERT INTO items (id, name) VALUES (2, 'exec')").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.WithContext(ok).Table("items").Create(map[string]any{"id": 3, "name": "created"}).Error; err != nil {
		t.Fatal(err)
	}
	var onReplica int
	if err := rep.db.QueryRow("SELECT COUNT(*) FROM items WHERE id > 1 OR name <> 'replica'").Scan(&onReplica); err != nil || onReplica != 0 {
		t.Fatalf("writes reached the replica: %d rows, %v", onReplica, err)
	}
	if got := nameOf(t, db.WithContext(ctx)); got != "primary-2" {
		t.Fatalf("primary after the update: %s", got)
	}

	// A replica that dies: the read is answered by the primary, and the
	// replica is out of use at once.
	rep.db.Close()
	if got := nameOf(t, db.WithContext(ok)); got != "primary-2" {
		t.Fatalf("read on a dead replica answered %s", got)
	}
	if r.Usable() != 0 || r.Ready(ctx) == nil {
		t.Fatalf("a replica that failed a read is still used")
	}
	st := r.Status().([]map[string]any)
	if st[0]["usable"] != false || !strings.Contains(st[0]["reason"].(string), "查询失败") {
		t.Fatalf("status: %v", st)
	}
}

// Of several replicas, reads go to the usable ones in turn.
func TestReplicaPolicy(t *testing.T) {
	db, r, reps := openDatabases(t, 2)
	ok := WithReplicaOK(context.Background())
	zero := time.Duration(0)
	seen := func() map[string]int {
		got := map[string]int{}
		for range 6 {
			got[nameOf(t, db.WithContext(ok))]++
		}
		return got
	}
	r.setState(reps[0], true, &zero, "")
	r.setState(reps[1], true, &zero, "")
	if got := seen(); got["replica0"] != 3 || got["replica1"] != 3 {
		t.Fatalf("two usable replicas: %v", got)
	}
	r.setState(reps[0], false, nil, "test")
	if got := seen(); got["replica1"] != 6 {
		t.Fatalf("one usable replica: %v", got)
	}
	r.setState(reps[1], false, nil, "test")
	if got := seen(); got["primary"] != 6 {
		t.Fatalf("no usable replica: %v", got)
	}
	// A replica found unusable between routing and picking: the primary.
	if p := r.pick([]gorm.ConnPool{reps[0].db, reps[1].db}); p != r.primaryRaw {
		t.Fatalf("pick with none usable: %T", p)
	}
}

func TestReplicaProbe(t *testing.T) {
	_, r, rep := twoDatabases(t)
	ctx := context.Background()
	lag := func(d time.Duration) *time.Duration { return &d }
	for _, c := range []struct {
		name   string
		lag    *time.Duration
		err    error
		usable bool
	}{
		{"fresh", lag(0), nil, true},
		{"lag within bound", lag(2 * time.Second), nil, true},
		{"lag beyond bound", lag(3 * time.Second), nil, false},
		{"back within bound", lag(time.Second), nil, true},
		{"not replicating", nil, nil, false},
		{"recovered", lag(0), nil, true},
		{"status unreadable", nil, errors.New("Access denied; you need the REPLICATION CLIENT privilege"), false},
	} {
		r.probe = func(context.Context, *sql.DB) (*time.Duration, error) { return c.lag, c.err }
		r.probeOne(ctx, rep)
		if got := rep.usable.Load(); got != c.usable {
			t.Errorf("%s: usable %v, want %v", c.name, got, c.usable)
		}
	}
	// A replica that does not answer SELECT 1 is not used, whatever its
	// last lag.
	r.probe = func(context.Context, *sql.DB) (*time.Duration, error) { return lag(0), nil }
	r.probeOne(ctx, rep)
	rep.db.Close()
	r.probeOne(ctx, rep)
	if rep.usable.Load() {
		t.Fatal("a closed replica is usable")
	}
}

func TestParseReplicaList(t *testing.T) {
	got, err := ParseReplicaList(" mysql://ro:pw@tcp(10.0.0.2:3306)/gov?tls=true , ,mysql://ro:pw@tcp(10.0.0.3:3306)/gov")
	if err != nil || len(got) != 2 || got[1] != "mysql://ro:pw@tcp(10.0.0.3:3306)/gov" {
		t.Fatalf("%q %v", got, err)
	}
	for _, bad := range []string{
		"sqlite:///tmp/replica.db",
		"postgres://ro:s3cret@10.0.0.2/gov",
		"mysql://ro:s3cret@tcp(10.0.0.2:3306",
		"mysql://ro:s3cret@tcp(10.0.0.2:3306)/gov?parseTime=maybe",
	} {
		_, err := ParseReplicaList("mysql://ro:pw@tcp(10.0.0.9:3306)/gov," + bad)
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", bad, err)
		}
	}
	db, dialect, err := Open(Config{DSN: "sqlite://" + filepath.Join(t.TempDir(), "p.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s, _ := db.DB(); s.Close() }()
	if _, err := UseReplicas(db, dialect, ReplicaConfig{DSNs: []string{"mysql://ro:pw@tcp(10.0.0.2:3306)/gov"}}); err == nil || !strings.Contains(err.Error(), "MySQL primary") {
		t.Fatalf("replicas of a SQLite primary: %v", err)
	}
}
