package exchange

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"govmobile/models"
)

// hallItem is a hall as a file holds it. Halls have no code: a hall is
// known by its region and name, so an import cannot rename a hall or move
// it to another region (it would add a new one).
type hallItem struct {
	RegionCode   string   `json:"regionCode"`
	Name         string   `json:"name"`
	Address      string   `json:"address"`
	Lat          *float64 `json:"lat"`
	Lng          *float64 `json:"lng"`
	Phone        *string  `json:"phone"`
	OpeningHours *string  `json:"openingHours"`
}

func (h *hallItem) cells() []string {
	return []string{h.RegionCode, h.Name, h.Address, floatCell(h.Lat), floatCell(h.Lng), deref(h.Phone), deref(h.OpeningHours)}
}

func floatCell(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func hallFromCSV(ck check, c cells) hallItem {
	var h hallItem
	h.RegionCode, _ = c.get("regionCode")
	h.Name, _ = c.get("name")
	h.Address, _ = c.get("address")
	lat, _ := c.get("lat")
	lng, _ := c.get("lng")
	h.Lat, h.Lng = ck.parseFloat("lat", lat), ck.parseFloat("lng", lng)
	if s, ok := c.get("phone"); ok {
		h.Phone = &s
	}
	if s, ok := c.get("openingHours"); ok {
		h.OpeningHours = &s
	}
	return h
}

func exportHalls(q *gorm.DB, sc scope, out *writer) error {
	db := q.Model(&models.Hall{})
	if sc.prefix != "" {
		db = db.Where("region_code LIKE ?", sc.prefix+"%")
	}
	var after uint64
	for {
		var page []*models.Hall
		if err := db.Session(&gorm.Session{}).Where("id > ?", after).Order("id").Limit(exportPage).Find(&page).Error; err != nil {
			return err
		}
		for _, h := range page {
			if err := out.write(&hallItem{RegionCode: h.RegionCode, Name: h.Name, Address: h.Address,
				Lat: &h.Lat, Lng: &h.Lng, Phone: &h.Phone, OpeningHours: &h.OpeningHours}); err != nil {
				return err
			}
		}
		if err := out.flush(); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

type hallRow struct {
	row                 int
	h                   models.Hall
	phone, openingHours bool // given
}

type hallImport struct {
	rows []hallRow
	n    int
	// the plan
	creates, updates []*models.Hall
	unchanged        int
}

func (im *hallImport) total() int { return im.n }

func (im *hallImport) counts() (int, int, int) {
	return len(im.creates), len(im.updates), im.unchanged
}

func (im *hallImport) decode(kind Kind, format Format, data []byte, col *collector) error {
	var items []hallItem
	var nums []int
	var err error
	items, nums, im.n, err = decodeRows(kind, format, data, col, hallFromCSV)
	if err != nil {
		return err
	}
	seen := map[hallKey]int{}
	for i, it := range items {
		c := check{nums[i], col}
		r := hallRow{row: c.row, phone: it.Phone != nil, openingHours: it.OpeningHours != nil}
		r.h = models.Hall{
			RegionCode:   c.regionCode("regionCode", it.RegionCode),
			Name:         c.text("name", it.Name, maxName, true, false),
			Address:      c.text("address", it.Address, maxAddress, true, false),
			Phone:        c.phone("phone", deref(it.Phone)),
			OpeningHours: c.text("openingHours", deref(it.OpeningHours), maxHours, false, false),
		}
		c.coordinates(it.Lat, it.Lng)
		r.h.Lat, r.h.Lng = deref(it.Lat), deref(it.Lng)
		k := hallKey{r.h.RegionCode, r.h.Name}
		if first, dup := seen[k]; dup && k.Name != "" {
			c.fail("name", fmt.Sprintf("同一行政区划下的大厅名称与第%d行重复。", first))
		} else {
			seen[k] = c.row
		}
		im.rows = append(im.rows, r)
	}
	return nil
}

func (im *hallImport) plan(q *gorm.DB, sc scope, col *collector) error {
	im.creates, im.updates, im.unchanged = nil, nil, 0
	regions, err := loadRegions(q)
	if err != nil {
		return err
	}
	codes := make([]string, len(im.rows))
	for i, r := range im.rows {
		codes[i] = r.h.RegionCode
	}
	existing, err := loadHalls(q, codes)
	if err != nil {
		return err
	}
	for _, r := range im.rows {
		if col.failed(r.row) {
			continue
		}
		h := r.h
		if _, ok := regions[h.RegionCode]; !ok {
			col.dbErr(r.row, "regionCode", fmt.Sprintf("行政区划代码“%s”不存在。", h.RegionCode))
			continue
		}
		if !sc.region(h.RegionCode) {
			col.dbErr(r.row, "regionCode", "行政区划不在您的管辖范围内。")
			continue
		}
		olds := existing[hallKey{h.RegionCode, h.Name}]
		if len(olds) > 1 {
			col.dbErr(r.row, "name", fmt.Sprintf("该行政区划下已有%d个同名大厅，无法确定要更新哪一个，请先在管理后台为它们改名。", len(olds)))
			continue
		}
		if len(olds) == 0 {
			im.creates = append(im.creates, &h)
			continue
		}
		old := olds[0]
		if !r.phone {
			h.Phone = old.Phone
		}
		if !r.openingHours {
			h.OpeningHours = old.OpeningHours
		}
		if old.Address == h.Address && old.Lat == h.Lat && old.Lng == h.Lng && old.Phone == h.Phone && old.OpeningHours == h.OpeningHours {
			im.unchanged++
			continue
		}
		h.ID = old.ID
		im.updates = append(im.updates, &h)
	}
	return nil
}

func (im *hallImport) apply(tx *gorm.DB, _ time.Time) error {
	if err := createInBatches(tx, im.creates); err != nil {
		return err
	}
	if err := upsertByID(tx, im.updates, "address", "lat", "lng", "phone", "opening_hours"); err != nil {
		return err
	}
	ids := make([]uint64, 0, len(im.creates)+len(im.updates))
	for _, h := range append(slices.Clip(im.creates), im.updates...) {
		ids = append(ids, h.ID)
	}
	return enqueue(tx, models.DocHall, ids)
}
