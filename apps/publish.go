package apps

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
	"govmobile/validate"
)

// Halls of the terminal (分厅) an app is published to: the national
// terminal, a region's (a province's, a city's…) or a department's.
const (
	HallNational     = "NATIONAL"
	hallRegionPrefix = "REGION:"
	hallAgencyPrefix = "AGENCY:"
)

// HallOfRegion and HallOfAgency name a region's and a department's hall.
func HallOfRegion(code string) string { return hallRegionPrefix + code }
func HallOfAgency(id uint64) string   { return hallAgencyPrefix + strconv.FormatUint(id, 10) }

// Placement is how an app shows in one hall: its display name, icon,
// category and place in the list (UI configuration).
type Placement struct {
	Hall        string
	DisplayName string
	IconFileID  uint64
	Category    string
	SortOrder   int
}

// MaxPlacements bounds the halls of one app.
const MaxPlacements = 50

// HallScope decides which halls an administrator may publish to; it
// returns an error for a hall outside their reach.
type HallScope func(hall string) error

// Publish puts an approved app online in the given halls, or, for an app
// already online, replaces its halls and their settings. Only a reviewer
// publishes, and never an app that has not passed review.
func (s *Service) Publish(ctx context.Context, adminID, id uint64, places []Placement, scope HallScope) (*models.App, error) {
	if len(places) == 0 {
		return nil, models.InvalidField("halls", "请至少选择一个发布的分厅。")
	}
	if len(places) > MaxPlacements {
		return nil, models.InvalidField("halls", fmt.Sprintf("一个应用最多发布到%d个分厅。", MaxPlacements))
	}
	seen := map[string]bool{}
	for i := range places {
		p := &places[i]
		var err error
		if p.Hall, err = s.cleanHall(p.Hall); err != nil {
			return nil, err
		}
		if seen[p.Hall] {
			return nil, models.InvalidField("halls", "同一个分厅只能出现一次。")
		}
		seen[p.Hall] = true
		if err := scope(p.Hall); err != nil {
			return nil, err
		}
		if p.DisplayName, err = validate.Text("displayName", "显示名称", p.DisplayName, 30, ""); err != nil {
			return nil, err
		}
		if p.Category, err = validate.Text("category", "栏目分类", p.Category, 64, ""); err != nil {
			return nil, err
		}
		if p.SortOrder < 0 || p.SortOrder > 100000 {
			return nil, models.InvalidField("sortOrder", "排序号应为0到100000。")
		}
	}
	write := func(tx *gorm.DB, a *models.App) error {
		for i := range places {
			p := &places[i]
			if p.DisplayName == "" {
				p.DisplayName = truncate(a.Name, 30)
			}
			if p.Category == "" {
				p.Category = a.Category
			}
			if p.IconFileID != 0 {
				var n int64
				if err := tx.Model(&models.AppFile{}).Where("id = ? AND app_id = ? AND kind = ?", p.IconFileID, a.ID, FileIcon).Count(&n).Error; err != nil {
					return err
				}
				if n == 0 {
					return models.InvalidField("iconFileId", "图标须是这个应用上传的图标文件。")
				}
			}
		}
		// A publisher replaces the placements within their reach; those
		// beyond it stay as they are (a province's reviewer does not take
		// an app out of the national hall).
		var old []string
		if err := tx.Model(&models.AppPublication{}).Where("app_id = ?", a.ID).Pluck("hall", &old).Error; err != nil {
			return err
		}
		for _, h := range old {
			if seen[h] || scope(h) == nil {
				if err := tx.Where("app_id = ? AND hall = ?", a.ID, h).Delete(&models.AppPublication{}).Error; err != nil {
					return err
				}
			}
		}
		now := time.Now().UTC()
		for _, p := range places {
			if err := tx.Create(&models.AppPublication{AppID: a.ID, Hall: p.Hall, DisplayName: p.DisplayName, IconFileID: p.IconFileID,
				Category: p.Category, SortOrder: p.SortOrder, PublishedBy: adminID, PublishedAt: now}).Error; err != nil {
				return err
			}
		}
		return nil
	}
	note := fmt.Sprintf("发布到%d个分厅", len(places))
	var out *models.App
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		a, err := get(tx, id)
		if err != nil {
			return err
		}
		if Status(a.Status) == Online {
			// Settings of an online app change without a new review.
			if err := write(tx, a); err != nil {
				return err
			}
			if err := event(tx, id, "CONFIGURE", adminID, note); err != nil {
				return err
			}
			out, err = get(tx, id)
			return err
		}
		out, err = stepTx(tx, id, Publish, Reviewer, adminID, string(Publish), note, func(tx *gorm.DB, a *models.App) (map[string]any, error) {
			return map[string]any{"offline_reason": "", "offline_auto": false}, write(tx, a)
		})
		return err
	})
	if err == nil && s.notify != nil {
		s.notify()
	}
	return out, err
}

// cleanHall checks a hall's name and gives it its one spelling.
func (s *Service) cleanHall(h string) (string, error) {
	h = strings.ToUpper(strings.TrimSpace(h))
	switch {
	case h == HallNational:
		return h, nil
	case strings.HasPrefix(h, hallRegionPrefix):
		if code := h[len(hallRegionPrefix):]; s.validRegion(code) {
			return h, nil
		}
	case strings.HasPrefix(h, hallAgencyPrefix):
		if id, err := strconv.ParseUint(h[len(hallAgencyPrefix):], 10, 64); err == nil && id > 0 {
			return HallOfAgency(id), nil
		}
	}
	return "", models.InvalidField("hall", "分厅应为 NATIONAL（全国）、REGION:行政区划代码 或 AGENCY:部门编号。")
}

// ParseHall reads a hall's kind and key: "NATIONAL", "REGION" with a code,
// or "AGENCY" with an ID.
func ParseHall(h string) (kind, key string) {
	if h == HallNational {
		return HallNational, ""
	}
	kind, key, _ = strings.Cut(h, ":")
	return kind, key
}

// Placements are where an app is published.
func (s *Service) Placements(ctx context.Context, id uint64) ([]*models.AppPublication, error) {
	var out []*models.AppPublication
	err := s.db.WithContext(ctx).Where("app_id = ?", id).Order("hall").Find(&out).Error
	return out, err
}

// HallApps are the online apps of a hall, in their configured order.
func (s *Service) HallApps(ctx context.Context, hall string, limit int) ([]*models.AppPublication, error) {
	hall, err := s.cleanHall(hall)
	if err != nil {
		return nil, err
	}
	var out []*models.AppPublication
	err = s.db.WithContext(ctx).Where("hall = ? AND app_id IN (?)", hall, s.db.Model(&models.App{}).Select("id").Where("status = ?", string(Online))).
		Order("sort_order, id").Limit(limit).Find(&out).Error
	return out, err
}
