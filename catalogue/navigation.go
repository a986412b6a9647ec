package catalogue

import (
	"context"
	"fmt"

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

// Navigation counts the matters per category of one dimension, within a
// region (and below) when regionCode is given. Empty categories are left out;
// fixed dimensions keep their display order, agencies and themes come by count.
func (s *Service) Navigation(ctx context.Context, dim NavigationDimension, regionCode string) ([]NavigationEntry, error) {
	q, err := s.filtered(ctx, MatterFilter{RegionCode: regionCode})
	if err != nil {
		return nil, err
	}
	type count struct {
		Key   string
		ID    uint64
		Name  string
		Count int64
	}
	var rows []count
	switch dim {
	case ByNature, ByLevel:
		col := "nature"
		if dim == ByLevel {
			col = "level"
		}
		err = q.Select(col + " AS `key`, COUNT(*) AS count").Group(col).Scan(&rows).Error
	case ByServiceObject:
		var sums struct{ A, B, C int64 }
		err = q.Select(
			"SUM(CASE WHEN (service_objects & 1) <> 0 THEN 1 ELSE 0 END) AS a, " +
				"SUM(CASE WHEN (service_objects & 2) <> 0 THEN 1 ELSE 0 END) AS b, " +
				"SUM(CASE WHEN (service_objects & 4) <> 0 THEN 1 ELSE 0 END) AS c").Scan(&sums).Error
		for i, n := range []int64{sums.A, sums.B, sums.C} {
			rows = append(rows, count{Key: string(models.ServiceObjects[i]), Count: n})
		}
	case ByAgency:
		err = q.Select("matters.agency_id AS id, agencies.name AS name, COUNT(*) AS count").
			Joins("JOIN agencies ON agencies.id = matters.agency_id").
			Group("matters.agency_id, agencies.name").
			Order("count DESC").Order("matters.agency_id").Limit(500).Scan(&rows).Error
	case ByTheme:
		err = q.Select("themes.id AS id, themes.name AS name, COUNT(*) AS count").
			Joins("JOIN matter_themes ON matter_themes.matter_id = matters.id").
			Joins("JOIN themes ON themes.id = matter_themes.theme_id").
			Group("themes.id, themes.name").
			Order("count DESC").Order("themes.id").Scan(&rows).Error
	default:
		return nil, models.InvalidField("dimension", "不支持的导航维度。")
	}
	if err != nil {
		return nil, fmt.Errorf("navigation %s: %w", dim, err)
	}
	byKey := map[string]int64{}
	for _, r := range rows {
		byKey[r.Key] = r.Count
	}
	var out []NavigationEntry
	add := func(key, name string) {
		if n := byKey[key]; n > 0 {
			out = append(out, NavigationEntry{Key: key, Name: name, Count: n})
		}
	}
	switch dim {
	case ByNature:
		for _, n := range models.MatterNatures {
			add(string(n), n.Name())
		}
	case ByLevel:
		for _, l := range models.AdminLevels {
			add(string(l), l.Name())
		}
	case ByServiceObject:
		for _, o := range models.ServiceObjects {
			add(string(o), o.Name())
		}
	default:
		for _, r := range rows {
			out = append(out, NavigationEntry{ID: r.ID, Name: r.Name, Count: r.Count})
		}
	}
	return out, nil
}
