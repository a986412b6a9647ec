package catalogue

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	"govmobile/models"
	"govmobile/search"

	"gorm.io/gorm"
)

// demoJSON is the demo catalogue of SPEC §5: departments, the national theme
// lists, six demo cities with their halls, and the matter templates with
// guides and the aliases people type.
//
//go:embed demo/catalogue.json
var demoJSON []byte

type demoCatalogue struct {
	Departments []struct {
		Key            string `json:"key"`
		Name           string `json:"name"`
		ProvincialName string `json:"provincialName"`
		NationalName   string `json:"nationalName"`
	} `json:"departments"`
	Themes []struct {
		Key           string               `json:"key"`
		Name          string               `json:"name"`
		ServiceObject models.ServiceObject `json:"serviceObject"`
	} `json:"themes"`
	Cities  []demoCity   `json:"cities"`
	Matters []demoMatter `json:"matters"`
}

type demoCity struct {
	RegionCode   string `json:"regionCode"`
	Name         string `json:"name"`
	ProvinceCode string `json:"provinceCode"`
	DistrictCode string `json:"districtCode"`
	DistrictName string `json:"districtName"`
	Halls        []struct {
		Name         string            `json:"name"`
		Address      string            `json:"address"`
		Lat          float64           `json:"lat"`
		Lng          float64           `json:"lng"`
		Phone        string            `json:"phone"`
		OpeningHours string            `json:"openingHours"`
		Level        models.AdminLevel `json:"level"`
	} `json:"halls"`
}

type demoMatter struct {
	Code           string                 `json:"code"`
	Name           string                 `json:"name"`
	Aliases        []string               `json:"aliases"`
	Nature         models.MatterNature    `json:"nature"`
	ServiceObjects []models.ServiceObject `json:"serviceObjects"`
	Level          models.AdminLevel      `json:"level"`
	Department     string                 `json:"department"`
	Themes         []string               `json:"themes"`
	OnlineDepth    int                    `json:"onlineDepth"`
	Popularity     int                    `json:"popularity"`
	UpdatedAt      string                 `json:"updatedAt"`
	Summary        string                 `json:"summary"`
	Guide          struct {
		models.Guide
		Process []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"process"`
	} `json:"guide"`
}

func parseDemo() (*demoCatalogue, error) {
	var d demoCatalogue
	if err := json.Unmarshal(demoJSON, &d); err != nil {
		return nil, fmt.Errorf("demo catalogue: %w", err)
	}
	return &d, nil
}

// guide converts a template's guide, numbering its steps.
func (m *demoMatter) guide() models.Guide {
	g := m.Guide.Guide
	g.Process = make([]models.ProcessStep, len(m.Guide.Process))
	for i, p := range m.Guide.Process {
		g.Process[i] = models.ProcessStep{Order: i + 1, Name: p.Name, Description: p.Description}
	}
	return g
}

// SeedRegions loads GB/T 2260 into an empty regions table.
func SeedRegions(ctx context.Context, db *gorm.DB) (int, error) {
	var n int64
	if err := db.WithContext(ctx).Model(&models.Region{}).Count(&n).Error; err != nil {
		return 0, err
	}
	if n > 0 {
		return 0, nil
	}
	regions, err := parseRegions()
	if err != nil {
		return 0, err
	}
	return len(regions), db.WithContext(ctx).CreateInBatches(regions, 500).Error
}

// SeedDemo loads the demo catalogue into an empty catalogue, in one
// transaction: a failure leaves no half catalogue behind. It is deterministic:
// the same build always produces the same rows and IDs.
func (s *Service) SeedDemo(ctx context.Context) (matters int, err error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.Matter{}).Count(&n).Error; err != nil {
		return 0, err
	}
	if n > 0 {
		return 0, nil
	}
	d, err := parseDemo()
	if err != nil {
		return 0, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		matters, err = s.seedDemo(tx, d)
		return err
	})
	if err == nil {
		s.Changed()
	}
	return matters, err
}

type seeder struct {
	tx       *gorm.DB
	regions  *RegionIndex
	agencies map[string]*models.Agency
	depts    map[string]int
	d        *demoCatalogue
}

// agency returns the department's agency at a level in a region, creating it.
func (sd *seeder) agency(dept string, level models.AdminLevel, regionCode string) (*models.Agency, error) {
	code := fmt.Sprintf("%s-%s-%s", regionCode, level, dept)
	if a := sd.agencies[code]; a != nil {
		return a, nil
	}
	i, ok := sd.depts[dept]
	if !ok {
		return nil, fmt.Errorf("demo catalogue: unknown department %q", dept)
	}
	dep := sd.d.Departments[i]
	r := sd.regions.Get(regionCode)
	if r == nil {
		return nil, fmt.Errorf("demo catalogue: unknown region %s", regionCode)
	}
	var name string
	switch level {
	case models.LevelNational:
		name = dep.NationalName
	case models.LevelProvincial:
		name = r.Name + dep.ProvincialName
	default:
		name = r.Name + dep.Name
	}
	a := &models.Agency{Code: code, Name: name, Level: level, RegionCode: regionCode}
	// Create it unless an earlier run did.
	if err := sd.tx.Where(models.Agency{Code: code}).FirstOrCreate(a).Error; err != nil {
		return nil, err
	}
	sd.agencies[code] = a
	return a, nil
}

func (s *Service) seedDemo(tx *gorm.DB, d *demoCatalogue) (int, error) {
	sd := &seeder{tx: tx, regions: s.regions, agencies: map[string]*models.Agency{}, depts: map[string]int{}, d: d}
	for i, dep := range d.Departments {
		sd.depts[dep.Key] = i
	}
	themeIDs := map[string]uint64{}
	for i, t := range d.Themes {
		th := &models.Theme{Code: t.Key, Name: t.Name, ServiceObject: t.ServiceObject, SortOrder: i + 1}
		if err := tx.Create(th).Error; err != nil {
			return 0, err
		}
		themeIDs[t.Key] = th.ID
	}
	// Halls by city and level.
	type cityHalls struct {
		city  demoCity
		halls map[models.AdminLevel][]uint64
	}
	var cities []cityHalls
	for _, c := range d.Cities {
		ch := cityHalls{city: c, halls: map[models.AdminLevel][]uint64{}}
		for _, h := range c.Halls {
			region := c.RegionCode
			if h.Level == models.LevelCounty || h.Level == models.LevelTownship {
				region = c.DistrictCode
			}
			hall := &models.Hall{Name: h.Name, Address: h.Address, Lat: h.Lat, Lng: h.Lng, Phone: h.Phone, OpeningHours: h.OpeningHours, RegionCode: region}
			if err := tx.Create(hall).Error; err != nil {
				return 0, err
			}
			ch.halls[h.Level] = append(ch.halls[h.Level], hall.ID)
			if err := search.Enqueue(tx, models.DocHall, hall.ID); err != nil {
				return 0, err
			}
		}
		cities = append(cities, ch)
	}
	count := 0
	var ids []uint64
	national := map[string]bool{}
	provincial := map[string]bool{}
	for _, tpl := range d.Matters {
		for _, ch := range cities {
			c := ch.city
			// Where the matter is implemented, and which halls handle it.
			region, hallLevels := c.DistrictCode, []models.AdminLevel{models.LevelCounty, models.LevelTownship}
			level := tpl.Level
			switch level {
			case models.LevelNational:
				// A national matter is implemented once, by the ministry in
				// the capital; every demo city's centre can take it in.
				if national[tpl.Code] {
					continue
				}
				national[tpl.Code] = true
				region, hallLevels = "110000", []models.AdminLevel{models.LevelCity}
			case models.LevelProvincial:
				key := tpl.Code + c.ProvinceCode
				if provincial[key] {
					continue
				}
				provincial[key] = true
				region, hallLevels = c.ProvinceCode, []models.AdminLevel{models.LevelCity}
				if c.ProvinceCode == c.RegionCode {
					// A municipality's provincial departments are its city bureaus.
					level = models.LevelCity
				}
			case models.LevelCity:
				region, hallLevels = c.RegionCode, []models.AdminLevel{models.LevelCity}
			case models.LevelCounty:
				hallLevels = []models.AdminLevel{models.LevelCounty}
			}
			ag, err := sd.agency(tpl.Department, level, region)
			if err != nil {
				return 0, err
			}
			r := s.regions.Get(region)
			updated, err := time.Parse("2006-01-02", tpl.UpdatedAt)
			if err != nil {
				updated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			m := &models.Matter{
				Code:           tpl.Code + "-" + region,
				Name:           tpl.Name,
				Aliases:        tpl.Aliases,
				Summary:        tpl.Summary,
				Nature:         tpl.Nature,
				ServiceObjects: models.NewServiceObjectSet(tpl.ServiceObjects...),
				Level:          level,
				AgencyID:       ag.ID,
				RegionCode:     region,
				ProvinceCode:   r.ProvinceCode,
				CityCode:       r.CityCode,
				OnlineDepth:    tpl.OnlineDepth,
				Popularity:     tpl.Popularity + int(spread(tpl.Code+region, 500)),
				CreatedAt:      updated,
				UpdatedAt:      updated,
			}
			if err := tx.Create(m).Error; err != nil {
				return 0, err
			}
			if err := tx.Create(&models.MatterGuide{MatterID: m.ID, Guide: tpl.guide()}).Error; err != nil {
				return 0, err
			}
			for _, t := range tpl.Themes {
				id, ok := themeIDs[t]
				if !ok {
					return 0, fmt.Errorf("demo catalogue: matter %s names unknown theme %q", tpl.Name, t)
				}
				if err := tx.Create(&models.MatterTheme{MatterID: m.ID, ThemeID: id}).Error; err != nil {
					return 0, err
				}
			}
			var hallIDs []uint64
			for _, lv := range hallLevels {
				hallIDs = append(hallIDs, ch.halls[lv]...)
			}
			if level == models.LevelNational || tpl.Level == models.LevelProvincial {
				// Every demo city's centre in scope takes these in.
				hallIDs = hallIDs[:0]
				for _, other := range cities {
					if level == models.LevelNational || other.city.ProvinceCode == c.ProvinceCode {
						hallIDs = append(hallIDs, other.halls[models.LevelCity]...)
					}
				}
			}
			sort.Slice(hallIDs, func(i, j int) bool { return hallIDs[i] < hallIDs[j] })
			for _, h := range hallIDs {
				if err := tx.Create(&models.MatterHall{MatterID: m.ID, HallID: h}).Error; err != nil {
					return 0, err
				}
			}
			ids = append(ids, m.ID)
			count++
		}
	}
	return count, search.Enqueue(tx, models.DocMatter, ids...)
}

// spread maps a string to a stable number in [0, n).
func spread(s string, n uint32) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32() % n
}
