package exchange

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// matterItem is a matter as a file holds it. Optional fields left out (a
// JSON key absent or null, a CSV column absent, an empty number cell) keep
// the stored value, or are empty for a new matter.
type matterItem struct {
	Code           string       `json:"code"`
	Name           string       `json:"name"`
	Aliases        *[]string    `json:"aliases"`
	Summary        *string      `json:"summary"`
	Nature         string       `json:"nature"`
	ServiceObjects []string     `json:"serviceObjects"`
	Level          string       `json:"level"`
	AgencyCode     string       `json:"agencyCode"`
	RegionCode     string       `json:"regionCode"`
	OnlineDepth    *int         `json:"onlineDepth"`
	Popularity     *int         `json:"popularity"`
	Themes         *[]string    `json:"themes"`
	Halls          *[]hallKey   `json:"halls"`
	Guide          *guideFields `json:"guide"`
}

// cells writes enums by their Chinese names, which is what an operator
// reads in a spreadsheet; import accepts either.
func (m *matterItem) cells() []string {
	objects := make([]string, len(m.ServiceObjects))
	for i, o := range m.ServiceObjects {
		objects[i] = models.ServiceObject(o).Name()
	}
	halls := make([]string, 0, len(deref(m.Halls)))
	for _, h := range deref(m.Halls) {
		halls = append(halls, h.String())
	}
	guide := m.Guide
	if guide == nil {
		guide = &guideFields{}
	}
	return append([]string{
		m.Code, m.Name, joinList(deref(m.Aliases)), deref(m.Summary),
		models.MatterNature(m.Nature).Name(), joinList(objects), models.AdminLevel(m.Level).Name(),
		m.AgencyCode, m.RegionCode, intCell(m.OnlineDepth), intCell(m.Popularity),
		joinList(deref(m.Themes)), joinList(halls),
	}, guide.cells()...)
}

func matterFromCSV(ck check, c cells) matterItem {
	var m matterItem
	m.Code, _ = c.get("code")
	m.Name, _ = c.get("name")
	m.Nature, _ = c.get("nature")
	m.Level, _ = c.get("level")
	m.AgencyCode, _ = c.get("agencyCode")
	m.RegionCode, _ = c.get("regionCode")
	objects, _ := c.get("serviceObjects")
	m.ServiceObjects = splitList(objects)
	if s, ok := c.get("aliases"); ok {
		l := splitList(s)
		m.Aliases = &l
	}
	if s, ok := c.get("summary"); ok {
		m.Summary = &s
	}
	if s, ok := c.get("onlineDepth"); ok {
		m.OnlineDepth = ck.parseInt("onlineDepth", s)
	}
	if s, ok := c.get("popularity"); ok {
		m.Popularity = ck.parseInt("popularity", s)
	}
	if s, ok := c.get("themes"); ok {
		l := splitList(s)
		m.Themes = &l
	}
	if s, ok := c.get("halls"); ok {
		keys := []hallKey{}
		for i, h := range splitList(s) {
			k, ok := parseHallKey(h)
			if !ok {
				ck.fail("halls", fmt.Sprintf("第%d个服务大厅应写作“行政区划代码:大厅名称”。", i+1))
				continue
			}
			keys = append(keys, k)
		}
		m.Halls = &keys
	}
	m.Guide = guideFromCSV(ck, c)
	return m
}

// parseHallKey reads "330106:西湖区行政服务中心" (a full-width colon too).
func parseHallKey(s string) (hallKey, bool) {
	i := strings.IndexAny(s, ":：")
	if i < 0 {
		return hallKey{}, false
	}
	sep := 1
	if s[i] != ':' {
		sep = len("：")
	}
	k := hallKey{RegionCode: strings.TrimSpace(s[:i]), Name: strings.TrimSpace(s[i+sep:])}
	return k, regionCodeOK(k.RegionCode) && k.Name != ""
}

func loadMatters(q *gorm.DB, codes []string) (*byCode[*models.Matter], error) {
	return loadByCode(q, codes, func(m *models.Matter) string { return m.Code })
}

// loadLinks reads link rows (matter_themes, matter_halls) of the matters:
// for each matter, the IDs of column.
func loadLinks(q *gorm.DB, model any, column string, matterIDs []uint64) (map[uint64][]uint64, error) {
	out := map[uint64][]uint64{}
	base := q.Session(&gorm.Session{})
	for chunk := range database.Padded(matterIDs) {
		var rows []struct {
			MatterID uint64
			Other    uint64
		}
		if err := base.Model(model).Select("matter_id, "+column+" AS other").Where("matter_id IN ?", chunk).
			Order("matter_id").Order(column).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.MatterID] = append(out[r.MatterID], r.Other)
		}
	}
	return out, nil
}

func exportMatters(q *gorm.DB, sc scope, out *writer, full bool) error {
	var themes []models.Theme
	if err := q.Select("id", "code").Find(&themes).Error; err != nil {
		return err
	}
	themeCode := make(map[uint64]string, len(themes))
	for _, t := range themes {
		themeCode[t.ID] = t.Code
	}
	db := q.Model(&models.Matter{})
	if sc.prefix != "" {
		db = db.Where("region_code LIKE ?", sc.prefix+"%")
	}
	if sc.agencyID != 0 {
		db = db.Where("agency_id = ?", sc.agencyID)
	}
	var after uint64
	for {
		var page []*models.Matter
		if err := db.Session(&gorm.Session{}).Where("id > ?", after).Order("id").Limit(exportPage).Find(&page).Error; err != nil {
			return err
		}
		if err := exportMatterPage(q, page, themeCode, out, full); err != nil {
			return err
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

func exportMatterPage(q *gorm.DB, page []*models.Matter, themeCode map[uint64]string, out *writer, full bool) error {
	if len(page) == 0 {
		return nil
	}
	ids := make([]uint64, len(page))
	agencyIDs := make([]uint64, len(page))
	for i, m := range page {
		ids[i], agencyIDs[i] = m.ID, m.AgencyID
	}
	guides, err := loadGuides(q, ids)
	if err != nil {
		return err
	}
	if !full {
		for _, m := range page {
			if g, ok := guides[m.ID]; ok {
				if err := out.write(&guideItem{MatterCode: m.Code, guideFields: fieldsOf(g)}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	agencyCode := map[uint64]string{}
	slices.Sort(agencyIDs)
	for chunk := range database.Padded(slices.Compact(agencyIDs)) {
		var rows []models.Agency
		if err := q.Select("id", "code").Where("id IN ?", chunk).Find(&rows).Error; err != nil {
			return err
		}
		for _, a := range rows {
			agencyCode[a.ID] = a.Code
		}
	}
	themeLinks, err := loadLinks(q, &models.MatterTheme{}, "theme_id", ids)
	if err != nil {
		return err
	}
	hallLinks, err := loadLinks(q, &models.MatterHall{}, "hall_id", ids)
	if err != nil {
		return err
	}
	var hallIDs []uint64
	for _, l := range hallLinks {
		hallIDs = append(hallIDs, l...)
	}
	slices.Sort(hallIDs)
	hallOf := map[uint64]hallKey{}
	for chunk := range database.Padded(slices.Compact(hallIDs)) {
		var rows []models.Hall
		if err := q.Select("id", "region_code", "name").Where("id IN ?", chunk).Find(&rows).Error; err != nil {
			return err
		}
		for _, h := range rows {
			hallOf[h.ID] = hallKey{h.RegionCode, h.Name}
		}
	}
	for _, m := range page {
		objects := []string{}
		for _, o := range m.ServiceObjects.List() {
			objects = append(objects, string(o))
		}
		themes := []string{}
		for _, id := range themeLinks[m.ID] {
			themes = append(themes, themeCode[id])
		}
		slices.Sort(themes)
		halls := []hallKey{}
		for _, id := range hallLinks[m.ID] {
			halls = append(halls, hallOf[id])
		}
		aliases := orEmpty(m.Aliases)
		g := fieldsOf(guides[m.ID])
		it := &matterItem{
			Code: m.Code, Name: m.Name, Aliases: &aliases, Summary: &m.Summary, Nature: string(m.Nature),
			ServiceObjects: objects, Level: string(m.Level), AgencyCode: agencyCode[m.AgencyID], RegionCode: m.RegionCode,
			OnlineDepth: &m.OnlineDepth, Popularity: &m.Popularity, Themes: &themes, Halls: &halls, Guide: &g,
		}
		if err := out.write(it); err != nil {
			return err
		}
	}
	return nil
}

type matterRow struct {
	row        int
	m          models.Matter // the columns every row has
	agencyCode string
	aliases    *[]string
	summary    *string
	depth, pop *int
	themes     *[]string
	halls      *[]hallKey
	guide      *guideFields
}

// matterPlan is one matter to write.
type matterPlan struct {
	m                   *models.Matter
	themes, halls       []uint64
	setThemes, setHalls bool
	guide               models.Guide
	setGuide            bool
}

type matterImport struct {
	rows []matterRow
	n    int
	// the plan
	creates, updates []*matterPlan
	unchanged        int
}

func (im *matterImport) total() int { return im.n }

func (im *matterImport) counts() (int, int, int) {
	return len(im.creates), len(im.updates), im.unchanged
}

func (im *matterImport) decode(kind Kind, format Format, data []byte, col *collector) error {
	items, nums, total, err := decodeRows(kind, format, data, col, matterFromCSV)
	if err != nil {
		return err
	}
	im.n = total
	im.rows = make([]matterRow, 0, len(items))
	seen := map[string]int{}
	for i := range items {
		it := &items[i]
		c := check{nums[i], col}
		r := matterRow{row: c.row, agencyCode: c.code("agencyCode", it.AgencyCode, maxCode),
			summary: it.Summary, depth: it.OnlineDepth, pop: it.Popularity, guide: it.Guide}
		r.m = models.Matter{
			Code:           c.code("code", it.Code, maxCode),
			Name:           c.text("name", it.Name, maxName, true, false),
			Nature:         c.nature("nature", it.Nature),
			ServiceObjects: c.objects("serviceObjects", it.ServiceObjects),
			Level:          c.level("level", it.Level),
			RegionCode:     c.regionCode("regionCode", it.RegionCode),
		}
		if first, dup := seen[fold(r.m.Code)]; dup && r.m.Code != "" {
			c.fail("code", fmt.Sprintf("事项编码与第%d行重复。", first))
		} else {
			seen[fold(r.m.Code)] = c.row
		}
		if it.Aliases != nil {
			l := c.list("aliases", *it.Aliases, maxAliases, maxAlias)
			r.aliases = &l
		}
		if r.summary != nil {
			*r.summary = c.text("summary", *r.summary, maxSummary, false, true)
		}
		c.number("onlineDepth", r.depth, 0, maxOnlineDepth)
		c.number("popularity", r.pop, 0, maxPopularity)
		if it.Themes != nil {
			l := c.list("themes", *it.Themes, maxListItems, maxThemeCode)
			slices.Sort(l)
			l = slices.Compact(l)
			r.themes = &l
		}
		if it.Halls != nil {
			keys := make([]hallKey, 0, len(*it.Halls))
			for j, k := range *it.Halls {
				k.RegionCode, k.Name = strings.TrimSpace(k.RegionCode), strings.TrimSpace(k.Name)
				if !regionCodeOK(k.RegionCode) || k.Name == "" {
					c.fail("halls", fmt.Sprintf("第%d个服务大厅应有6位行政区划代码和大厅名称。", j+1))
					continue
				}
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
			if len(keys) > maxListItems {
				c.fail("halls", fmt.Sprintf("服务大厅最多%d个。", maxListItems))
			}
			r.halls = &keys
		}
		c.guide(r.guide)
		im.rows = append(im.rows, r)
	}
	return nil
}

func (im *matterImport) plan(q *gorm.DB, sc scope, col *collector) error {
	im.creates, im.updates, im.unchanged = nil, nil, 0
	regions, err := loadRegions(q)
	if err != nil {
		return err
	}
	var codes, agencyCodes, hallRegions []string
	for _, r := range im.rows {
		codes = append(codes, r.m.Code)
		agencyCodes = append(agencyCodes, r.agencyCode)
		for _, k := range deref(r.halls) {
			hallRegions = append(hallRegions, k.RegionCode)
		}
	}
	agencies, err := loadByCode(q, agencyCodes, func(a *models.Agency) string { return a.Code })
	if err != nil {
		return err
	}
	var themeRows []*models.Theme
	if err := q.Select("id", "code").Find(&themeRows).Error; err != nil {
		return err
	}
	themes := newByCode[*models.Theme]()
	for _, t := range themeRows {
		themes.add(t.Code, t)
	}
	halls, err := loadHalls(q, hallRegions)
	if err != nil {
		return err
	}
	existing, err := loadMatters(q, codes)
	if err != nil {
		return err
	}
	ids := make([]uint64, 0, len(existing.exact))
	for _, m := range existing.exact {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	guides, err := loadGuides(q, ids)
	if err != nil {
		return err
	}
	themeLinks, err := loadLinks(q, &models.MatterTheme{}, "theme_id", ids)
	if err != nil {
		return err
	}
	hallLinks, err := loadLinks(q, &models.MatterHall{}, "hall_id", ids)
	if err != nil {
		return err
	}
	for _, r := range im.rows {
		if col.failed(r.row) {
			continue
		}
		row := r.m
		p := &matterPlan{m: &row}
		m := p.m
		fail := func(field, msg string) { col.dbErr(r.row, field, msg) }
		if reg, ok := regions[m.RegionCode]; !ok {
			fail("regionCode", fmt.Sprintf("行政区划代码“%s”不存在。", m.RegionCode))
		} else if !sc.region(m.RegionCode) {
			fail("regionCode", "行政区划不在您的管辖范围内。")
		} else {
			// Derived as catalogue/seed.go derives them.
			m.ProvinceCode, m.CityCode = reg.ProvinceCode, reg.CityCode
		}
		ag, ok, near := agencies.find(r.agencyCode)
		switch {
		case near != "":
			fail("agencyCode", fmt.Sprintf("实施主体编码与已有的“%s”仅大小写不同，请使用相同的写法。", near))
		case !ok:
			fail("agencyCode", fmt.Sprintf("实施主体“%s”不存在，请先导入实施主体。", r.agencyCode))
		case !sc.region(ag.RegionCode):
			fail("agencyCode", "实施主体不在您的管辖范围内。")
		case sc.agencyID != 0 && ag.ID != sc.agencyID:
			fail("agencyCode", fmt.Sprintf("您只能导入本机构（%s）的事项。", sc.agencyCode))
		default:
			m.AgencyID = ag.ID
		}
		old, exists, near := existing.find(m.Code)
		switch {
		case near != "":
			fail("code", fmt.Sprintf("事项编码与已有的“%s”仅大小写不同，请使用相同的写法。", near))
		case exists && (!sc.region(old.RegionCode) || sc.agencyID != 0 && old.AgencyID != sc.agencyID):
			fail("code", "该事项属于您管辖范围以外的地区或机构，不能修改。")
		}
		if r.themes != nil {
			p.setThemes = true
			var missing []string
			for _, code := range *r.themes {
				if t, ok, _ := themes.find(code); ok {
					p.themes = append(p.themes, t.ID)
				} else {
					missing = append(missing, code)
				}
			}
			if len(missing) > 0 {
				fail("themes", fmt.Sprintf("服务主题“%s”不存在。", strings.Join(missing, "、")))
			}
		}
		if r.halls != nil {
			p.setHalls = true
			for _, k := range *r.halls {
				switch found := halls[k]; len(found) {
				case 0:
					fail("halls", fmt.Sprintf("服务大厅“%s”不存在，请先导入服务大厅。", k))
				case 1:
					if !sc.region(found[0].RegionCode) {
						fail("halls", fmt.Sprintf("服务大厅“%s”不在您管辖的地区，不能关联。", k))
						continue
					}
					p.halls = append(p.halls, found[0].ID)
				default:
					fail("halls", fmt.Sprintf("行政区划%s下有%d个名为“%s”的大厅，无法确定是哪一个。", k.RegionCode, len(found), k.Name))
				}
			}
		}
		var oldGuide models.Guide
		hadGuide := false
		if exists {
			oldGuide, hadGuide = guides[old.ID]
		}
		if r.guide != nil || !exists {
			p.guide = r.guide.merge(oldGuide)
			if field, msg := checkMerged(p.guide); msg != "" {
				fail(field, msg)
			}
		}
		if col.failed(r.row) {
			continue
		}
		// What the row leaves out stays as it is.
		if exists {
			m.Aliases, m.Summary, m.OnlineDepth, m.Popularity = old.Aliases, old.Summary, old.OnlineDepth, old.Popularity
		}
		set(&m.Aliases, r.aliases)
		set(&m.Summary, r.summary)
		set(&m.OnlineDepth, r.depth)
		set(&m.Popularity, r.pop)
		m.Aliases = orEmpty(m.Aliases)
		if !jsonFits(m.Aliases) {
			fail("aliases", "别名内容过长，请精简。")
			continue
		}
		if !exists {
			p.setGuide = true
			im.creates = append(im.creates, p)
			continue
		}
		m.ID, m.CreatedAt = old.ID, old.CreatedAt
		p.setGuide = r.guide != nil && !(sameGuide(oldGuide, p.guide) && (hadGuide || sameGuide(p.guide, models.Guide{})))
		p.setThemes = p.setThemes && !sameSet(themeLinks[m.ID], p.themes)
		p.setHalls = p.setHalls && !sameSet(hallLinks[m.ID], p.halls)
		if sameColumns(old, m) && !p.setGuide && !p.setThemes && !p.setHalls {
			im.unchanged++
			continue
		}
		im.updates = append(im.updates, p)
	}
	return nil
}

// sameColumns compares what an import writes of a matter.
func sameColumns(a, b *models.Matter) bool {
	return a.Name == b.Name && slices.Equal(orEmpty(a.Aliases), orEmpty(b.Aliases)) && a.Summary == b.Summary &&
		a.Nature == b.Nature && a.ServiceObjects == b.ServiceObjects && a.Level == b.Level && a.AgencyID == b.AgencyID &&
		a.RegionCode == b.RegionCode && a.ProvinceCode == b.ProvinceCode && a.CityCode == b.CityCode &&
		a.OnlineDepth == b.OnlineDepth && a.Popularity == b.Popularity
}

func (im *matterImport) apply(tx *gorm.DB, at time.Time) error {
	created := make([]*models.Matter, len(im.creates))
	for i, p := range im.creates {
		p.m.CreatedAt, p.m.UpdatedAt = at, at
		created[i] = p.m
	}
	if err := createInBatches(tx, created); err != nil {
		return err
	}
	updated := make([]*models.Matter, len(im.updates))
	for i, p := range im.updates {
		p.m.UpdatedAt = at
		updated[i] = p.m
	}
	if err := upsertByID(tx, updated, "name", "aliases", "summary", "nature", "service_objects", "level", "agency_id",
		"region_code", "province_code", "city_code", "online_depth", "popularity", "updated_at"); err != nil {
		return err
	}
	var guides []models.MatterGuide
	var themeLinks []models.MatterTheme
	var hallLinks []models.MatterHall
	var relinkThemes, relinkHalls, ids []uint64
	for i, p := range append(slices.Clip(im.creates), im.updates...) {
		id, isNew := p.m.ID, i < len(im.creates)
		ids = append(ids, id)
		if p.setGuide {
			guides = append(guides, models.MatterGuide{MatterID: id, Guide: p.guide})
		}
		if p.setThemes {
			if !isNew {
				relinkThemes = append(relinkThemes, id)
			}
			for _, t := range p.themes {
				themeLinks = append(themeLinks, models.MatterTheme{MatterID: id, ThemeID: t})
			}
		}
		if p.setHalls {
			if !isNew {
				relinkHalls = append(relinkHalls, id)
			}
			for _, h := range p.halls {
				hallLinks = append(hallLinks, models.MatterHall{MatterID: id, HallID: h})
			}
		}
	}
	if err := upsertGuides(tx, guides); err != nil {
		return err
	}
	if err := deleteLinks(tx, &models.MatterTheme{}, relinkThemes); err != nil {
		return err
	}
	if err := deleteLinks(tx, &models.MatterHall{}, relinkHalls); err != nil {
		return err
	}
	if err := createInBatches(tx, themeLinks); err != nil {
		return err
	}
	if err := createInBatches(tx, hallLinks); err != nil {
		return err
	}
	slices.SortFunc(ids, cmp.Compare)
	return enqueue(tx, models.DocMatter, ids)
}
