package catalogue

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"govmobile/models"
	"govmobile/search"

	"gorm.io/gorm"
)

// SeedSynthetic adds n generated matters for scale tests: copies of the demo
// templates implemented by county agencies all over the country, each with a
// guide, themes and a county hall. Batches commit one by one, so progress
// survives an interruption; the generator is seeded, so two runs on empty
// databases give the same rows.
func (s *Service) SeedSynthetic(ctx context.Context, n int, progress io.Writer) error {
	if n <= 0 {
		return fmt.Errorf("number of synthetic matters must be positive")
	}
	d, err := parseDemo()
	if err != nil {
		return err
	}
	var existing int64
	if err := s.db.WithContext(ctx).Model(&models.Matter{}).Where("code LIKE ?", "SYN-%").Count(&existing).Error; err != nil {
		return err
	}
	themeIDs := map[string]uint64{}
	var themes []models.Theme
	if err := s.db.WithContext(ctx).Find(&themes).Error; err != nil {
		return err
	}
	for _, t := range themes {
		themeIDs[t.Code] = t.ID
	}
	var counties []*models.Region
	for _, p := range s.regions.Children("") {
		for _, c := range s.regions.Children(p.Code) {
			if c.Level == models.RegionCounty {
				counties = append(counties, c)
			}
			counties = append(counties, s.regions.Children(c.Code)...)
		}
	}
	if len(counties) == 0 {
		return fmt.Errorf("no regions loaded")
	}
	rng := rand.New(rand.NewPCG(uint64(existing)+1, 2260))
	sd := &seeder{regions: s.regions, agencies: map[string]*models.Agency{}, depts: map[string]int{}, d: d}
	for i, dep := range d.Departments {
		sd.depts[dep.Key] = i
	}
	halls := map[string]uint64{}
	const batch = 1000
	start := time.Now()
	for done := 0; done < n; {
		size := min(batch, n-done)
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			sd.tx = tx
			matters := make([]*models.Matter, size)
			tpls := make([]*demoMatter, size)
			for i := range matters {
				tpl := &d.Matters[rng.IntN(len(d.Matters))]
				county := counties[rng.IntN(len(counties))]
				ag, err := sd.agency(tpl.Department, models.LevelCounty, county.Code)
				if err != nil {
					return err
				}
				seq := int(existing) + done + i + 1
				updated := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(1000*24)) * time.Hour)
				matters[i] = &models.Matter{
					Code:           fmt.Sprintf("SYN-%08d", seq),
					Name:           fmt.Sprintf("%s（%s）", tpl.Name, county.Name),
					Aliases:        tpl.Aliases,
					Summary:        tpl.Summary,
					Nature:         models.MatterNatures[rng.IntN(len(models.MatterNatures))],
					ServiceObjects: models.NewServiceObjectSet(tpl.ServiceObjects...),
					Level:          models.AdminLevels[2+rng.IntN(3)],
					AgencyID:       ag.ID,
					RegionCode:     county.Code,
					ProvinceCode:   county.ProvinceCode,
					CityCode:       county.CityCode,
					OnlineDepth:    rng.IntN(5),
					Popularity:     rng.IntN(100000),
					CreatedAt:      updated,
					UpdatedAt:      updated,
				}
				tpls[i] = tpl
			}
			if err := tx.CreateInBatches(matters, 250).Error; err != nil {
				return err
			}
			guides := make([]models.MatterGuide, size)
			var links []models.MatterTheme
			var hallLinks []models.MatterHall
			for i, m := range matters {
				guides[i] = models.MatterGuide{MatterID: m.ID, Guide: tpls[i].guide()}
				for _, t := range tpls[i].Themes {
					if id := themeIDs[t]; id != 0 {
						links = append(links, models.MatterTheme{MatterID: m.ID, ThemeID: id})
					}
				}
				hid, err := syntheticHall(tx, halls, s.regions.Get(m.RegionCode))
				if err != nil {
					return err
				}
				hallLinks = append(hallLinks, models.MatterHall{MatterID: m.ID, HallID: hid})
			}
			if err := tx.CreateInBatches(guides, 250).Error; err != nil {
				return err
			}
			if len(links) > 0 {
				if err := tx.CreateInBatches(links, 500).Error; err != nil {
					return err
				}
			}
			if err := tx.CreateInBatches(hallLinks, 500).Error; err != nil {
				return err
			}
			ids := make([]uint64, len(matters))
			for i, m := range matters {
				ids[i] = m.ID
			}
			return search.Enqueue(tx, models.DocMatter, ids...)
		})
		if err != nil {
			return fmt.Errorf("synthetic batch at %d: %w", done, err)
		}
		done += size
		if progress != nil {
			fmt.Fprintf(progress, "已生成 %d/%d 个事项（%.1f 秒）\n", done, n, time.Since(start).Seconds())
		}
	}
	s.Changed()
	return nil
}

// syntheticHall returns the county's generated service centre, creating it.
// Its coordinates are made up (inside China's bounding box) and say so.
func syntheticHall(tx *gorm.DB, cache map[string]uint64, county *models.Region) (uint64, error) {
	if id := cache[county.Code]; id != 0 {
		return id, nil
	}
	h := &models.Hall{RegionCode: county.Code}
	if err := tx.Where("region_code = ? AND name = ?", county.Code, county.FullName+"政务服务中心（合成数据）").Take(h).Error; err == nil {
		cache[county.Code] = h.ID
		return h.ID, nil
	}
	x := spread(county.Code, 10000)
	h = &models.Hall{
		Name:         county.FullName + "政务服务中心（合成数据）",
		Address:      county.FullName + "人民路1号（合成数据）",
		Lat:          22 + float64(x%2000)/100,
		Lng:          100 + float64(x/2000)*4,
		Phone:        "12345",
		OpeningHours: "周一至周五 9:00-12:00，13:30-17:00",
		RegionCode:   county.Code,
	}
	if err := tx.Create(h).Error; err != nil {
		return 0, err
	}
	if err := search.Enqueue(tx, models.DocHall, h.ID); err != nil {
		return 0, err
	}
	cache[county.Code] = h.ID
	return h.ID, nil
}
