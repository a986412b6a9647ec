package analytics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"govmobile/models"
)

// trueActive counts distinct users from events by brute force: the figures
// the rollup must arrive at, by granularity, bucket, channel and prefix.
func trueActive(events []models.Event) map[string]int64 {
	sets := map[string]map[uint64]bool{}
	for _, ev := range events {
		if ev.UserID == 0 {
			continue
		}
		hour := ev.OccurredAt.UTC().Truncate(time.Hour)
		for _, level := range activeLevels {
			if len(ev.RegionCode) < level {
				continue
			}
			for _, ch := range []models.EventChannel{"", ev.Channel} {
				for _, b := range []struct {
					g string
					t time.Time
				}{{models.GranularityHour, hour}, {models.GranularityDay, dayStart(hour)}} {
					k := fmt.Sprintf("%s %s %q %q", b.g, b.t.Format(time.RFC3339), ch, ev.RegionCode[:level])
					if sets[k] == nil {
						sets[k] = map[uint64]bool{}
					}
					sets[k][ev.UserID] = true
				}
			}
		}
	}
	out := map[string]int64{}
	for k, users := range sets {
		out[k] = int64(len(users))
	}
	return out
}

func storedActive(t *testing.T, db *gorm.DB) map[string]int64 {
	t.Helper()
	var rows []models.EventActiveUsers
	if err := db.Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[fmt.Sprintf("%s %s %q %q", r.Granularity, r.Bucket.UTC().Format(time.RFC3339), r.Channel, r.RegionPrefix)] = r.Users
	}
	return out
}

func diffActive(t *testing.T, got, want map[string]int64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("%s: %d users, want %d", k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %d users, want no row", k, got[k])
		}
	}
}

// Random events over two China days, written in waves (each wave late for
// hours the one before rolled up), each wave rolled up by two replicas at
// once: every hour's and day's distinct users come out as counted by brute
// force, none twice.
func TestDayUsersExactUnderLateEventsAndReplicas(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		rnd := rand.New(rand.NewPCG(1, 2))
		channels := []models.EventChannel{models.ChannelApp, models.ChannelMiniProgram, models.ChannelOfficialAccount, models.ChannelH5, models.ChannelServer}
		regions := []string{"", "11", "1101", "110101", "110102", "120101", "440305001"}
		// 14:00 to 19:59 UTC on 1 March: China days 1 and 2 March.
		var all []models.Event
		replicas := []*Service{newService(db), newService(db)}
		for wave := range 4 {
			var events []models.Event
			for range 300 {
				events = append(events, models.Event{Kind: models.EventLogin, UserID: uint64(rnd.IntN(60)), Channel: channels[rnd.IntN(len(channels))],
					RegionCode: regions[rnd.IntN(len(regions))], OccurredAt: at(14+rnd.IntN(6), rnd.IntN(60))})
			}
			write(t, db, events...)
			all = append(all, events...)
			var wg sync.WaitGroup
			errs := make([]error, len(replicas))
			for i, s := range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s.Rollup(ctx, at(21, 0))
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("wave %d: %v", wave, err)
			}
			// Whatever one replica left marked (bumped meanwhile), the next run takes.
			if _, err := replicas[0].Rollup(ctx, at(21, 0)); err != nil {
				t.Fatal(err)
			}
			diffActive(t, storedActive(t, db), trueActive(all))
			if t.Failed() {
				t.Fatalf("after wave %d", wave)
			}
		}
		// Every hour forced again: nothing changes.
		for h := 14; h < 20; h++ {
			if err := markStale(db, []time.Time{at(h, 0)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := replicas[1].Rollup(ctx, at(21, 0)); err != nil || n != 6 {
			t.Fatalf("forced: %d hours, %v", n, err)
		}
		diffActive(t, storedActive(t, db), trueActive(all))
	})
}

// The day's user rows go with the raw events, a day's once all its hours
// have; the day's count stays. An hour of a day older than the retention
// does not change its day's count.
func TestPruneDayUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newService(db)
		// China day 1 March is 28 Feb 16:00 to 1 March 16:00 UTC.
		write(t, db,
			models.Event{Kind: models.EventLogin, UserID: 1, OccurredAt: at(1, 0)},
			models.Event{Kind: models.EventLogin, UserID: 2, OccurredAt: at(15, 0)},
			models.Event{Kind: models.EventLogin, UserID: 3, OccurredAt: at(17, 0)}) // 2 March
		if _, err := s.Rollup(ctx, at(18, 0)); err != nil {
			t.Fatal(err)
		}
		day1, day2 := dayStart(at(1, 0)), dayStart(at(17, 0))
		if n := count(t, db, &models.EventDayUser{}); n != 6 {
			t.Fatalf("%d day user rows, want 6 (3 users, each overall and on SERVER)", n)
		}
		// Up to 15:00: 1 March's last hour is left, so are its day's users.
		if _, err := s.Prune(ctx, at(15, 0)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, &models.EventDayUser{}, "day = ?", day1); n != 4 {
			t.Errorf("day 1 pruned while its 15:00 hour is kept: %d rows left", n)
		}
		// Up to 16:00: 1 March is gone.
		if _, err := s.Prune(ctx, at(16, 0)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, &models.EventDayUser{}, "day = ?", day1); n != 0 {
			t.Errorf("%d rows of day 1 left", n)
		}
		if n := count(t, db, &models.EventDayUser{}, "day = ?", day2); n != 2 {
			t.Errorf("%d rows of day 2 left, want 2", n)
		}
		if got := activeUsers(t, db, models.GranularityDay, day1, "", ""); got != 2 {
			t.Errorf("day 1 active after pruning: %d, want 2", got)
		}

		// A server event for 1 March, rolled up after the retention: its
		// hour counts it, its day (whose users are gone) does not count
		// user 2 again.
		write(t, db, models.Event{Kind: models.EventLogin, UserID: 2, OccurredAt: at(3, 0)})
		if n, err := s.Rollup(ctx, day2.Add(s.retention+time.Hour)); err != nil || n != 1 {
			t.Fatalf("late rollup: %d hours, %v", n, err)
		}
		if got := activeUsers(t, db, models.GranularityHour, at(3, 0), "", ""); got != 1 {
			t.Errorf("hour 03:00 active: %d, want 1", got)
		}
		if got := activeUsers(t, db, models.GranularityDay, day1, "", ""); got != 2 {
			t.Errorf("day 1 active: %d, want still 2", got)
		}
	})
}

// A failing rollup does not stop pruning.
func TestMaintainPrunesWhenRollupFails(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newService(db)
		now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return now }
		write(t, db, models.Event{Kind: models.EventLogin, UserID: 1, OccurredAt: now.Add(-100 * 24 * time.Hour)})
		if _, err := s.Rollup(ctx, now); err != nil {
			t.Fatal(err)
		}
		write(t, db, models.Event{Kind: models.EventLogin, UserID: 1, OccurredAt: now.Add(-2 * time.Hour)})
		injected := errors.New("injected")
		hours := db.NamingStrategy.TableName("EventHour")
		if err := db.Callback().Create().Before("gorm:create").Register("test:fail", func(tx *gorm.DB) {
			if tx.Statement.Table == hours {
				tx.AddError(injected)
			}
		}); err != nil {
			t.Fatal(err)
		}
		ran, err := s.Maintain(ctx, "replica-a")
		if !ran || !errors.Is(err, injected) {
			t.Fatalf("Maintain: ran %v, %v; want the rollup's error", ran, err)
		}
		if n := count(t, db, &models.Event{}); n != 1 {
			t.Errorf("%d raw events left, want the recent one", n)
		}
		if n := count(t, db, &models.EventStaleHour{}); n != 1 {
			t.Errorf("%d stale hours, want the one that failed", n)
		}
	})
}

// A pass starts no hour after its budget: the rest stays marked.
func TestRollupStopsAtItsBudget(t *testing.T) {
	db := openSQLite(t)
	s := newService(db)
	for h := range 5 {
		write(t, db, models.Event{Kind: models.EventLogin, UserID: 1, OccurredAt: at(h, 0)})
	}
	if n, err := s.rollup(context.Background(), at(12, 0), 3, time.Time{}); err != nil || n != 3 {
		t.Fatalf("limit 3: %d hours, %v", n, err)
	}
	if n, err := s.rollup(context.Background(), at(12, 0), 3, time.Now().Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("past budget: %d hours, %v", n, err)
	}
	if n := count(t, db, &models.EventStaleHour{}); n != 2 {
		t.Errorf("%d hours marked, want 2", n)
	}
}
