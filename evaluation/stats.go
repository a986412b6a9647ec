package evaluation

import (
	"context"
	"fmt"
	"slices"

	"govmobile/models"
)

// GroupBy is what statistics are grouped by.
type GroupBy string

// The groupings of the admin console.
const (
	ByMatter GroupBy = "MATTER"
	ByAgency GroupBy = "AGENCY"
	ByApp    GroupBy = "APP"
	ByRegion GroupBy = "REGION"
)

// Stat is the ratings of one matter, agency, app or region.
type Stat struct {
	Kind GroupBy
	// Key is the matter, agency or app ID, or the region code.
	Key    string
	Total  int
	Counts map[Level]int
}

// SatisfactionRate is the share of ratings that are not bad (非常满意,
// 满意 and 基本满意), from 0 to 1; 0 without ratings.
func (s *Stat) SatisfactionRate() float64 {
	if s.Total == 0 {
		return 0
	}
	return float64(s.Total-s.Counts[Dissatisfied]-s.Counts[VeryDissatisfied]) / float64(s.Total)
}

// Filter narrows statistics: to a region and the regions below it (by the
// region code's prefix: 2 digits for a province, 4 for a city, all 6 for a
// county).
type Filter struct {
	RegionPrefix string
}

// Stats counts the ratings that count — the current round of each, none
// whose appeal was upheld — grouped, most rated first, at most limit
// groups. Case ratings group by matter and agency, app ratings by app;
// both by region.
func (s *Service) Stats(ctx context.Context, by GroupBy, f Filter, limit int) ([]*Stat, error) {
	var col string
	q := s.db.WithContext(ctx).Model(&models.Evaluation{}).Where("current = ? AND voided = ?", true, false)
	switch by {
	case ByMatter:
		col = "matter_id"
		q = q.Where("target = ?", models.EvaluateCase)
	case ByAgency:
		col = "agency_id"
		q = q.Where("target = ?", models.EvaluateCase)
	case ByApp:
		col = "app_id"
		q = q.Where("target = ?", models.EvaluateApp)
	case ByRegion:
		col = "region_code"
	default:
		return nil, models.InvalidField("groupBy", "统计维度只能是 MATTER、AGENCY、APP 或 REGION。")
	}
	if f.RegionPrefix != "" {
		q = q.Where("region_code LIKE ?", f.RegionPrefix+"%")
	}
	var rows []struct {
		Key   string
		Level string
		N     int
	}
	if err := q.Select(fmt.Sprintf("%s AS `key`, level, COUNT(*) AS n", col)).Group(col + ", level").Scan(&rows).Error; err != nil {
		return nil, err
	}
	by2 := map[string]*Stat{}
	var out []*Stat
	for _, r := range rows {
		st := by2[r.Key]
		if st == nil {
			st = &Stat{Kind: by, Key: r.Key, Counts: map[Level]int{}}
			by2[r.Key] = st
			out = append(out, st)
		}
		st.Counts[Level(r.Level)] += r.N
		st.Total += r.N
	}
	slices.SortFunc(out, func(a, b *Stat) int {
		if a.Total != b.Total {
			return b.Total - a.Total
		}
		if a.Key < b.Key {
			return -1
		}
		return 1
	})
	return out[:min(len(out), limit)], nil
}
