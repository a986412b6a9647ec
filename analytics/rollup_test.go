package analytics

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// rollupEvents: two hours of 1 March 2026 (UTC), three users, two
// channels, two counties of Beijing and one of Tianjin.
func rollupEvents() []models.Event {
	view := func(user uint64, ch models.EventChannel, matter uint64, region string, t time.Time) models.Event {
		return models.Event{Kind: models.EventMatterView, UserID: user, Channel: ch, SubjectKind: models.SubjectMatter, SubjectID: matter, RegionCode: region, OccurredAt: t}
	}
	return []models.Event{
		view(1, models.ChannelApp, 10, "110101", at(10, 5)),
		view(1, models.ChannelH5, 10, "110101", at(10, 40)),
		view(2, models.ChannelApp, 11, "110102", at(10, 50)),
		{Kind: models.EventPageView, Channel: models.ChannelApp, Term: "首页", OccurredAt: at(10, 10)}, // anonymous
		{Kind: models.EventSearch, UserID: 1, Term: "社保", OccurredAt: at(11, 0)},
		{Kind: models.EventEvaluate, UserID: 3, Value: ptr(4), OccurredAt: at(11, 30)},
		{Kind: models.EventEvaluate, UserID: 2, Value: ptr(5), OccurredAt: at(11, 31)},
		{Kind: models.EventAppOpen, UserID: 3, Channel: models.ChannelApp, SubjectKind: models.SubjectApp, SubjectID: 5, RegionCode: "120101", OccurredAt: at(11, 15)},
	}
}

// snapshot lists every rollup row, sorted, for comparing runs.
func snapshot(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var hours []models.EventHour
	var active []models.EventActiveUsers
	if err := db.Find(&hours).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Find(&active).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hours {
		out = append(out, fmt.Sprintf("%s %s %s %s:%d %q %s = %d %d/%d", h.Hour.UTC().Format("15"), h.Kind, h.Channel, h.SubjectKind, h.SubjectID, h.Term, h.RegionCode, h.Events, h.ValueSum, h.ValueCount))
	}
	for _, a := range active {
		out = append(out, fmt.Sprintf("%s %s %q %q = %d", a.Granularity, a.Bucket.UTC().Format(time.RFC3339), a.Channel, a.RegionPrefix, a.Users))
	}
	sort.Strings(out)
	return out
}

func activeUsers(t *testing.T, db *gorm.DB, granularity string, bucket time.Time, channel models.EventChannel, prefix string) int64 {
	t.Helper()
	var rows []models.EventActiveUsers
	if err := db.Where("granularity = ? AND bucket = ? AND channel = ? AND region_prefix = ?", granularity, bucket.UTC(), channel, prefix).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return 0
	}
	return rows[0].Users
}

func hourEvents(t *testing.T, db *gorm.DB, kind models.EventKind, hour time.Time, channel models.EventChannel, subjectID uint64) int64 {
	t.Helper()
	var rows []models.EventHour
	if err := db.Where("kind = ? AND hour = ? AND channel = ? AND subject_id = ?", kind, hour.UTC(), channel, subjectID).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range rows {
		n += r.Events
	}
	return n
}

func TestRollupIsIdempotentAndCountsLateEvents(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newService(db)
		ctx := context.Background()
		write(t, db, rollupEvents()...)
		n, err := s.Rollup(ctx, at(12, 0))
		if err != nil || n != 2 {
			t.Fatalf("Rollup: %d hours, %v; want 2", n, err)
		}
		first := snapshot(t, db)
		day := dayStart(at(10, 0)) // 1 March, China time
		for _, c := range []struct {
			name string
			got  int64
			want int64
		}{
			{"hour 10, matter 10 on APP", hourEvents(t, db, models.EventMatterView, at(10, 0), models.ChannelApp, 10), 1},
			{"hour 10, matter 10 on H5", hourEvents(t, db, models.EventMatterView, at(10, 0), models.ChannelH5, 10), 1},
			{"hour 10 active", activeUsers(t, db, models.GranularityHour, at(10, 0), "", ""), 2},
			{"hour 10 active on H5", activeUsers(t, db, models.GranularityHour, at(10, 0), models.ChannelH5, ""), 1},
			{"hour 10 active in Beijing", activeUsers(t, db, models.GranularityHour, at(10, 0), "", "11"), 2},
			{"hour 10 active in Dongcheng", activeUsers(t, db, models.GranularityHour, at(10, 0), "", "110101"), 1},
			{"hour 10 active on APP in 1101", activeUsers(t, db, models.GranularityHour, at(10, 0), models.ChannelApp, "1101"), 2},
			{"hour 11 active", activeUsers(t, db, models.GranularityHour, at(11, 0), "", ""), 3},
			// 2 + 3 by the hour, but users 1 and 2 are active in both.
			{"day active", activeUsers(t, db, models.GranularityDay, day, "", ""), 3},
			{"day active on APP", activeUsers(t, db, models.GranularityDay, day, models.ChannelApp, ""), 3},
			{"day active in Tianjin", activeUsers(t, db, models.GranularityDay, day, "", "12"), 1},
		} {
			if c.got != c.want {
				t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
			}
		}
		var eval models.EventHour
		if err := db.Where("kind = ?", models.EventEvaluate).First(&eval).Error; err != nil || eval.Events != 2 || eval.ValueSum != 9 || eval.ValueCount != 2 {
			t.Errorf("evaluations rolled up as %+v, %v", eval, err)
		}
		if n := count(t, db, &models.EventStaleHour{}); n != 0 {
			t.Errorf("%d stale hours left", n)
		}

		// Again: nothing is stale, nothing changes.
		if n, err := s.Rollup(ctx, at(12, 0)); err != nil || n != 0 {
			t.Fatalf("second Rollup: %d hours, %v", n, err)
		}
		// Forced: every hour recomputed from scratch gives the same rows.
		write(t, db) // no events
		for _, h := range []time.Time{at(10, 0), at(11, 0)} {
			if err := markStale(db, []time.Time{h}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.Rollup(ctx, at(12, 0)); err != nil || n != 2 {
			t.Fatalf("forced Rollup: %d hours, %v", n, err)
		}
		if again := snapshot(t, db); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Errorf("recomputing changed the rollup:\n%v\nwas\n%v", again, first)
		}

		// A frontend's late event for an hour rolled up long ago.
		write(t, db, models.Event{Kind: models.EventMatterView, UserID: 4, Channel: models.ChannelApp, SubjectKind: models.SubjectMatter, SubjectID: 10, OccurredAt: at(10, 20)})
		if n, err := s.Rollup(ctx, at(12, 0)); err != nil || n != 1 {
			t.Fatalf("Rollup after a late event: %d hours, %v", n, err)
		}
		if got := hourEvents(t, db, models.EventMatterView, at(10, 0), models.ChannelApp, 10); got != 2 {
			t.Errorf("late event: hour 10, matter 10 on APP = %d, want 2", got)
		}
		if got := activeUsers(t, db, models.GranularityDay, day, "", ""); got != 4 {
			t.Errorf("late event: day active = %d, want 4", got)
		}

		// An hour still open is left for a later run.
		write(t, db, models.Event{Kind: models.EventLogin, UserID: 5, OccurredAt: at(13, 10)})
		if n, err := s.Rollup(ctx, at(13, 59)); err != nil || n != 0 {
			t.Errorf("open hour: rolled %d, %v", n, err)
		}
		if n, err := s.Rollup(ctx, at(14, 0)); err != nil || n != 1 {
			t.Errorf("closed hour: rolled %d, %v", n, err)
		}
	})
}

// Events written while the rollup runs are all counted in the end: a mark
// bumped during a run survives it.
func TestRollupRacingWriter(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newService(db)
		ctx := context.Background()
		const batches, per = 40, 25
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := NewRecorder(db, RecorderConfig{BatchSize: per, FlushInterval: time.Millisecond, Logger: quiet})
			go r.Run(ctx)
			for i := range batches * per {
				r.Record(models.Event{Kind: models.EventLogin, UserID: uint64(i + 1), OccurredAt: at(9, i%60)})
				if i%per == 0 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			r.Close(ctx)
		}()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
	loop:
		for {
			if _, err := s.Rollup(ctx, at(12, 0)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
				break loop
			default:
			}
		}
		if _, err := s.Rollup(ctx, at(12, 0)); err != nil {
			t.Fatal(err)
		}
		if got := hourEvents(t, db, models.EventLogin, at(9, 0), models.ChannelServer, 0); got != batches*per {
			t.Errorf("logins rolled up: %d, want %d", got, batches*per)
		}
		if got := activeUsers(t, db, models.GranularityHour, at(9, 0), "", ""); got != batches*per {
			t.Errorf("active users: %d, want %d", got, batches*per)
		}
	})
}

func TestPruneInBatches(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newService(db)
		ctx := context.Background()
		old := make([]models.Event, 1234)
		for i := range old {
			old[i] = models.Event{Kind: models.EventLogin, UserID: uint64(i%50 + 1), OccurredAt: at(1, i%60)}
		}
		write(t, db, old...)
		write(t, db, models.Event{Kind: models.EventLogin, UserID: 1, OccurredAt: at(5, 0)})

		// Not rolled up yet: nothing may go.
		if n, err := s.Prune(ctx, at(3, 0)); err != nil || n != 0 {
			t.Fatalf("Prune before the rollup: %d, %v", n, err)
		}
		if _, err := s.Rollup(ctx, at(6, 0)); err != nil {
			t.Fatal(err)
		}
		deletes := testutil.ToFloat64(database.QueriesTotal.WithLabelValues("delete"))
		n, err := s.Prune(ctx, at(3, 0))
		if err != nil || n != 1234 {
			t.Fatalf("Prune: %d, %v; want 1234", n, err)
		}
		if d := testutil.ToFloat64(database.QueriesTotal.WithLabelValues("delete")) - deletes; d != 3 {
			t.Errorf("%v DELETE statements, want 3 of at most %d rows", d, pruneBatch)
		}
		if left := count(t, db, &models.Event{}); left != 1 {
			t.Errorf("%d events left, want the one of 05:00", left)
		}
		// The rollup outlives the raw events.
		pts, err := s.Series(ctx, MetricLogins, Hourly, at(1, 0), at(2, 0), Filter{})
		if err != nil || len(pts) != 1 || pts[0].Value != 1234 {
			t.Errorf("logins at 01:00 after pruning: %v, %v", pts, err)
		}
	})
}

func TestMaintainUnderLease(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		a, b := newService(db), newService(db)
		now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		a.now, b.now = func() time.Time { return now }, func() time.Time { return now }
		write(t, db,
			models.Event{Kind: models.EventLogin, UserID: 1, OccurredAt: now.Add(-100 * 24 * time.Hour)},
			models.Event{Kind: models.EventLogin, UserID: 1, OccurredAt: now.Add(-2 * time.Hour)})
		if ran, err := a.Maintain(ctx, "replica-a"); !ran || err != nil {
			t.Fatalf("a: ran %v, %v", ran, err)
		}
		if ran, err := b.Maintain(ctx, "replica-b"); ran || err != nil {
			t.Errorf("b while a holds the lease: ran %v, %v", ran, err)
		}
		if n := count(t, db, &models.Event{}); n != 1 {
			t.Errorf("%d raw events left, want the recent one", n)
		}
		if n := count(t, db, &models.EventStaleHour{}); n != 0 {
			t.Errorf("%d hours not rolled up", n)
		}
		if n := count(t, db, &models.EventHour{}); n != 2 {
			t.Errorf("%d hourly rows, want 2", n)
		}
	})
}
