package catalogue

import (
	"context"
	"fmt"
	"sort"

	"govmobile/models"
)

// NavigationDimension is a way of browsing the catalogue (8.1.2 h).
type NavigationDimension string

// The navigation dimensions.
const (
	ByNature        NavigationDimension = "NATURE"
	ByServiceObject NavigationDimension = "SERVICE_OBJECT"
	ByAgency        NavigationDimension = "AGENCY"
	ByTheme         NavigationDimension = "THEME"
	ByLevel         NavigationDimension = "LEVEL"
)

// NavigationEntry is one category with its matter count. Key is the enum
// value for fixed dimensions; for agencies and themes ID is set instead.
type NavigationEntry struct {
	Key   string
	ID    uint64
	Name  string
	Count int64
}

// maxAgencyEntries bounds the agency dimension (nationally there are tens of
// thousands of agencies; a frontend shows the busiest).
const maxAgencyEntries = 500

// Navigation counts the matters per category of one dimension, within a
// region (and below) when regionCode is given. Empty categories are left out;
// fixed dimensions keep their display order, agencies and themes come by
// count. Answers are kept until the next catalogue write.
func (s *Service) Navigation(ctx context.Context, dim NavigationDimension, regionCode string) ([]NavigationEntry, error) {
	switch dim {
	case ByNature, ByLevel, ByServiceObject, ByAgency, ByTheme:
	default:
		return nil, models.InvalidField("dimension", "不支持的导航维度。")
	}
	return cachedAggregate(s, "nav|"+string(dim)+"|"+regionCode, func() ([]NavigationEntry, error) {
		return s.navigation(ctx, dim, regionCode)
	})
}

type groupCount struct {
	Key   string
	ID    uint64
	Count int64
}

func (s *Service) navigation(ctx context.Context, dim NavigationDimension, regionCode string) ([]NavigationEntry, error) {
	q, err := s.filtered(ctx, MatterFilter{RegionCode: regionCode}, forCount)
	if err != nil {
		return nil, err
	}
	var rows []groupCount
	switch dim {
	case ByNature:
		err = q.Select("matters.nature AS `key`, COUNT(*) AS count").Group("matters.nature").Scan(&rows).Error
		return fixedEntries(rows, err, models.MatterNatures, models.MatterNature.Name)
	case ByLevel:
		err = q.Select("matters.level AS `key`, COUNT(*) AS count").Group("matters.level").Scan(&rows).Error
		return fixedEntries(rows, err, models.AdminLevels, models.AdminLevel.Name)
	case ByServiceObject:
		// Group by the stored set (a covering index scan), then add each
		// set's count to every object it contains.
		var sets []struct {
			ServiceObjects models.ServiceObjectSet
			Count          int64
		}
		err = q.Select("matters.service_objects, COUNT(*) AS count").Group("matters.service_objects").Scan(&sets).Error
		perObject := map[string]int64{}
		for _, set := range sets {
			for _, o := range set.ServiceObjects.List() {
				perObject[string(o)] += set.Count
			}
		}
		for k, n := range perObject {
			rows = append(rows, groupCount{Key: k, Count: n})
		}
		return fixedEntries(rows, err, models.ServiceObjects, models.ServiceObject.Name)
	case ByAgency:
		err = q.Select("matters.agency_id AS id, COUNT(*) AS count").Group("matters.agency_id").
			Order("count DESC").Order("matters.agency_id").Limit(maxAgencyEntries).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("navigation by agency: %w", err)
		}
		return s.namedEntries(ctx, rows, &models.Agency{})
	case ByTheme:
		if regionCode == "" {
			// Nationally the link table alone answers, from its theme index.
			err = s.db.WithContext(ctx).Model(&models.MatterTheme{}).
				Select("theme_id AS id, COUNT(*) AS count").Group("theme_id").Scan(&rows).Error
		} else {
			err = q.Select("matter_themes.theme_id AS id, COUNT(*) AS count").
				Joins("JOIN matter_themes ON matter_themes.matter_id = matters.id").
				Group("matter_themes.theme_id").Scan(&rows).Error
		}
		if err != nil {
			return nil, fmt.Errorf("navigation by theme: %w", err)
		}
		return s.namedEntries(ctx, rows, &models.Theme{})
	}
	return nil, models.InvalidField("dimension", "不支持的导航维度。")
}

// fixedEntries orders counts of an enum dimension in the enum's order.
func fixedEntries[E ~string](rows []groupCount, err error, all []E, name func(E) string) ([]NavigationEntry, error) {
	if err != nil {
		return nil, fmt.Errorf("navigation: %w", err)
	}
	byKey := map[string]int64{}
	for _, r := range rows {
		byKey[r.Key] = r.Count
	}
	out := []NavigationEntry{}
	for _, e := range all {
		if n := byKey[string(e)]; n > 0 {
			out = append(out, NavigationEntry{Key: string(e), Name: name(e), Count: n})
		}
	}
	return out, nil
}

// namedEntries names counted IDs from model's table (id, name) with one
// more statement, busiest first.
func (s *Service) namedEntries(ctx context.Context, rows []groupCount, model any) ([]NavigationEntry, error) {
	out := []NavigationEntry{}
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uint64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var named []struct {
		ID   uint64
		Name string
	}
	if err := s.db.WithContext(ctx).Model(model).Select("id, name").Where("id IN ?", ids).Scan(&named).Error; err != nil {
		return nil, fmt.Errorf("navigation names: %w", err)
	}
	byID := make(map[uint64]string, len(named))
	for _, n := range named {
		byID[n.ID] = n.Name
	}
	for _, r := range rows {
		if n, ok := byID[r.ID]; ok && r.Count > 0 {
			out = append(out, NavigationEntry{ID: r.ID, Name: n, Count: r.Count})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
