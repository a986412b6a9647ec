package exchange

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/models"
)

// guideFields is a guide as a file holds it. A field left out (a JSON key
// absent or null, a CSV column absent) keeps the stored value.
type guideFields struct {
	Conditions            *[]string               `json:"conditions"`
	Materials             *[]models.GuideMaterial `json:"materials"`
	Process               *[]models.ProcessStep   `json:"process"`
	LegalTimeLimitDays    *int                    `json:"legalTimeLimitDays"`
	PromisedTimeLimitDays *int                    `json:"promisedTimeLimitDays"`
	Fees                  *[]models.Fee           `json:"fees"`
	LegalBasis            *[]string               `json:"legalBasis"`
	ConsultPhone          *string                 `json:"consultPhone"`
	WindowVisits          *int                    `json:"windowVisits"`
}

// guideItem is a row of a GUIDE file: the matter's code and its guide.
type guideItem struct {
	MatterCode string `json:"matterCode"`
	guideFields
}

func (g *guideItem) cells() []string { return append([]string{g.MatterCode}, g.guideFields.cells()...) }

// fieldsOf is a stored guide, every field given.
func fieldsOf(g models.Guide) guideFields {
	g = normGuide(g)
	return guideFields{
		Conditions: &g.Conditions, Materials: &g.Materials, Process: &g.Process,
		LegalTimeLimitDays: &g.LegalTimeLimitDays, PromisedTimeLimitDays: &g.PromisedTimeLimitDays,
		Fees: &g.Fees, LegalBasis: &g.LegalBasis, ConsultPhone: &g.ConsultPhone, WindowVisits: &g.WindowVisits,
	}
}

// normGuide gives a guide's empty lists one form, so that guides compare
// equal whichever way they were stored.
func normGuide(g models.Guide) models.Guide {
	g.Conditions = orEmpty(g.Conditions)
	g.Materials = orEmpty(g.Materials)
	g.Process = orEmpty(g.Process)
	g.Fees = orEmpty(g.Fees)
	g.LegalBasis = orEmpty(g.LegalBasis)
	g.OnlineDepth = 0
	return g
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (g *guideFields) cells() []string {
	var materials, steps, fees [][]string
	for _, m := range deref(g.Materials) {
		materials = append(materials, []string{m.Name, m.Form, strconv.Itoa(m.Copies), boolCell(m.Required), m.Note})
	}
	for _, p := range deref(g.Process) {
		steps = append(steps, []string{p.Name, p.Description})
	}
	for _, f := range deref(g.Fees) {
		fees = append(fees, []string{f.Name, f.Amount, f.Basis})
	}
	return []string{
		joinList(deref(g.Conditions)), joinRecords(materials), joinRecords(steps),
		intCell(g.LegalTimeLimitDays), intCell(g.PromisedTimeLimitDays), joinRecords(fees),
		joinList(deref(g.LegalBasis)), deref(g.ConsultPhone), intCell(g.WindowVisits),
	}
}

func intCell(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

// guideFromCSV reads the guide columns the file has; nil when it has none.
func guideFromCSV(ck check, c cells) *guideFields {
	var g guideFields
	given := false
	list := func(key string) *[]string {
		s, ok := c.get(key)
		if !ok {
			return nil
		}
		given = true
		l := splitList(s)
		return &l
	}
	num := func(key string) *int {
		s, ok := c.get(key)
		if !ok {
			return nil
		}
		given = true
		return ck.parseInt(key, s)
	}
	g.Conditions = list("conditions")
	g.LegalBasis = list("legalBasis")
	g.LegalTimeLimitDays = num("legalTimeLimitDays")
	g.PromisedTimeLimitDays = num("promisedTimeLimitDays")
	g.WindowVisits = num("windowVisits")
	if s, ok := c.get("consultPhone"); ok {
		given = true
		g.ConsultPhone = &s
	}
	if s, ok := c.get("materials"); ok {
		given = true
		ms := []models.GuideMaterial{}
		for i, rec := range splitRecords(s) {
			if len(rec) > 5 {
				ck.fail("materials", fmt.Sprintf("第%d项材料应为“名称^形式^份数^是否必需^备注”，多了%d个“^”。", i+1, len(rec)-5))
				break
			}
			rec = append(rec, make([]string, 5-len(rec))...)
			m := models.GuideMaterial{Name: rec[0], Form: rec[1], Copies: 1, Required: true, Note: rec[4]}
			if rec[2] != "" {
				n, err := strconv.Atoi(rec[2])
				if err != nil {
					ck.fail("materials", fmt.Sprintf("第%d项材料的份数应为整数。", i+1))
				}
				m.Copies = n
			}
			if rec[3] != "" {
				b, ok := parseBool(rec[3])
				if !ok {
					ck.fail("materials", fmt.Sprintf("第%d项材料的“是否必需”应为“是”或“否”。", i+1))
				}
				m.Required = b
			}
			ms = append(ms, m)
		}
		g.Materials = &ms
	}
	if s, ok := c.get("process"); ok {
		given = true
		steps := []models.ProcessStep{}
		for i, rec := range splitRecords(s) {
			if len(rec) > 2 {
				ck.fail("process", fmt.Sprintf("第%d个步骤应为“名称^说明”，多了%d个“^”。", i+1, len(rec)-2))
				break
			}
			rec = append(rec, "")
			steps = append(steps, models.ProcessStep{Order: i + 1, Name: rec[0], Description: rec[1]})
		}
		g.Process = &steps
	}
	if s, ok := c.get("fees"); ok {
		given = true
		fees := []models.Fee{}
		for i, rec := range splitRecords(s) {
			if len(rec) > 3 {
				ck.fail("fees", fmt.Sprintf("第%d项收费应为“名称^金额^依据”，多了%d个“^”。", i+1, len(rec)-3))
				break
			}
			rec = append(rec, "", "")
			fees = append(fees, models.Fee{Name: rec[0], Amount: rec[1], Basis: rec[2]})
		}
		g.Fees = &fees
	}
	if !given {
		return nil
	}
	return &g
}

// checkGuide checks and trims the given fields of a guide.
func (c check) guide(g *guideFields) {
	if g == nil {
		return
	}
	if g.Conditions != nil {
		*g.Conditions = c.list("conditions", *g.Conditions, maxListItems, maxItemText)
	}
	if g.LegalBasis != nil {
		*g.LegalBasis = c.list("legalBasis", *g.LegalBasis, maxListItems, maxItemText)
	}
	if g.Materials != nil {
		ms := *g.Materials
		if len(ms) > maxListItems {
			c.fail("materials", fmt.Sprintf("申请材料最多%d项。", maxListItems))
		}
		for i := range ms {
			m := &ms[i]
			m.Name = c.sub("materials", fmt.Sprintf("第%d项材料的名称", i+1), m.Name, maxName, true, false)
			m.Form = c.sub("materials", fmt.Sprintf("第%d项材料的形式", i+1), m.Form, 50, false, false)
			m.Note = c.sub("materials", fmt.Sprintf("第%d项材料的备注", i+1), m.Note, maxItemText, false, true)
			if m.Copies < 0 || m.Copies > maxCopies {
				c.fail("materials", fmt.Sprintf("第%d项材料的份数应为0到%d之间的整数。", i+1, maxCopies))
			}
		}
	}
	if g.Process != nil {
		steps := *g.Process
		if len(steps) > maxListItems {
			c.fail("process", fmt.Sprintf("办理流程最多%d个步骤。", maxListItems))
		}
		for i := range steps {
			p := &steps[i]
			if p.Order == 0 {
				p.Order = i + 1
			}
			if p.Order != i+1 {
				c.fail("process", "办理流程的步骤序号应从1开始连续编号。")
			}
			p.Name = c.sub("process", fmt.Sprintf("第%d个步骤的名称", i+1), p.Name, 100, true, false)
			p.Description = c.sub("process", fmt.Sprintf("第%d个步骤的说明", i+1), p.Description, maxDescription, false, true)
		}
	}
	if g.Fees != nil {
		fees := *g.Fees
		if len(fees) > maxListItems {
			c.fail("fees", fmt.Sprintf("收费最多%d项。", maxListItems))
		}
		for i := range fees {
			f := &fees[i]
			f.Name = c.sub("fees", fmt.Sprintf("第%d项收费的名称", i+1), f.Name, maxName, true, false)
			f.Amount = c.sub("fees", fmt.Sprintf("第%d项收费的金额", i+1), f.Amount, 100, false, false)
			f.Basis = c.sub("fees", fmt.Sprintf("第%d项收费的依据", i+1), f.Basis, maxItemText, false, true)
		}
	}
	c.number("legalTimeLimitDays", g.LegalTimeLimitDays, 0, maxDays)
	c.number("promisedTimeLimitDays", g.PromisedTimeLimitDays, 0, maxDays)
	c.number("windowVisits", g.WindowVisits, 0, maxVisits)
	if g.ConsultPhone != nil {
		*g.ConsultPhone = c.phone("consultPhone", *g.ConsultPhone)
	}
}

// sub checks one part of a structured cell (a material's name, …).
func (c check) sub(field, what, s string, max int, required, multiline bool) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		c.fail(field, "请填写"+what+"。")
	case len([]rune(s)) > max:
		c.fail(field, fmt.Sprintf("%s不能超过%d个字。", what, max))
	case !clean(s, multiline):
		c.fail(field, what+"含有无法识别的字符。")
	}
	return s
}

// merge applies the given fields to a stored guide.
func (g *guideFields) merge(old models.Guide) models.Guide {
	out := normGuide(old)
	if g == nil {
		return out
	}
	set(&out.Conditions, g.Conditions)
	set(&out.Materials, g.Materials)
	set(&out.Process, g.Process)
	set(&out.LegalTimeLimitDays, g.LegalTimeLimitDays)
	set(&out.PromisedTimeLimitDays, g.PromisedTimeLimitDays)
	set(&out.Fees, g.Fees)
	set(&out.LegalBasis, g.LegalBasis)
	set(&out.ConsultPhone, g.ConsultPhone)
	set(&out.WindowVisits, g.WindowVisits)
	return normGuide(out)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// checkMerged checks what only the whole guide shows; field is the column
// the message names.
func checkMerged(g models.Guide) (field, msg string) {
	if g.LegalTimeLimitDays > 0 && g.PromisedTimeLimitDays > g.LegalTimeLimitDays {
		return "promisedTimeLimitDays", "承诺时限不能超过法定时限。"
	}
	if !jsonFits(g) {
		return "guide", "办事指南内容过长（超过64KB），请精简。"
	}
	return "", ""
}

func sameGuide(a, b models.Guide) bool { return reflect.DeepEqual(normGuide(a), normGuide(b)) }

// loadGuides reads the guides of the matters.
func loadGuides(q *gorm.DB, matterIDs []uint64) (map[uint64]models.Guide, error) {
	out := make(map[uint64]models.Guide, len(matterIDs))
	for chunk := range database.Padded(matterIDs) {
		var rows []models.MatterGuide
		if err := q.Where("matter_id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.MatterID] = r.Guide
		}
	}
	return out, nil
}

// upsertGuides writes guides, new or not: INSERT … ON CONFLICT (matter_id)
// DO UPDATE.
func upsertGuides(tx *gorm.DB, guides []models.MatterGuide) error {
	if len(guides) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "matter_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"guide"}),
	}).CreateInBatches(guides, batch).Error
}

type guideRow struct {
	row        int
	matterCode string
	g          *guideFields
}

type guideImport struct {
	rows []guideRow
	n    int
	// the plan
	guides           []models.MatterGuide
	created, updated int
	unchanged        int
}

func (im *guideImport) total() int { return im.n }

func (im *guideImport) counts() (int, int, int) { return im.created, im.updated, im.unchanged }

func (im *guideImport) decode(kind Kind, format Format, data []byte, col *collector) error {
	items, nums, total, err := decodeRows(kind, format, data, col, func(ck check, c cells) guideItem {
		var it guideItem
		it.MatterCode, _ = c.get("matterCode")
		if g := guideFromCSV(ck, c); g != nil {
			it.guideFields = *g
		}
		return it
	})
	if err != nil {
		return err
	}
	im.n = total
	seen := map[string]int{}
	for i := range items {
		it := &items[i]
		c := check{nums[i], col}
		code := c.code("matterCode", it.MatterCode, maxCode)
		if first, dup := seen[fold(code)]; dup && code != "" {
			c.fail("matterCode", fmt.Sprintf("事项编码与第%d行重复。", first))
		} else {
			seen[fold(code)] = c.row
		}
		g := it.guideFields
		c.guide(&g)
		im.rows = append(im.rows, guideRow{row: c.row, matterCode: code, g: &g})
	}
	return nil
}

func (im *guideImport) plan(q *gorm.DB, sc scope, col *collector) error {
	im.guides, im.created, im.updated, im.unchanged = nil, 0, 0, 0
	codes := make([]string, len(im.rows))
	for i, r := range im.rows {
		codes[i] = r.matterCode
	}
	matters, err := loadMatters(q.Select("id", "code", "region_code", "agency_id"), codes)
	if err != nil {
		return err
	}
	var ids []uint64
	for _, m := range matters.exact {
		ids = append(ids, m.ID)
	}
	guides, err := loadGuides(q, ids)
	if err != nil {
		return err
	}
	for _, r := range im.rows {
		if col.failed(r.row) {
			continue
		}
		m, ok, near := matters.find(r.matterCode)
		switch {
		case near != "":
			col.dbErr(r.row, "matterCode", fmt.Sprintf("事项编码与已有的“%s”仅大小写不同，请使用相同的写法。", near))
			continue
		case !ok:
			col.dbErr(r.row, "matterCode", fmt.Sprintf("事项“%s”不存在，请先导入事项。", r.matterCode))
			continue
		case !sc.region(m.RegionCode) || (sc.agencyID != 0 && m.AgencyID != sc.agencyID):
			col.dbErr(r.row, "matterCode", "该事项不在您的管辖范围内。")
			continue
		}
		old, had := guides[m.ID]
		g := r.g.merge(old)
		if field, msg := checkMerged(g); msg != "" {
			col.dbErr(r.row, field, msg)
			continue
		}
		switch {
		case !had:
			im.created++
		case sameGuide(old, g):
			im.unchanged++
			continue
		default:
			im.updated++
		}
		im.guides = append(im.guides, models.MatterGuide{MatterID: m.ID, Guide: g})
	}
	return nil
}

func (im *guideImport) apply(tx *gorm.DB, at time.Time) error {
	if err := upsertGuides(tx, im.guides); err != nil {
		return err
	}
	ids := make([]uint64, len(im.guides))
	for i, g := range im.guides {
		ids[i] = g.MatterID
	}
	// A guide's change is the matter's (catalogue.Service.UpdateGuide).
	for chunk := range database.Padded(ids) {
		if err := tx.Model(&models.Matter{}).Where("id IN ?", chunk).UpdateColumn("updated_at", at).Error; err != nil {
			return err
		}
	}
	return enqueue(tx, models.DocMatter, ids)
}
