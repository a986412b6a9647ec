package catalogue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"govmobile/models"
	"govmobile/pagination"
	"govmobile/search"

	"gorm.io/gorm"
)

// MatterFilter narrows a matter list; zero fields do not filter.
type MatterFilter struct {
	Keyword       string
	RegionCode    string
	Nature        models.MatterNature
	ServiceObject models.ServiceObject
	AgencyID      uint64
	ThemeID       uint64
	Level         models.AdminLevel
	OnlineOnly    bool
}

// MatterOrderField is a column a matter list can be sorted by.
type MatterOrderField string

// The sortable fields.
const (
	OrderByName       MatterOrderField = "NAME"
	OrderByPopularity MatterOrderField = "POPULARITY"
	OrderByUpdatedAt  MatterOrderField = "UPDATED_AT"
	// OrderByRelevance ranks by how well a matter matches the keyword; with
	// no keyword it is the default order.
	OrderByRelevance MatterOrderField = "RELEVANCE"
)

var orderColumns = map[MatterOrderField]string{
	OrderByName: "name", OrderByPopularity: "popularity", OrderByUpdatedAt: "updated_at",
}

// MatterOrder is a sort: a field and a direction. The matter ID breaks ties, so
// the order is total and keyset pages never skip or repeat a row.
type MatterOrder struct {
	Field MatterOrderField
	Desc  bool
}

// DefaultMatterOrder is by popularity, most popular first.
var DefaultMatterOrder = MatterOrder{Field: OrderByPopularity, Desc: true}

func (o MatterOrder) key() string {
	if o.Desc {
		return string(o.Field) + ":desc"
	}
	return string(o.Field) + ":asc"
}

// MatterPage is one page of a matter list.
type MatterPage struct {
	Matters []*models.Matter
	Cursors []string
	// TotalCount is -1 when it was not asked for.
	TotalCount int64
	HasNext    bool
}

// MaxKeywordLength bounds the keyword filter.
const MaxKeywordLength = 50

// ParseCursor validates a client's cursor for the given order.
func ParseCursor(after string, order MatterOrder) (*pagination.Cursor, error) {
	c, err := pagination.Decode(after, order.key())
	if err != nil {
		return nil, err
	}
	if order.Field == OrderByPopularity {
		if _, ok := c.Value.(float64); !ok {
			return nil, models.InvalidField("after", "分页游标 after 无效，请从第一页重新查询。")
		}
	} else if _, ok := c.Value.(string); !ok {
		return nil, models.InvalidField("after", "分页游标 after 无效，请从第一页重新查询。")
	}
	return &c, nil
}

// Matters returns a page of the matter list (8.1.2 b). A keyword is answered
// by the search index, with the other filters applied inside it; without
// one, the page is a keyset query on the database.
func (s *Service) Matters(ctx context.Context, f MatterFilter, order MatterOrder, first int, after string, withCount bool) (*MatterPage, error) {
	if f.Keyword != "" && s.search != nil {
		if search.HasWords(f.Keyword) {
			return s.searchMatters(ctx, f, order, first, after)
		}
		f.Keyword = "" // only punctuation: no keyword at all
	}
	if order.Field == OrderByRelevance {
		order = DefaultMatterOrder
	}
	var cursor *pagination.Cursor
	if after != "" {
		var err error
		if cursor, err = ParseCursor(after, order); err != nil {
			return nil, err
		}
	}
	return s.ListMatters(ctx, f, order, first, cursor, withCount)
}

// searchOrders maps list orders to the index's.
var searchOrders = map[MatterOrder]search.Order{
	{OrderByRelevance, true}: search.OrderRelevance, {OrderByRelevance, false}: search.OrderRelevance,
	{OrderByPopularity, true}: search.OrderPopularity, {OrderByPopularity, false}: search.OrderPopAsc,
	{OrderByUpdatedAt, true}: search.OrderRecency, {OrderByUpdatedAt, false}: search.OrderRecencyAsc,
	{OrderByName, false}: search.OrderNameAsc, {OrderByName, true}: search.OrderNameDesc,
}

func (s *Service) searchMatters(ctx context.Context, f MatterFilter, order MatterOrder, first int, after string) (*MatterPage, error) {
	if utf8.RuneCountInString(f.Keyword) > MaxKeywordLength {
		return nil, models.InvalidField("keyword", fmt.Sprintf("关键词不能超过%d个字。", MaxKeywordLength))
	}
	so, ok := searchOrders[order]
	if !ok {
		return nil, models.InvalidField("orderBy", "不支持的排序字段。")
	}
	req := search.Request{Query: f.Keyword, Scope: search.ScopeAll, Order: so, First: first, After: after, NoLog: true,
		Matters: &search.MatterFilter{Nature: f.Nature, Object: f.ServiceObject, AgencyID: f.AgencyID, ThemeID: f.ThemeID,
			Level: f.Level, OnlineOnly: f.OnlineOnly, MinOnline: models.OnlineAvailableDepth}}
	if f.Nature != "" && !f.Nature.Valid() {
		return nil, models.InvalidField("nature", "事项类型不正确。")
	}
	if f.ServiceObject != "" && !f.ServiceObject.Valid() {
		return nil, models.InvalidField("serviceObject", "服务对象不正确。")
	}
	if f.Level != "" && !f.Level.Valid() {
		return nil, models.InvalidField("level", "行使层级不正确。")
	}
	if f.RegionCode != "" {
		r, err := s.regions.Lookup("regionCode", f.RegionCode)
		if err != nil {
			return nil, err
		}
		req.Region = r
	}
	res, err := s.search.Search(ctx, req)
	if err != nil {
		if e := (*models.Error)(nil); errors.As(err, &e) && e.Field == "query" {
			e2 := *e
			e2.Field = "keyword"
			return nil, &e2
		}
		return nil, err
	}
	ids := make([]uint64, len(res.Hits))
	cursors := map[uint64]string{}
	for i, h := range res.Hits {
		ids[i] = h.ID
		cursors[h.ID] = h.Cursor
	}
	ms, err := s.MattersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	page := &MatterPage{Matters: ms, TotalCount: int64(res.Total), HasNext: res.HasNext, Cursors: make([]string, len(ms))}
	for i, m := range ms {
		page.Cursors[i] = cursors[m.ID]
	}
	return page, nil
}

// ListMatters returns a page of matters from the database: the page
// statement, and the count statement when withCount is set (kept per
// catalogue generation). A keyword here is a LIKE scan, kept as the
// baseline the search benchmarks compare against.
//
// The first page of a list without a keyword — the home page, the
// navigation's lists — is kept per catalogue generation too, like the
// counts: it is the same for every caller until the catalogue is written.
// Later pages (whose cursors a client makes up at will) and long pages are
// not kept, and first pages have a small cache of their own, so neither a
// crawler nor a flood of made-up filters evicts the counts or holds much
// memory. The page's matters are shared between callers and must not be
// modified.
func (s *Service) ListMatters(ctx context.Context, f MatterFilter, order MatterOrder, first int, after *pagination.Cursor, withCount bool) (*MatterPage, error) {
	if f.Keyword != "" || after != nil || first > maxCachedPage {
		return s.listMatters(ctx, f, order, first, after, withCount)
	}
	key := fmt.Sprintf("page|%+v|%+v|%d|%t", f, order, first, withCount)
	page, err := cachedIn(s, s.firstPages, key, func() (*MatterPage, error) { return s.listMatters(ctx, f, order, first, nil, withCount) })
	if err != nil {
		return nil, err
	}
	shared := *page
	return &shared, nil
}

// maxCachedPage is the longest first page kept.
const maxCachedPage = 50

func (s *Service) listMatters(ctx context.Context, f MatterFilter, order MatterOrder, first int, after *pagination.Cursor, withCount bool) (*MatterPage, error) {
	col, ok := orderColumns[order.Field]
	if !ok {
		return nil, models.InvalidField("orderBy", "不支持的排序字段。")
	}
	q, err := s.filtered(ctx, f, forPage)
	if err != nil {
		return nil, err
	}
	var countQ *gorm.DB
	if withCount {
		if countQ, err = s.filtered(ctx, f, forCount); err != nil {
			return nil, err
		}
	}
	page := &MatterPage{TotalCount: -1}
	if withCount {
		if page.TotalCount, err = s.countMatters(ctx, f, countQ); err != nil {
			return nil, err
		}
	}
	dir, cmp := "ASC", ">"
	if order.Desc {
		dir, cmp = "DESC", "<"
	}
	if after != nil {
		v := after.Value
		if order.Field == OrderByUpdatedAt {
			t, err := time.Parse(time.RFC3339Nano, v.(string))
			if err != nil {
				return nil, models.InvalidField("after", "分页游标 after 无效，请从第一页重新查询。")
			}
			v = t
		}
		q = q.Where(fmt.Sprintf("(matters.%s %s ? OR (matters.%s = ? AND matters.id %s ?))", col, cmp, col, cmp), v, v, after.ID)
	}
	var rows []*models.Matter
	if err := q.Order("matters." + col + " " + dir).Order("matters.id " + dir).Limit(first + 1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list matters: %w", err)
	}
	if len(rows) > first {
		rows, page.HasNext = rows[:first], true
	}
	page.Matters = rows
	page.Cursors = make([]string, len(rows))
	for i, m := range rows {
		var v any
		switch order.Field {
		case OrderByName:
			v = m.Name
		case OrderByPopularity:
			v = m.Popularity
		case OrderByUpdatedAt:
			v = m.UpdatedAt.UTC().Format(time.RFC3339Nano)
		}
		page.Cursors[i] = pagination.Encode(pagination.Cursor{Order: order.key(), Value: v, ID: m.ID})
	}
	return page, nil
}

// queryPurpose tells filtered what the query will do with the rows: a count
// wants every filter answered from an index; a page wants rows in sort order
// and is better served by walking the order's index and testing the broad
// filters (service objects, themes) row by row until the page is full.
type queryPurpose int

const (
	forCount queryPurpose = iota
	forPage
)

// filtered builds the WHERE clause shared by lists, counts and navigation.
func (s *Service) filtered(ctx context.Context, f MatterFilter, purpose queryPurpose) (*gorm.DB, error) {
	q := s.db.WithContext(ctx).Model(&models.Matter{})
	if f.RegionCode != "" {
		var err error
		if q, err = s.inRegion(q, f.RegionCode); err != nil {
			return nil, err
		}
	}
	if f.Keyword != "" {
		kw, err := cleanKeyword(f.Keyword)
		if err != nil {
			return nil, err
		}
		// Every word must appear in the name or an alias ("杭州 公积金").
		for _, word := range strings.Fields(kw) {
			like := "%" + escapeLike(word) + "%"
			q = q.Where("(matters.name LIKE ? ESCAPE '!' OR matters.aliases LIKE ? ESCAPE '!')", like, like)
		}
	}
	if f.Nature != "" {
		if !f.Nature.Valid() {
			return nil, models.InvalidField("nature", "事项类型不正确。")
		}
		q = q.Where("matters.nature = ?", f.Nature)
	}
	if f.ServiceObject != "" {
		if f.ServiceObject.Bit() == 0 {
			return nil, models.InvalidField("serviceObject", "服务对象不正确。")
		}
		// The sets containing the object, as an IN list: unlike a bitwise
		// test it can use the service_objects index.
		q = q.Where(s.broadTerm("matters.service_objects", purpose)+" IN ?", models.SetsContaining(f.ServiceObject))
	}
	if f.AgencyID != 0 {
		q = q.Where("matters.agency_id = ?", f.AgencyID)
	}
	if f.ThemeID != 0 {
		if purpose == forCount {
			// A join lets the planner start from whichever side is smaller.
			q = q.Joins("JOIN matter_themes ON matter_themes.matter_id = matters.id AND matter_themes.theme_id = ?", f.ThemeID)
		} else {
			q = q.Where("EXISTS (SELECT 1 FROM matter_themes WHERE matter_themes.matter_id = matters.id AND matter_themes.theme_id = ?)", f.ThemeID)
		}
	}
	if f.Level != "" {
		if !f.Level.Valid() {
			return nil, models.InvalidField("level", "行使层级不正确。")
		}
		q = q.Where("matters.level = ?", f.Level)
	}
	if f.OnlineOnly {
		q = q.Where("matters.online_depth >= ?", models.OnlineAvailableDepth)
	}
	return q, nil
}

// broadTerm names a column in a filter that matches a large share of the
// catalogue. For pages on SQLite it is written +column, which keeps the
// planner from choosing that column's index (and then sorting tens of
// thousands of rows) over the sort order's index.
func (s *Service) broadTerm(col string, purpose queryPurpose) string {
	if purpose == forPage && s.db.Dialector.Name() == "sqlite" {
		return "+" + col
	}
	return col
}

// inRegion keeps the matters a citizen of a region can apply for there: those
// implemented in the region or any region below it, and those implemented by
// the region's own ancestors (a district's residents apply for their city's
// and province's matters too).
func (s *Service) inRegion(q *gorm.DB, code string) (*gorm.DB, error) {
	r, err := s.regions.Lookup("regionCode", code)
	if err != nil {
		return nil, err
	}
	switch r.Level {
	case models.RegionProvince:
		return q.Where("matters.province_code = ?", r.Code), nil
	case models.RegionCity:
		return q.Where("(matters.city_code = ? OR matters.region_code = ?)", r.Code, r.ProvinceCode), nil
	default:
		codes := []string{r.Code}
		if r.CityCode != "" {
			codes = append(codes, r.CityCode)
		}
		return q.Where("matters.region_code IN ?", append(codes, r.ProvinceCode)), nil
	}
}

// cleanKeyword trims a keyword and drops the characters that would match the
// aliases column's JSON punctuation rather than an alias; control characters
// are refused.
func cleanKeyword(kw string) (string, error) {
	if utf8.RuneCountInString(kw) > MaxKeywordLength {
		return "", models.InvalidField("keyword", fmt.Sprintf("关键词不能超过%d个字。", MaxKeywordLength))
	}
	if !utf8.ValidString(kw) || strings.IndexFunc(kw, unicode.IsControl) >= 0 {
		return "", models.InvalidField("keyword", "关键词含有无法识别的字符。")
	}
	kw = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`"[]\,`, r) {
			return ' '
		}
		return r
	}, kw)
	return strings.Join(strings.Fields(kw), " "), nil
}

func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// Matter returns one matter by ID, or nil.
func (s *Service) Matter(ctx context.Context, id uint64) (*models.Matter, error) {
	return first[models.Matter](s.db.WithContext(ctx).Where("id = ?", id))
}

// MatterByCode returns one matter by its code, or nil.
func (s *Service) MatterByCode(ctx context.Context, code string) (*models.Matter, error) {
	return first[models.Matter](s.db.WithContext(ctx).Where("code = ?", code))
}

// Agency returns one agency by ID, or nil.
func (s *Service) Agency(ctx context.Context, id uint64) (*models.Agency, error) {
	return first[models.Agency](s.db.WithContext(ctx).Where("id = ?", id))
}

// Theme returns one theme by ID, or nil.
func (s *Service) Theme(ctx context.Context, id uint64) (*models.Theme, error) {
	return first[models.Theme](s.db.WithContext(ctx).Where("id = ?", id))
}

// Hall returns one hall by ID, or nil.
func (s *Service) Hall(ctx context.Context, id uint64) (*models.Hall, error) {
	return first[models.Hall](s.db.WithContext(ctx).Where("id = ?", id))
}

func first[T any](q *gorm.DB) (*T, error) {
	var v T
	err := q.Limit(1).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Themes lists the themes, optionally of one service object, in display order.
func (s *Service) Themes(ctx context.Context, object models.ServiceObject) ([]*models.Theme, error) {
	q := s.db.WithContext(ctx).Order("sort_order").Order("id")
	if object != "" {
		q = q.Where("service_object = ?", object)
	}
	var out []*models.Theme
	return out, q.Find(&out).Error
}

// countMatters counts a filter's matters, kept per catalogue generation.
func (s *Service) countMatters(ctx context.Context, f MatterFilter, countQ *gorm.DB) (int64, error) {
	return cachedAggregate(s, fmt.Sprintf("count|%+v", f), func() (int64, error) {
		var n int64
		if f.ThemeID != 0 && f == (MatterFilter{ThemeID: f.ThemeID}) {
			// Theme alone: the link table's theme index holds the answer.
			countQ = s.db.WithContext(ctx).Model(&models.MatterTheme{}).Where("theme_id = ?", f.ThemeID)
		}
		if err := countQ.Count(&n).Error; err != nil {
			return 0, fmt.Errorf("count matters: %w", err)
		}
		return n, nil
	})
}

// AgencyIDsInRegion are the IDs of the agencies within a region (its code
// prefix: a province's, a city's or a county's).
func (s *Service) AgencyIDsInRegion(ctx context.Context, regionCode string) ([]uint64, error) {
	r := s.regions.Get(regionCode)
	if r == nil {
		return []uint64{}, nil
	}
	ids := []uint64{}
	err := s.db.WithContext(ctx).Model(&models.Agency{}).Where("region_code LIKE ?", RegionPrefix(r)+"%").Pluck("id", &ids).Error
	return ids, err
}
