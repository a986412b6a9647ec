package catalogue

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"gorm.io/gorm"

	"govmobile/geo"
	"govmobile/models"
	"govmobile/pagination"
)

// The radius of a nearby search, in kilometres.
const (
	DefaultRadiusKm = 50
	MaxRadiusKm     = 500
)

// HallQuery selects service halls (8.1.2 i): near a point (WGS-84) within a
// radius, sorted by distance, or else all, by ID; optionally only those in
// a region (and the regions below it) or handling a matter.
type HallQuery struct {
	Near       *geo.Point
	RadiusKm   *float64
	RegionCode string
	MatterID   uint64
	First      int
	After      string
}

// HallPage is one page of halls, each with its cursor.
type HallPage struct {
	Halls   []*models.Hall
	Cursors []string
	Total   int
	HasNext bool
}

// Halls runs a hall query. A nearby search reads the IDs and coordinates of
// the halls in the radius's bounding box (idx_halls_lat_lng), measures them,
// and loads only the page's rows.
func (s *Service) Halls(ctx context.Context, q HallQuery) (*HallPage, error) {
	db := s.db.WithContext(ctx).Model(&models.Hall{})
	if q.RegionCode != "" {
		r, err := s.regions.Lookup("regionCode", q.RegionCode)
		if err != nil {
			return nil, err
		}
		db = db.Where("region_code LIKE ?", RegionPrefix(r)+"%")
	}
	if q.MatterID != 0 {
		var n int64
		if err := s.db.WithContext(ctx).Model(&models.Matter{}).Where("id = ?", q.MatterID).Count(&n).Error; err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, models.Errorf(models.ECodeNotFound, "没有找到这个事项。")
		}
		db = db.Where("id IN (?)", s.db.Model(&models.MatterHall{}).Select("hall_id").Where("matter_id = ?", q.MatterID))
	}
	if q.Near == nil {
		if q.RadiusKm != nil {
			return nil, models.InvalidField("radiusKm", "按距离查找时请同时给出位置 near。")
		}
		return s.hallsByID(db, q)
	}
	return s.hallsNear(ctx, db, q)
}

// hallsByID is a page of halls in ID order.
func (s *Service) hallsByID(db *gorm.DB, q HallQuery) (*HallPage, error) {
	const order = "hall-id"
	var total int64
	if err := db.Count(&total).Error; err != nil {
		return nil, err
	}
	if q.After != "" {
		c, err := pagination.Decode(q.After, order)
		if err != nil {
			return nil, err
		}
		db = db.Where("id > ?", c.ID)
	}
	var halls []*models.Hall
	if err := db.Order("id").Limit(q.First + 1).Find(&halls).Error; err != nil {
		return nil, err
	}
	page := &HallPage{Total: int(total), HasNext: len(halls) > q.First}
	page.Halls = halls[:min(len(halls), q.First)]
	for _, h := range page.Halls {
		page.Cursors = append(page.Cursors, pagination.Encode(pagination.Cursor{Order: order, Value: 0.0, ID: h.ID}))
	}
	return page, nil
}

// hallsNear is a page of the halls within the radius, nearest first.
func (s *Service) hallsNear(ctx context.Context, db *gorm.DB, q HallQuery) (*HallPage, error) {
	radiusKm := float64(DefaultRadiusKm)
	if q.RadiusKm != nil {
		radiusKm = *q.RadiusKm
		if math.IsNaN(radiusKm) || radiusKm <= 0 || radiusKm > MaxRadiusKm {
			return nil, models.InvalidField("radiusKm", fmt.Sprintf("查找半径 radiusKm 应大于0、不超过%d公里。", MaxRadiusKm))
		}
	}
	p := *q.Near
	radius := radiusKm * 1000
	// The cursor belongs to this point and radius: a cursor from another
	// search would skip or repeat halls, and is refused.
	order := "near:" + strconv.FormatFloat(p.Lat, 'g', -1, 64) + "," + strconv.FormatFloat(p.Lng, 'g', -1, 64) + "," +
		strconv.FormatFloat(radiusKm, 'g', -1, 64)
	minLat, maxLat, minLng, maxLng := geo.Box(p, radius)
	var spots []struct {
		ID       uint64
		Lat, Lng float64
	}
	if err := db.Select("id", "lat", "lng").Where("lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?", minLat, maxLat, minLng, maxLng).
		Find(&spots).Error; err != nil {
		return nil, err
	}
	in := make([]near, 0, len(spots))
	for _, h := range spots {
		if d := geo.Distance(p, geo.Point{Lat: h.Lat, Lng: h.Lng}); d <= radius {
			in = append(in, near{h.ID, d})
		}
	}
	slices.SortFunc(in, near.cmp)
	page := &HallPage{Total: len(in)}
	rest := in
	if q.After != "" {
		c, err := pagination.Decode(q.After, order)
		if err != nil {
			return nil, err
		}
		d, _ := c.Value.(float64)
		// The page starts after the cursor's hall, wherever the cursor's
		// hall is now (it may have been deleted).
		i, found := slices.BinarySearchFunc(in, near{c.ID, d}, near.cmp)
		if found {
			i++
		}
		rest = in[i:]
	}
	page.HasNext = len(rest) > q.First
	rest = rest[:min(len(rest), q.First)]
	ids := make([]uint64, len(rest))
	for i, n := range rest {
		ids[i] = n.id
	}
	halls, err := s.HallsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, h := range halls {
		if h == nil { // deleted meanwhile
			continue
		}
		d := rest[i].d
		h.DistanceMeters = &d
		page.Halls = append(page.Halls, h)
		page.Cursors = append(page.Cursors, pagination.Encode(pagination.Cursor{Order: order, Value: d, ID: h.ID}))
	}
	return page, nil
}

// near is a hall's ID and distance, ordered nearest first, then by ID.
type near struct {
	id uint64
	d  float64
}

func (a near) cmp(b near) int {
	if c := cmp.Compare(a.d, b.d); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// MaxHallMatters is the most matters listed for a hall.
const MaxHallMatters = 20

// MattersOfHalls is, for each hall of ids (in their order), up to
// MaxHallMatters of the matters handled there, most popular first: one
// statement for a page of halls (a window function numbers each hall's
// matters).
func (s *Service) MattersOfHalls(ctx context.Context, ids []uint64) ([][]*models.Matter, error) {
	var rows []struct {
		HallID uint64
		models.Matter
	}
	inner := s.db.Table("matter_halls").
		Select("matter_halls.hall_id, matters.*, ROW_NUMBER() OVER (PARTITION BY matter_halls.hall_id ORDER BY matters.popularity DESC, matters.id) AS rn").
		Joins("JOIN matters ON matters.id = matter_halls.matter_id").Where("matter_halls.hall_id IN ?", ids)
	if err := s.db.WithContext(ctx).Table("(?) AS ranked", inner).Where("rn <= ?", MaxHallMatters).
		Order("hall_id, rn").Find(&rows).Error; err != nil {
		return nil, err
	}
	by := make(map[uint64][]*models.Matter, len(ids))
	for i := range rows {
		by[rows[i].HallID] = append(by[rows[i].HallID], &rows[i].Matter)
	}
	out := make([][]*models.Matter, len(ids))
	for i, id := range ids {
		out[i] = by[id]
	}
	return out, nil
}

// MatterCountsOfHalls is how many matters each hall handles, in the order
// of ids.
func (s *Service) MatterCountsOfHalls(ctx context.Context, ids []uint64) ([]int, error) {
	var rows []struct {
		HallID uint64
		N      int
	}
	if err := s.db.WithContext(ctx).Model(&models.MatterHall{}).Select("hall_id, COUNT(*) AS n").
		Where("hall_id IN ?", ids).Group("hall_id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	by := make(map[uint64]int, len(rows))
	for _, r := range rows {
		by[r.HallID] = r.N
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = by[id]
	}
	return out, nil
}

// RegionPrefix is the region-code prefix shared by a region and the regions
// below it: 2 digits for a province, 4 for a city, all 6 for a county.
func RegionPrefix(r *models.Region) string {
	switch r.Level {
	case models.RegionProvince:
		return r.Code[:2]
	case models.RegionCity:
		return r.Code[:4]
	}
	return r.Code
}
