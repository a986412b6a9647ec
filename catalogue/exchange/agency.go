package exchange

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// agencyItem is an agency as a file holds it.
type agencyItem struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Level      string `json:"level"`
	RegionCode string `json:"regionCode"`
}

func (a *agencyItem) cells() []string {
	return []string{a.Code, a.Name, models.AdminLevel(a.Level).Name(), a.RegionCode}
}

func agencyFromCSV(_ check, c cells) agencyItem {
	var a agencyItem
	a.Code, _ = c.get("code")
	a.Name, _ = c.get("name")
	a.Level, _ = c.get("level")
	a.RegionCode, _ = c.get("regionCode")
	return a
}

// exportPage is how many rows an export reads at a time.
const exportPage = 500

func exportAgencies(q *gorm.DB, sc scope, out *writer) error {
	db := q.Model(&models.Agency{})
	if sc.prefix != "" {
		db = db.Where("region_code LIKE ?", sc.prefix+"%")
	}
	if sc.agencyID != 0 {
		db = db.Where("id = ?", sc.agencyID)
	}
	var after uint64
	for {
		var page []*models.Agency
		if err := db.Session(&gorm.Session{}).Where("id > ?", after).Order("id").Limit(exportPage).Find(&page).Error; err != nil {
			return err
		}
		for _, a := range page {
			if err := out.write(&agencyItem{Code: a.Code, Name: a.Name, Level: string(a.Level), RegionCode: a.RegionCode}); err != nil {
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

type agencyRow struct {
	row int
	a   models.Agency
}

type agencyImport struct {
	rows []agencyRow
	n    int
	// the plan
	creates, updates []*models.Agency
	renamed          []uint64
	unchanged        int
}

func (im *agencyImport) total() int { return im.n }

func (im *agencyImport) counts() (int, int, int) {
	return len(im.creates), len(im.updates), im.unchanged
}

func (im *agencyImport) decode(kind Kind, format Format, data []byte, col *collector) error {
	items, nums, total, err := decodeRows(kind, format, data, col, agencyFromCSV)
	if err != nil {
		return err
	}
	im.n = total
	seen := map[string]int{}
	for i, it := range items {
		c := check{nums[i], col}
		a := models.Agency{
			Code:       c.code("code", it.Code, maxCode),
			Name:       c.text("name", it.Name, maxName, true, false),
			Level:      c.level("level", it.Level),
			RegionCode: c.regionCode("regionCode", it.RegionCode),
		}
		if first, dup := seen[fold(a.Code)]; dup && a.Code != "" {
			c.fail("code", fmt.Sprintf("机构编码与第%d行重复。", first))
		} else {
			seen[fold(a.Code)] = c.row
		}
		im.rows = append(im.rows, agencyRow{c.row, a})
	}
	return nil
}

func (im *agencyImport) plan(q *gorm.DB, sc scope, col *collector) error {
	im.creates, im.updates, im.renamed, im.unchanged = nil, nil, nil, 0
	regions, err := loadRegions(q)
	if err != nil {
		return err
	}
	codes := make([]string, len(im.rows))
	for i, r := range im.rows {
		codes[i] = r.a.Code
	}
	existing, err := loadByCode(q, codes, func(a *models.Agency) string { return a.Code })
	if err != nil {
		return err
	}
	for _, r := range im.rows {
		if col.failed(r.row) {
			continue
		}
		a := r.a
		if _, ok := regions[a.RegionCode]; !ok {
			col.dbErr(r.row, "regionCode", fmt.Sprintf("行政区划代码“%s”不存在。", a.RegionCode))
		} else if !sc.region(a.RegionCode) {
			col.dbErr(r.row, "regionCode", "行政区划不在您的管辖范围内。")
		}
		if sc.agencyCode != "" && fold(a.Code) != fold(sc.agencyCode) {
			col.dbErr(r.row, "code", fmt.Sprintf("您只能导入本机构（%s）的数据。", sc.agencyCode))
		}
		old, ok, near := existing.find(a.Code)
		if near != "" {
			col.dbErr(r.row, "code", fmt.Sprintf("机构编码与已有的“%s”仅大小写不同，请使用相同的写法。", near))
		}
		if ok && !sc.region(old.RegionCode) {
			col.dbErr(r.row, "code", "该机构属于您管辖范围以外的地区，不能修改。")
		}
		if col.failed(r.row) {
			continue
		}
		switch {
		case !ok:
			im.creates = append(im.creates, &a)
		case old.Name == a.Name && old.Level == a.Level && old.RegionCode == a.RegionCode:
			im.unchanged++
		default:
			a.ID = old.ID
			im.updates = append(im.updates, &a)
			if old.Name != a.Name {
				im.renamed = append(im.renamed, a.ID)
			}
		}
	}
	return nil
}

func (im *agencyImport) apply(tx *gorm.DB, _ time.Time) error {
	if err := createInBatches(tx, im.creates); err != nil {
		return err
	}
	if err := upsertByID(tx, im.updates, "name", "level", "region_code"); err != nil {
		return err
	}
	// A matter's search document carries its agency's name.
	var matters []uint64
	for chunk := range database.Padded(im.renamed) {
		var ids []uint64
		if err := tx.Model(&models.Matter{}).Where("agency_id IN ?", chunk).Order("id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		matters = append(matters, ids...)
	}
	return enqueue(tx, models.DocMatter, matters)
}
