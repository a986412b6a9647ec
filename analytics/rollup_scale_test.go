package analytics

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// The rollup of an hour costs what the hour's events do, never its day's:
// a late event in a busy day is as cheap as in a quiet one.

// scaleDay is the China day the scale tests fill (1 March 2026, UTC+8),
// and scaleHour its last hour, where late events go.
var (
	scaleDay  = dayStart(at(10, 0))
	scaleHour = scaleDay.Add(23 * time.Hour)
)

// seedDay writes n raw events over the day's first 23 hours and 50 in its
// last, and rolls up the last hour. With all, it marks and rolls up every
// hour, as the writer and the rollup would have; without, the first 23
// hours' events are only there to be read, as a day-wide query would.
func seedDay(t testing.TB, db *gorm.DB, s *Service, n int, all bool) {
	t.Helper()
	events := make([]models.Event, 0, n+50)
	for i := range n {
		events = append(events, benchEvent(i, scaleDay.Add(time.Duration(i%23)*time.Hour+time.Duration(i%3600)*time.Second)))
	}
	for i := range 50 {
		events = append(events, benchEvent(i, scaleHour.Add(time.Duration(i)*time.Second)))
	}
	hours := []time.Time{scaleHour}
	for i := range events {
		ev := &events[i]
		if ev.Channel == "" {
			ev.Channel = models.ChannelServer
		}
		ev.OccurredAt = ev.OccurredAt.UTC()
		ev.Hour = ev.OccurredAt.Truncate(time.Hour)
		if all {
			hours = appendOnce(hours, ev.Hour)
		}
	}
	err := database.Transaction(context.Background(), db, func(tx *gorm.DB) error {
		if err := insertFixed(tx, events); err != nil {
			return err
		}
		return markStale(tx, hours)
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := s.Rollup(context.Background(), scaleDay.Add(24*time.Hour)); err != nil || h != len(hours) {
		t.Fatalf("seed rollup: %d hours, %v; want %d", h, err, len(hours))
	}
}

// lateEvent writes one event of user into scaleHour, as the writer would.
func lateEvent(t testing.TB, db *gorm.DB, user uint64) {
	t.Helper()
	ev := models.Event{Kind: models.EventLogin, Channel: models.ChannelH5, UserID: user, RegionCode: "110105",
		OccurredAt: scaleHour.Add(59 * time.Minute), Hour: scaleHour}
	err := database.Transaction(context.Background(), db, func(tx *gorm.DB) error {
		if err := tx.Create(&ev).Error; err != nil {
			return err
		}
		return markStale(tx, []time.Time{scaleHour})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// statement is one SQL statement gorm ran.
type statement struct {
	table string
	sql   string
	vars  []any
}

// recordStatements makes db list the statements it runs while *on is true.
func recordStatements(t testing.TB, db *gorm.DB, on *bool, into *[]statement) {
	t.Helper()
	rec := func(tx *gorm.DB) {
		if *on && tx.Statement.SQL.Len() > 0 {
			*into = append(*into, statement{tx.Statement.Table, tx.Statement.SQL.String(), append([]any(nil), tx.Statement.Vars...)})
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("test:record", rec),
		cb.Query().After("gorm:query").Register("test:record", rec),
		cb.Update().After("gorm:update").Register("test:record", rec),
		cb.Delete().After("gorm:delete").Register("test:record", rec),
		cb.Row().After("gorm:row").Register("test:record", rec),
		cb.Raw().After("gorm:raw").Register("test:record", rec),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A late event in a day of 10,000 events and in one of 100,000: the same
// statements, and every one that reads raw events reads one hour's by its
// index, never a range of hours. (The old rollup counted the whole day's
// distinct users from raw events at each hour it rolled up.)
func TestRollupOfLateEventIsBoundedByItsHour(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 110,000 events")
	}
	eachDB(t, func(t *testing.T, _ *gorm.DB) {
		var shapes []string
		for _, n := range []int{10_000, 100_000} {
			db := openSame(t)
			s := newService(db)
			seedDay(t, db, s, n, false)
			before := activeUsers(t, db, models.GranularityDay, scaleDay, "", "")
			var on bool
			var stmts []statement
			recordStatements(t, db, &on, &stmts)
			lateEvent(t, db, 1_000_000) // a user new to the day
			on = true
			h, err := s.Rollup(context.Background(), scaleDay.Add(24*time.Hour))
			on = false
			if err != nil || h != 1 {
				t.Fatalf("n=%d: rolled up %d hours, %v", n, h, err)
			}
			if got := activeUsers(t, db, models.GranularityDay, scaleDay, "", ""); got != before+1 {
				t.Errorf("n=%d: day active %d, want %d", n, got, before+1)
			}
			if got := activeUsers(t, db, models.GranularityDay, scaleDay, models.ChannelH5, "110105"); got != 1 {
				t.Errorf("n=%d: day active on H5 in 110105: %d, want 1", n, got)
			}
			var shape []string
			events := db.NamingStrategy.TableName("Event")
			prefix := strings.TrimSuffix(events, "events") // MySQL's test tables have one
			for _, st := range stmts {
				shape = append(shape, fmt.Sprintf("%s %d", strings.TrimPrefix(st.table, prefix), len(st.vars)))
				if st.table != events {
					continue
				}
				if !strings.Contains(st.sql, "hour = ?") || strings.Contains(st.sql, "hour >=") {
					t.Errorf("n=%d: raw events read beyond one hour: %s", n, st.sql)
				}
				checkPlan(t, db, st)
			}
			shapes = append(shapes, strings.Join(shape, "; "))
		}
		if shapes[0] != shapes[1] {
			t.Errorf("statements differ with the day's size:\n10k:  %s\n100k: %s", shapes[0], shapes[1])
		}
		t.Logf("statements: %s", shapes[0])
	})
}

// openSame opens a fresh database of the kind the subtest runs on.
func openSame(t *testing.T) *gorm.DB {
	if strings.HasSuffix(t.Name(), "/mysql") {
		return openMySQL(t, os.Getenv("TEST_MYSQL_DSN"))
	}
	return openSQLite(t)
}

// checkPlan asserts that the database reads st's raw events through the
// hour index by equality: the rows it reads are the hour's.
func checkPlan(t *testing.T, db *gorm.DB, st statement) {
	t.Helper()
	if db.Dialector.Name() == "sqlite" {
		rows, err := db.Raw("EXPLAIN QUERY PLAN "+st.sql, st.vars...).Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "USING INDEX idx_events_hour (hour=?)") || strings.Contains(p, "SCAN events") {
			t.Errorf("%s\nplanned as %s", st.sql, p)
		}
		return
	}
	var plan []map[string]any
	if err := db.Raw("EXPLAIN "+st.sql, st.vars...).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	for _, row := range plan {
		if fmt.Sprint(row["type"]) != "ref" || !strings.HasSuffix(fmt.Sprint(row["key"]), "events_hour") {
			t.Errorf("%s\nplanned as %v", st.sql, plan)
		}
	}
}

// BenchmarkRollupLateEvent is the rollup of one late event (a user new to
// the day) into the last hour (of 50 events) of a day of n events, all
// rolled up before. Each event is deleted after its rollup, so that the
// hour stays the same size.
func BenchmarkRollupLateEvent(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("sqlite/n=%d", n), func(b *testing.B) { benchLateEvent(b, openSQLite(b), n) })
		b.Run(fmt.Sprintf("mysql/n=%d", n), func(b *testing.B) {
			dsn := os.Getenv("TEST_MYSQL_DSN")
			if dsn == "" {
				b.Skip("TEST_MYSQL_DSN not set")
			}
			benchLateEvent(b, openMySQL(b, dsn), n)
		})
	}
}

func benchLateEvent(b *testing.B, db *gorm.DB, n int) {
	s := newService(db)
	seedDay(b, db, s, n, true)
	ctx := context.Background()
	user := uint64(1_000_000)
	for b.Loop() {
		b.StopTimer()
		user++
		lateEvent(b, db, user)
		b.StartTimer()
		if h, err := s.Rollup(ctx, scaleDay.Add(24*time.Hour)); err != nil || h != 1 {
			b.Fatalf("rolled up %d hours, %v", h, err)
		}
		b.StopTimer()
		if err := db.Where("user_id = ?", user).Delete(&models.Event{}).Error; err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
