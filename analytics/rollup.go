package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
// Distinct users cannot be added up from hours (nor channels, nor regions).
// An hour's are counted from its raw events, like its other figures. A
// day's are kept in EventDayUser, one row per user, channel ("" for all)
// and region prefix of the day: rolling up an hour inserts its users' rows
// where they are missing, and adds the rows it did insert, counted by the
// transaction's token, to the day's EventActiveUsers rows in the same
// transaction. A user is thus added to a day once, whichever of its hours
// is rolled up first, however often, and on however many replicas (the
// unique key lets one insert win); and rolling up an hour costs what its
// own events do, never the day's. Regions are counted at the province,
// city and county prefix (2, 4, 6 digits) and overall, and channels one by
// one and together: every figure the console may ask for is stored, none
// is summed.
//
// EventDayUser rows go with the raw events, a day's once all its hours
// have gone (see Prune). Since a day's rows may be gone by then, an hour of
// a day that ended more than the retention before the rollup's time no
// longer changes the day's count (only a server event stamped that far in
// the past could bring one).

// activeLevels are the region-prefix lengths distinct users are counted at,
// ascending.
var activeLevels = []int{0, 2, 4, 6}

// maxHoursPerRun bounds one Rollup; the rest waits for the next run.
const maxHoursPerRun = 31 * 24

// dayUsersPerTx bounds the EventDayUser rows one transaction inserts, so
// that a busy hour does not hold SQLite's write lock (or MySQL's row locks)
// for long. Each transaction counts what it inserted, so splitting an hour
// counts nothing twice.
const dayUsersPerTx = 4096

// hourKey is the key of EventHour.
var hourKey = []clause.Column{{Name: "kind"}, {Name: "hour"}, {Name: "channel"}, {Name: "subject_kind"}, {Name: "subject_id"}, {Name: "term"}, {Name: "region_code"}}

var activeKey = []clause.Column{{Name: "granularity"}, {Name: "channel"}, {Name: "region_prefix"}, {Name: "bucket"}}

var dayUserKey = []clause.Column{{Name: "day"}, {Name: "user_id"}, {Name: "channel"}, {Name: "region_prefix"}}

// Rollup recomputes the marked hours that ended by upTo (at most
// maxHoursPerRun of them, oldest first), with their China days' distinct
// users, and returns how many hours it rolled up. It is safe to run again,
// and on several replicas at once, though one at a time (under a lease, see
// RunMaintenance) does the work once.
func (s *Service) Rollup(ctx context.Context, upTo time.Time) (int, error) {
	return s.rollup(ctx, upTo, maxHoursPerRun, time.Time{})
}

// rollup rolls up at most limit marked hours, and starts none after stopBy
// (when it is not zero). Each hour is done, and its mark removed, on its
// own: a failure or a cut leaves the hours not done marked, and no hour
// half counted.
func (s *Service) rollup(ctx context.Context, upTo time.Time, limit int, stopBy time.Time) (int, error) {
	upTo = upTo.UTC()
	var marks []models.EventStaleHour
	if err := s.db.WithContext(ctx).Where("hour <= ?", upTo.Add(-time.Hour)).Order("hour").Limit(limit).Find(&marks).Error; err != nil {
		return 0, fmt.Errorf("analytics: read stale hours: %w", err)
	}
	for i, m := range marks {
		if !stopBy.IsZero() && time.Now().After(stopBy) {
			return i, nil
		}
		if err := s.rollupHour(ctx, m, upTo); err != nil {
			return i, err
		}
	}
	return len(marks), nil
}

// activeTuple is one user's presence in an hour: each distinct (user,
// channel, region) of the hour's signed-in events.
type activeTuple struct {
	UserID     uint64
	Channel    models.EventChannel
	RegionCode string
}

// rollupHour recomputes one marked hour: its counts, its distinct users,
// and its users' part of its day's; then it removes the mark if no event
// came meanwhile.
func (s *Service) rollupHour(ctx context.Context, mark models.EventStaleHour, upTo time.Time) error {
	hour := mark.Hour.UTC()
	db := s.db.WithContext(ctx)
	var rows []models.EventHour
	err := db.Model(&models.Event{}).
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
	var tuples []activeTuple
	err = db.Model(&models.Event{}).Select("DISTINCT user_id, channel, region_code").Where("hour = ? AND user_id <> 0", hour).Scan(&tuples).Error
	if err != nil {
		return fmt.Errorf("analytics: read active users: %w", err)
	}
	active, dayUsers := countActive(tuples)
	for i := range active {
		active[i].Granularity, active[i].Bucket = models.GranularityHour, hour
	}

	// The day's users first: should the rest fail, the hour stays marked
	// and its users, already in, are not added again.
	day := dayStart(hour)
	if day.Add(24 * time.Hour).After(upTo.Add(-s.retention)) {
		dayUsers, err := s.missingDayUsers(ctx, day, dayUsers)
		if err != nil {
			return err
		}
		for chunk := range slices.Chunk(dayUsers, dayUsersPerTx) {
			if err := s.addDayUsers(ctx, day, chunk); err != nil {
				return err
			}
		}
	}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := insertFixed(tx, rows, clause.OnConflict{Columns: hourKey, DoUpdates: clause.AssignmentColumns([]string{"events", "value_sum", "value_count"})}); err != nil {
			return err
		}
		if err := insertFixed(tx, active, clause.OnConflict{Columns: activeKey, DoUpdates: clause.AssignmentColumns([]string{"users"})}); err != nil {
			return err
		}
		// Last: on MySQL the mark's row, which the writer bumps, stays
		// locked until commit.
		return tx.Where("hour = ? AND version = ?", hour, mark.Version).Delete(&models.EventStaleHour{}).Error
	})
	if err != nil {
		return fmt.Errorf("analytics: write hour: %w", err)
	}
	return nil
}

// countActive counts an hour's distinct users at every channel and region
// level, and lists them (one EventDayUser, without day or token, per user,
// channel and prefix), sorted by key.
func countActive(tuples []activeTuple) ([]models.EventActiveUsers, []models.EventDayUser) {
	type group struct {
		channel models.EventChannel
		prefix  string
	}
	// By user: a user's tuples are adjacent, so a group has seen the user
	// already when its last user is the same.
	slices.SortFunc(tuples, func(a, b activeTuple) int { return cmp.Compare(a.UserID, b.UserID) })
	last := map[group]uint64{}
	var users []models.EventDayUser
	for _, t := range tuples {
		for _, level := range activeLevels {
			if len(t.RegionCode) < level {
				break
			}
			for _, ch := range []models.EventChannel{"", t.Channel} {
				g := group{ch, t.RegionCode[:level]}
				if last[g] == t.UserID {
					continue
				}
				last[g] = t.UserID
				users = append(users, models.EventDayUser{Channel: g.channel, RegionPrefix: g.prefix, UserID: t.UserID})
			}
		}
	}
	counts := map[group]int64{}
	for _, u := range users {
		counts[group{u.Channel, u.RegionPrefix}]++
	}
	active := make([]models.EventActiveUsers, 0, len(counts))
	for g, n := range counts {
		active = append(active, models.EventActiveUsers{Channel: g.channel, RegionPrefix: g.prefix, Users: n})
	}
	// In key order: two transactions that write the same keys lock them in
	// the same order.
	slices.SortFunc(active, func(a, b models.EventActiveUsers) int {
		return cmp.Or(cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.RegionPrefix, b.RegionPrefix))
	})
	slices.SortFunc(users, compareDayUsers)
	return active, users
}

func compareDayUsers(a, b models.EventDayUser) int {
	return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.RegionPrefix, b.RegionPrefix))
}

// missingDayUsers returns those of users (sorted by key) that the day does
// not have yet: an hour rolled up again, for a late event, then inserts
// only what is new. A row inserted meanwhile is harmless (addDayUsers
// skips it and does not count it); rows are never deleted but with their
// whole day, long after the day can change.
func (s *Service) missingDayUsers(ctx context.Context, day time.Time, users []models.EventDayUser) ([]models.EventDayUser, error) {
	var ids []uint64
	for i, u := range users {
		if i == 0 || u.UserID != users[i-1].UserID {
			ids = append(ids, u.UserID)
		}
	}
	var have []models.EventDayUser
	for chunk := range database.Padded(ids) {
		var rows []models.EventDayUser
		err := s.db.WithContext(ctx).Select("user_id, channel, region_prefix").Where("day = ? AND user_id IN ?", day, chunk).Find(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("analytics: read day users: %w", err)
		}
		have = append(have, rows...)
	}
	slices.SortFunc(have, compareDayUsers)
	missing := users[:0:0]
	for _, u := range users {
		if _, found := slices.BinarySearchFunc(have, u, compareDayUsers); !found {
			missing = append(missing, u)
		}
	}
	return missing, nil
}

// addDayUsers inserts the day's users that are not in yet and adds those
// it inserted to the day's counts, in one transaction. Another transaction
// inserting the same users at once (a second replica) waits for this one
// and then finds them in: each is counted by the one that inserted it.
func (s *Service) addDayUsers(ctx context.Context, day time.Time, users []models.EventDayUser) error {
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		// A fresh token per attempt: gorm writes the inserted IDs back, and
		// a retried attempt must not reuse them.
		token := rand.Int64()
		for i := range users {
			users[i].ID, users[i].Day, users[i].Token = 0, day, token
		}
		if err := insertFixed(tx, users, clause.OnConflict{Columns: dayUserKey, DoNothing: true}); err != nil {
			return err
		}
		var added []models.EventActiveUsers
		err := tx.Model(&models.EventDayUser{}).Select("channel, region_prefix, COUNT(*) AS users").
			Where("token = ?", token).Group("channel, region_prefix").Scan(&added).Error
		if err != nil {
			return err
		}
		for i := range added {
			added[i].Granularity, added[i].Bucket = models.GranularityDay, day
		}
		return insertFixed(tx, added, clause.OnConflict{Columns: activeKey, DoUpdates: clause.Assignments(map[string]any{"users": addedUsers(tx)})})
	})
	if err != nil {
		return fmt.Errorf("analytics: add day users: %w", err)
	}
	return nil
}

// addedUsers is the upsert's "users plus the inserted row's users".
func addedUsers(tx *gorm.DB) clause.Expr {
	users := clause.Column{Name: "users"}
	if tx.Dialector.Name() == "mysql" {
		return gorm.Expr("? + VALUES(?)", users, users)
	}
	return gorm.Expr("? + ?", users, clause.Column{Table: "excluded", Name: "users"})
}

// pruneBatch is how many raw events one DELETE removes: small statements
// keep locks short and the log small, where one giant DELETE would stall
// the writer.
const pruneBatch = 500

// Prune deletes raw events of the hours before before, pruneBatch at a
// time, and returns how many it deleted. An hour not yet rolled up is never
// pruned, whatever before says. It deletes too the EventDayUser rows of the
// China days whose hours are all gone (not counted in its result).
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
	total, err := pruneRows(db, &models.Event{}, "hour < ?", before)
	if err != nil {
		return total, fmt.Errorf("analytics: prune events: %w", err)
	}
	// A day starting at or before before-24h has no hour left.
	if _, err := pruneRows(db, &models.EventDayUser{}, "day <= ?", before.Add(-24*time.Hour)); err != nil {
		return total, fmt.Errorf("analytics: prune day users: %w", err)
	}
	return total, nil
}

// pruneRows deletes model's rows matching where, pruneBatch at a time, and
// returns how many it deleted.
func pruneRows(db *gorm.DB, model any, where string, arg any) (int64, error) {
	var total int64
	for {
		var ids []uint64
		if err := db.Model(model).Where(where, arg).Limit(pruneBatch).Pluck("id", &ids).Error; err != nil {
			return total, err
		}
		for chunk := range database.Padded(ids) {
			res := db.Where("id IN ?", chunk).Delete(model)
			if res.Error != nil {
				return total, res.Error
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

// maintenanceTTL outlives one pass, which takes at most half of it.
const maintenanceTTL = 10 * time.Minute

// One maintenance pass rolls up at most passHours hours, and starts none
// after passRollupBudget; it cuts the rollup at passRollupCut (an hour cut
// is rolled back and stays marked) and the pruning at passPruneCut (what
// is left goes next pass). However far behind the rollup is, a pass ends
// within maintenanceTTL/2 and always prunes; the rest waits for the next.
const (
	passHours        = 7 * 24
	passRollupBudget = 2 * time.Minute
	passRollupCut    = 3 * time.Minute
	passPruneCut     = maintenanceTTL/2 - passRollupCut
)

// Maintain rolls up and prunes once if holder gets the maintenance lease,
// and says whether it did. It prunes even when the rollup failed (pruning
// never deletes an hour not rolled up), and returns both errors.
func (s *Service) Maintain(ctx context.Context, holder string) (bool, error) {
	held, err := database.TryLease(ctx, s.db, maintenanceLease, holder, maintenanceTTL)
	if err != nil || !held {
		return false, err
	}
	now := s.now()
	run, cancel := context.WithTimeout(ctx, passRollupCut)
	n, rollupErr := s.rollup(run, now, passHours, time.Now().Add(passRollupBudget))
	cancel()
	if rollupErr != nil {
		rollupErr = fmt.Errorf("analytics: rollup stopped after %d hours: %w", n, rollupErr)
	}
	run, cancel = context.WithTimeout(ctx, passPruneCut)
	defer cancel()
	_, pruneErr := s.Prune(run, now.Add(-s.retention))
	if errors.Is(pruneErr, context.DeadlineExceeded) && ctx.Err() == nil {
		// A backlog, deleted in committed batches: the next pass goes on.
		s.log.Info("analytics: pruning continues next pass")
		pruneErr = nil
	}
	return true, errors.Join(rollupErr, pruneErr)
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
