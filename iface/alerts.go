package iface

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// Health is an interface's health over a window, for the console.
type Health struct {
	Checks, OK, Slow, Failed, Timeout int
	// Availability is the share of checks that got a usable answer (OK or
	// slow), 0 to 1; -1 when there were no checks.
	Availability float64
	// P50Ms and P95Ms are latency percentiles of the answered checks.
	P50Ms, P95Ms int
	// Recent are the latest checks, newest first (at most 50).
	Recent []models.InterfaceCheck
}

// MaxHealthWindow bounds the window a history covers.
const MaxHealthWindow = 30 * 24 * time.Hour

// History is an interface's health since since.
func (s *Service) History(ctx context.Context, id uint64, since time.Time) (*Health, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	if earliest := time.Now().UTC().Add(-MaxHealthWindow); since.Before(earliest) {
		since = earliest
	}
	// Counts and percentiles are computed by the database: a month of
	// checks is tens of thousands of rows.
	db := s.db.WithContext(ctx)
	window := func() *gorm.DB {
		return db.Model(&models.InterfaceCheck{}).Where("interface_id = ? AND checked_at >= ?", id, since)
	}
	var counts []struct {
		Outcome string
		N       int
	}
	if err := window().Select("outcome, COUNT(*) AS n").Group("outcome").Scan(&counts).Error; err != nil {
		return nil, err
	}
	h := &Health{Availability: -1}
	for _, c := range counts {
		h.Checks += c.N
		switch Outcome(c.Outcome) {
		case OK:
			h.OK = c.N
		case Slow:
			h.Slow = c.N
		case Failed:
			h.Failed = c.N
		case Timeout:
			h.Timeout = c.N
		}
	}
	if h.Checks > 0 {
		h.Availability = float64(h.OK+h.Slow) / float64(h.Checks)
	}
	if answered := h.OK + h.Slow; answered > 0 {
		at := func(p int) (int, error) {
			var v int
			rank := (answered*p + 99) / 100 // nearest rank
			err := window().Where("outcome IN ?", []string{string(OK), string(Slow)}).Order("latency_ms").
				Offset(max(rank-1, 0)).Limit(1).Select("latency_ms").Scan(&v).Error
			return v, err
		}
		var err error
		if h.P50Ms, err = at(50); err != nil {
			return nil, err
		}
		if h.P95Ms, err = at(95); err != nil {
			return nil, err
		}
	}
	if err := db.Where("interface_id = ? AND checked_at >= ?", id, since).Order("checked_at DESC, id DESC").Limit(50).Find(&h.Recent).Error; err != nil {
		return nil, err
	}
	return h, nil
}

// AlertStatus is where an alert stands.
type AlertStatus string

// The alert statuses.
const (
	AlertOpen         AlertStatus = alertOpen
	AlertAcknowledged AlertStatus = alertAcked
	AlertResolved     AlertStatus = alertResolved
)

// Alerts is a page of alerts, newest first: of one status when given, of
// interfaces of apps within a region-code prefix and of one department
// (agencyID ≠ 0) when given.
func (s *Service) Alerts(ctx context.Context, status AlertStatus, interfaceID uint64, regionPrefix string, agencyID uint64, first int, afterID uint64) ([]*models.InterfaceAlert, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.InterfaceAlert{})
	if status != "" {
		q = q.Where("status = ?", string(status))
	}
	if interfaceID != 0 {
		q = q.Where("interface_id = ?", interfaceID)
	}
	if apps := s.appsWithin(regionPrefix, agencyID); apps != nil {
		q = q.Where("interface_id IN (?)", s.db.Model(&models.SourceInterface{}).Select("id").Where("app_id IN (?)", apps))
	}
	return database.NewestFirst[models.InterfaceAlert](q, first, afterID)
}

// Alert is one alert.
func (s *Service) Alert(ctx context.Context, id uint64) (*models.InterfaceAlert, error) {
	var a models.InterfaceAlert
	if err := s.db.WithContext(ctx).Take(&a, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这条预警。")
	} else if err != nil {
		return nil, err
	}
	return &a, nil
}

// AcknowledgeAlert marks an open alert as seen by an administrator.
func (s *Service) AcknowledgeAlert(ctx context.Context, adminID, id uint64) (*models.InterfaceAlert, error) {
	now := time.Now().UTC()
	return s.moveAlert(ctx, id, []string{alertOpen}, "确认", map[string]any{"status": alertAcked, "acked_by": adminID, "acked_at": now})
}

// ResolveAlert closes an alert with a note. A new alert opens if the
// interface goes wrong again.
func (s *Service) ResolveAlert(ctx context.Context, adminID, id uint64, note string) (*models.InterfaceAlert, error) {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > 500 {
		return nil, models.InvalidField("note", "处理说明不能超过500个字。")
	}
	now := time.Now().UTC()
	return s.moveAlert(ctx, id, []string{alertOpen, alertAcked}, "处理完毕", map[string]any{"status": alertResolved, "resolved_by": adminID, "resolved_at": now, "note": note})
}

func (s *Service) moveAlert(ctx context.Context, id uint64, from []string, what string, cols map[string]any) (*models.InterfaceAlert, error) {
	a, err := s.Alert(ctx, id)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(from, a.Status) {
		return nil, models.Errorf(models.ECodeConflict, "预警当前状态为“%s”，不能%s。", AlertStatus(a.Status).Label(), what)
	}
	res := s.db.WithContext(ctx).Model(&models.InterfaceAlert{}).Where("id = ? AND status = ?", id, a.Status).Updates(cols)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, models.Errorf(models.ECodeConflict, "预警状态刚刚已有变化，请刷新后再试。")
	}
	return s.Alert(ctx, id)
}

// Label is the alert status's Chinese name.
func (s AlertStatus) Label() string {
	return map[AlertStatus]string{AlertOpen: "待确认", AlertAcknowledged: "已确认", AlertResolved: "已处理"}[s]
}
