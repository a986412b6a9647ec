package catalogue

import (
	"context"

	"gorm.io/gorm"

	"govmobile/models"
)

// These batch reads back the per-request dataloaders: each answers for many
// keys in one statement, and returns results in the order of the keys.

// AgenciesByID loads agencies; a missing one is nil.
func (s *Service) AgenciesByID(ctx context.Context, ids []uint64) ([]*models.Agency, error) {
	return byID(ctx, s.db, ids, func(a *models.Agency) uint64 { return a.ID })
}

// MattersByKey loads matters; a missing one is nil (for dataloaders, which
// want one value per key; MattersByID leaves missing ones out).
func (s *Service) MattersByKey(ctx context.Context, ids []uint64) ([]*models.Matter, error) {
	return byID(ctx, s.db, ids, func(m *models.Matter) uint64 { return m.ID })
}

// HallsByID loads halls; a missing one is nil.
func (s *Service) HallsByID(ctx context.Context, ids []uint64) ([]*models.Hall, error) {
	return byID(ctx, s.db, ids, func(h *models.Hall) uint64 { return h.ID })
}

// byID loads rows by primary key in one statement, in the order of ids,
// nil where a row is missing.
func byID[T any](ctx context.Context, db *gorm.DB, ids []uint64, id func(*T) uint64) ([]*T, error) {
	var rows []*T
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	by := make(map[uint64]*T, len(rows))
	for _, r := range rows {
		by[id(r)] = r
	}
	out := make([]*T, len(ids))
	for i, k := range ids {
		out[i] = by[k]
	}
	return out, nil
}

// ThemesByMatter loads each matter's themes in display order.
func (s *Service) ThemesByMatter(ctx context.Context, matterIDs []uint64) ([][]*models.Theme, error) {
	type row struct {
		MatterID uint64
		models.Theme
	}
	var rows []row
	err := s.db.WithContext(ctx).Table("matter_themes").
		Select("matter_themes.matter_id, themes.*").
		Joins("JOIN themes ON themes.id = matter_themes.theme_id").
		Where("matter_themes.matter_id IN ?", matterIDs).
		Order("themes.sort_order").Order("themes.id").
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	by := make(map[uint64][]*models.Theme, len(matterIDs))
	for i := range rows {
		by[rows[i].MatterID] = append(by[rows[i].MatterID], &rows[i].Theme)
	}
	return inOrder(matterIDs, by), nil
}

// HallsByMatter loads the halls where each matter can be handled.
func (s *Service) HallsByMatter(ctx context.Context, matterIDs []uint64) ([][]*models.Hall, error) {
	type row struct {
		MatterID uint64
		models.Hall
	}
	var rows []row
	err := s.db.WithContext(ctx).Table("matter_halls").
		Select("matter_halls.matter_id, halls.*").
		Joins("JOIN halls ON halls.id = matter_halls.hall_id").
		Where("matter_halls.matter_id IN ?", matterIDs).
		Order("halls.id").
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	by := make(map[uint64][]*models.Hall, len(matterIDs))
	for i := range rows {
		by[rows[i].MatterID] = append(by[rows[i].MatterID], &rows[i].Hall)
	}
	return inOrder(matterIDs, by), nil
}

// GuidesByMatter loads each matter's guide; a matter without one gets an
// empty guide rather than an error.
func (s *Service) GuidesByMatter(ctx context.Context, matterIDs []uint64) ([]*models.Guide, error) {
	var rows []models.MatterGuide
	if err := s.db.WithContext(ctx).Where("matter_id IN ?", matterIDs).Find(&rows).Error; err != nil {
		return nil, err
	}
	by := make(map[uint64]*models.Guide, len(rows))
	for i := range rows {
		by[rows[i].MatterID] = &rows[i].Guide
	}
	out := make([]*models.Guide, len(matterIDs))
	for i, id := range matterIDs {
		if g := by[id]; g != nil {
			out[i] = g
		} else {
			out[i] = &models.Guide{}
		}
	}
	return out, nil
}

func inOrder[T any](ids []uint64, by map[uint64][]T) [][]T {
	out := make([][]T, len(ids))
	for i, id := range ids {
		if v := by[id]; v != nil {
			out[i] = v
		} else {
			out[i] = []T{}
		}
	}
	return out
}
