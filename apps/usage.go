package apps

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/models"
	"govmobile/validate"
)

var cst = time.FixedZone("CST", 8*3600)

// Day is the calendar day in China of t, as usage is counted.
func Day(t time.Time) string { return t.In(cst).Format("2006-01-02") }

// Open records that an app was opened, by a user when userID is not 0, and
// returns it; an app that is not online is NOT_FOUND.
func (s *Service) Open(ctx context.Context, id, userID uint64) (*models.App, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if Status(a.Status) != Online {
		return nil, errNotFound
	}
	day := Day(time.Now())
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		users := int64(0)
		if userID != 0 {
			// A duplicate is the user's second open of the day. (Not an
			// upsert: MySQL, with clientFoundRows, counts a no-op upsert as
			// a row affected.)
			switch err := tx.Create(&models.AppUser{AppID: id, Day: day, UserID: userID}).Error; {
			case err == nil:
				users = 1
			case !errors.Is(err, gorm.ErrDuplicatedKey):
				return err
			}
		}
		return bump(tx, id, day, map[string]int64{"opens": 1, "users": users})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// RecordCalls counts interface calls made for an app and how many failed.
func (s *Service) RecordCalls(ctx context.Context, id uint64, calls, errs int64) error {
	return database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		return bump(tx, id, Day(time.Now()), map[string]int64{"calls": calls, "errors": errs})
	})
}

// bump adds to a day's counters, creating the day's row.
func bump(tx *gorm.DB, id uint64, day string, add map[string]int64) error {
	row := models.AppUsage{AppID: id, Day: day, Opens: add["opens"], Users: add["users"], Calls: add["calls"], Errors: add["errors"]}
	set := map[string]any{}
	for col, n := range add {
		if n != 0 {
			set[col] = gorm.Expr(col+" + ?", n)
		}
	}
	if len(set) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "app_id"}, {Name: "day"}}, DoUpdates: clause.Assignments(set)}).Create(&row).Error
}

// MaxUsageDays bounds a usage query.
const MaxUsageDays = 366

// Usage is an app's use per day from from to to (YYYY-MM-DD, both
// included), with days without use left out.
func (s *Service) Usage(ctx context.Context, id uint64, from, to string) ([]*models.AppUsage, error) {
	f, err1 := time.ParseInLocation("2006-01-02", from, cst)
	t, err2 := time.ParseInLocation("2006-01-02", to, cst)
	if err1 != nil || err2 != nil || t.Before(f) {
		return nil, models.InvalidField("from", "日期应为 YYYY-MM-DD，且开始日期不晚于结束日期。")
	}
	if t.Sub(f) > MaxUsageDays*24*time.Hour {
		return nil, models.InvalidField("to", "一次最多查询366天。")
	}
	var out []*models.AppUsage
	err := s.db.WithContext(ctx).Where("app_id = ? AND day BETWEEN ? AND ?", id, from, to).Order("day").Find(&out).Error
	return out, err
}

// Feedback statuses.
const (
	FeedbackOpen     = "OPEN"
	FeedbackArchived = "ARCHIVED"
)

// AddFeedback records optimisation feedback on an app (8.2.3 d).
func (s *Service) AddFeedback(ctx context.Context, adminID, id uint64, content string) (*models.AppFeedback, error) {
	content, err := validate.Text("content", "优化意见", content, 2000, "\n")
	if err != nil {
		return nil, err
	}
	if content == "" {
		return nil, models.InvalidField("content", "请填写优化意见。")
	}
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	f := &models.AppFeedback{AppID: id, AdminID: adminID, Content: content, Status: FeedbackOpen, CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(f).Error; err != nil {
		return nil, err
	}
	return f, nil
}

// Feedback is one piece of feedback.
func (s *Service) Feedback(ctx context.Context, id uint64) (*models.AppFeedback, error) {
	var f models.AppFeedback
	if err := s.db.WithContext(ctx).Take(&f, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这条优化意见。")
	} else if err != nil {
		return nil, err
	}
	return &f, nil
}

// ArchiveFeedback archives feedback with how it was dealt with.
func (s *Service) ArchiveFeedback(ctx context.Context, adminID, feedbackID uint64, resolution string) (*models.AppFeedback, error) {
	resolution, err := validate.Text("resolution", "处理结果", resolution, 500, "\n")
	if err != nil {
		return nil, err
	}
	if resolution == "" {
		return nil, models.InvalidField("resolution", "请说明处理结果后再归档。")
	}
	res := s.db.WithContext(ctx).Model(&models.AppFeedback{}).Where("id = ? AND status = ?", feedbackID, FeedbackOpen).
		Updates(map[string]any{"status": FeedbackArchived, "resolution": resolution, "archived_by": adminID, "archived_at": time.Now().UTC()})
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		if _, err := s.Feedback(ctx, feedbackID); err != nil {
			return nil, err
		}
		return nil, models.Errorf(models.ECodeConflict, "这条优化意见已经归档。")
	}
	return s.Feedback(ctx, feedbackID)
}

// FeedbackOf is an app's feedback, newest first, of one status when given.
func (s *Service) FeedbackOf(ctx context.Context, id uint64, status string) ([]*models.AppFeedback, error) {
	q := s.db.WithContext(ctx).Where("app_id = ?", id)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []*models.AppFeedback
	err := q.Order("id DESC").Limit(200).Find(&out).Error
	return out, err
}

// Notices are an administrator's notices, newest first (at most 100).
func (s *Service) Notices(ctx context.Context, adminID uint64, unreadOnly bool) ([]*models.AdminNotice, error) {
	q := s.db.WithContext(ctx).Where("admin_id = ?", adminID)
	if unreadOnly {
		q = q.Where("is_read = ?", false)
	}
	var out []*models.AdminNotice
	err := q.Order("id DESC").Limit(100).Find(&out).Error
	return out, err
}

// MarkNoticeRead marks one of an administrator's notices read; another's is
// NOT_FOUND.
func (s *Service) MarkNoticeRead(ctx context.Context, adminID, id uint64) error {
	res := s.db.WithContext(ctx).Model(&models.AdminNotice{}).Where("id = ? AND admin_id = ?", id, adminID).Update("is_read", true)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ECodeNotFound, "没有找到这条通知。")
	}
	return nil
}

// PruneUsers deletes the marks of users' opens of days before yesterday:
// a day's distinct users are counted as the marks are written, so old
// marks serve nothing.
func (s *Service) PruneUsers(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("day < ?", Day(time.Now().Add(-48*time.Hour))).Delete(&models.AppUser{})
	return res.RowsAffected, res.Error
}
