package analytics

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/models"
)

// How the rollup stays exact, however late events arrive:
//
// The writer marks every hour it inserts events into (EventStaleHour) in
// the insert's own transaction. Rollup recomputes each marked hour that has
// closed, wholly from its raw events, and writes the results over the old
// ones (an upsert that sets, never adds): running it twice, or on two
// replicas at once, counts nothing twice. It then removes the mark only if
// its version is still the one it read, so an event written meanwhile
// leaves the hour marked for the next run. A sliding window would either
// miss a frontend's week-old events or recompute a week every run; the
// marks cost one upsert per batch.
//
// Distinct users cannot be added up from hours (nor channels, nor regions),
// so EventActiveUsers is counted from raw events too: per closed hour, and
// per China day whenever one of the day's hours is rolled up (the current
// day's figure thus grows hour by hour). Regions are counted at the
// province, city and county prefix (2, 4, 6 digits) and overall, and
// channels one by one and together: every figure the console may ask for
// is stored, none is summed.

// activeLevels are the region-prefix lengths distinct users are counted at.
var activeLevels = []int{0, 2, 4, 6}

// maxHoursPerRun bounds one Rollup; the rest waits for the next run.
const maxHoursPerRun = 31 * 24

// hourKey is the key of EventHour.
var hourKey = []clause.Column{{Name: "kind"}, {Name: "hour"}, {Name: "channel"}, {Name: "subject_kind"}, {Name: "subject_id"}, {Name: "term"}, {Name: "region_code"}}

var activeKey = []clause.Column{{Name: "granularity"}, {Name: "channel"}, {Name: "region_prefix"}, {Name: "bucket"}}

// Rollup recomputes the marked hours that ended by upTo, and the China days
// they fall in, and returns how many hours it rolled up. It is safe to run
// again, and on several replicas at once, though one at a time (under a
// lease, see RunMaintenance) does the work once.
func (s *Service) Rollup(ctx context.Context, upTo time.Time) (int, error) {
	db := s.db.WithContext(ctx)
	var marks []models.EventStaleHour
	if err := db.Where("hour <= ?", upTo.UTC().Add(-time.Hour)).Order("hour").Limit(maxHoursPerRun).Find(&marks).Error; err != nil {
		return 0, fmt.Errorf("analytics: read stale hours: %w", err)
	}
	done := 0
	for len(marks) > 0 {
		// One China day at a time: its hours, then its distinct users,
		// then the marks, so that a failure leaves the day marked.
		day := dayStart(marks[0].Hour)
		n := 1
		for n < len(marks) && dayStart(marks[n].Hour).Equal(day) {
			n++
		}
		for _, m := range marks[:n] {
			if err := s.rollupHour(ctx, m.Hour.UTC()); err != nil {
				return done, err
			}
		}
		if err := s.rollupActive(ctx, models.GranularityDay, day, day.Add(24*time.Hour)); err != nil {
			return done, err
		}
		for _, m := range marks[:n] {
			if err := db.Where("hour = ? AND version = ?", m.Hour.UTC(), m.Version).Delete(&models.EventStaleHour{}).Error; err != nil {
				return done, fmt.Errorf("analytics: clear stale hour: %w", err)
			}
			done++
		}
		marks = marks[n:]
	}
	return done, nil
}

// rollupHour recomputes one hour's counts and its distinct users.
func (s *Service) rollupHour(ctx context.Context, hour time.Time) error {
	var rows []models.EventHour
	err := s.db.WithContext(ctx).Model(&models.Event{}).
		Select("kind, channel, subject_kind, subject_id, term, region_code, COUNT(*) AS events, COALESCE(SUM(value), 0) AS value_sum, COUNT(value) AS value_count").
		Where("hour = ?", hour).
		Group("kind, channel, subject_kind, subject_id, term, region_code").
		Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("analytics: aggregate hour: %w", err)
	}
	for i := range rows {
		rows[i].Hour = hour
	}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		return insertFixed(tx, rows, clause.OnConflict{Columns: hourKey, DoUpdates: clause.AssignmentColumns([]string{"events", "value_sum", "value_count"})})
	})
	if err != nil {
		return fmt.Errorf("analytics: write hour: %w", err)
	}
	return s.rollupActive(ctx, models.GranularityHour, hour, hour.Add(time.Hour))
}

// rollupActive counts the distinct signed-in users of [from, to), overall
// and by channel, at each region level.
func (s *Service) rollupActive(ctx context.Context, granularity string, from, to time.Time) error {
	var all []models.EventActiveUsers
	for _, level := range activeLevels {
		prefix := "''"
		if level > 0 {
			// A literal length, not a bound parameter: MySQL must see the
			// selected expression and the grouped one as the same.
			prefix = fmt.Sprintf("SUBSTR(region_code, 1, %d)", level)
		}
		for _, byChannel := range []bool{true, false} {
			q := s.db.WithContext(ctx).Model(&models.Event{}).Where("hour >= ? AND hour < ? AND user_id <> 0", from, to)
			if level > 0 {
				q = q.Where(fmt.Sprintf("LENGTH(region_code) >= %d", level))
			}
			var groups []string
			channel := "''"
			if byChannel {
				channel = "channel"
				groups = append(groups, "channel")
			}
			if level > 0 {
				groups = append(groups, prefix)
			}
			q = q.Select(channel + " AS channel, " + prefix + " AS region_prefix, COUNT(DISTINCT user_id) AS users")
			for _, g := range groups {
				q = q.Group(g)
			}
			var rows []models.EventActiveUsers
			if err := q.Scan(&rows).Error; err != nil {
				return fmt.Errorf("analytics: count active users: %w", err)
			}
			for _, r := range rows {
				if r.Users > 0 {
					r.Granularity, r.Bucket = granularity, from
					all = append(all, r)
				}
			}
		}
	}
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		return insertFixed(tx, all, clause.OnConflict{Columns: activeKey, DoUpdates: clause.AssignmentColumns([]string{"users"})})
	})
	if err != nil {
		return fmt.Errorf("analytics: write active users: %w", err)
	}
	return nil
}

// pruneBatch is how many raw events one DELETE removes: small statements
// keep locks short and the log small, where one giant DELETE would stall
// the writer.
const pruneBatch = 500

// Prune deletes raw events of the hours before before, pruneBatch at a
// time, and returns how many it deleted. An hour not yet rolled up is never
// pruned, whatever before says.
func (s *Service) Prune(ctx context.Context, before time.Time) (int64, error) {
	db := s.db.WithContext(ctx)
	before = before.UTC().Truncate(time.Hour)
	var oldest []models.EventStaleHour
	if err := db.Order("hour").Limit(1).Find(&oldest).Error; err != nil {
		return 0, fmt.Errorf("analytics: read stale hours: %w", err)
	}
	if len(oldest) == 1 && oldest[0].Hour.Before(before) {
		before = oldest[0].Hour.UTC()
	}
	var total int64
	for {
		var ids []uint64
		if err := db.Model(&models.Event{}).Where("hour < ?", before).Limit(pruneBatch).Pluck("id", &ids).Error; err != nil {
			return total, fmt.Errorf("analytics: find old events: %w", err)
		}
		for chunk := range database.Padded(ids) {
			res := db.Where("id IN ?", chunk).Delete(&models.Event{})
			if res.Error != nil {
				return total, fmt.Errorf("analytics: prune events: %w", res.Error)
			}
			total += res.RowsAffected
		}
		if len(ids) < pruneBatch {
			return total, nil
		}
	}
}

// maintenanceLease makes one replica at a time roll up and prune.
const maintenanceLease = "analytics-maintenance"

// maintenanceTTL outlives one pass, which is cut at half of it.
const maintenanceTTL = 10 * time.Minute

// Maintain rolls up and prunes once if holder gets the maintenance lease,
// and says whether it did.
func (s *Service) Maintain(ctx context.Context, holder string) (bool, error) {
	held, err := database.TryLease(ctx, s.db, maintenanceLease, holder, maintenanceTTL)
	if err != nil || !held {
		return false, err
	}
	run, cancel := context.WithTimeout(ctx, maintenanceTTL/2)
	defer cancel()
	now := s.now()
	if _, err := s.Rollup(run, now); err != nil {
		return true, err
	}
	_, err = s.Prune(run, now.Add(-s.retention))
	return true, err
}

// RunMaintenance runs Maintain every interval until ctx ends, then gives
// the lease up.
func (s *Service) RunMaintenance(ctx context.Context, holder string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Maintain(ctx, holder); err != nil && ctx.Err() == nil {
			s.log.Warn("analytics: maintenance failed", "error", err)
		}
		select {
		case <-ctx.Done():
			_ = database.ReleaseLease(context.WithoutCancel(ctx), s.db, maintenanceLease, holder)
			return
		case <-t.C:
		}
	}
}
