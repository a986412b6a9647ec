package resolvers

import (
	"context"

	"govmobile/catalogue"
	"govmobile/geo"
	"govmobile/graph/model"
	"govmobile/loaders"
	"govmobile/models"
	"govmobile/pagination"

	"github.com/99designs/gqlgen/graphql"
)

// orderFields maps the schema's sort fields to the catalogue's.
var orderFields = map[model.MatterOrderField]catalogue.MatterOrderField{
	model.MatterOrderFieldName:       catalogue.OrderByName,
	model.MatterOrderFieldPopularity: catalogue.OrderByPopularity,
	model.MatterOrderFieldUpdatedAt:  catalogue.OrderByUpdatedAt,
	model.MatterOrderFieldRelevance:  catalogue.OrderByRelevance,
}

// matters serves Query.matters: page size, cursor and filter IDs are checked
// here, the query itself is the catalogue's.
func (r *Resolver) matters(ctx context.Context, filter *model.MatterFilter, orderBy *model.MatterOrder, first *int, after *string) (*model.MatterConnection, error) {
	n, err := pagination.PageSize(first)
	if err != nil {
		return nil, err
	}
	order := catalogue.DefaultMatterOrder
	if filter != nil && deref(filter.Keyword) != "" {
		order = catalogue.MatterOrder{Field: catalogue.OrderByRelevance, Desc: true}
	}
	if orderBy != nil {
		order = catalogue.MatterOrder{Field: orderFields[orderBy.Field], Desc: orderBy.Direction == model.OrderDirectionDesc}
	}
	var f catalogue.MatterFilter
	if filter != nil {
		f = catalogue.MatterFilter{
			Keyword:    deref(filter.Keyword),
			RegionCode: deref(filter.RegionCode),
			OnlineOnly: filter.OnlineOnly != nil && *filter.OnlineOnly,
		}
		if filter.Nature != nil {
			f.Nature = *filter.Nature
		}
		if filter.ServiceObject != nil {
			f.ServiceObject = *filter.ServiceObject
		}
		if filter.Level != nil {
			f.Level = *filter.Level
		}
		if filter.AgencyID != nil {
			if f.AgencyID, err = parseNumericID("filter.agencyId", *filter.AgencyID, kindAgency); err != nil {
				return nil, err
			}
		}
		if filter.ThemeID != nil {
			if f.ThemeID, err = parseNumericID("filter.themeId", *filter.ThemeID, kindTheme); err != nil {
				return nil, err
			}
		}
	}
	// The count is the costly statement on a large catalogue: run it only
	// when the client asks for totalCount.
	page, err := r.Catalogue.Matters(ctx, f, order, n, deref(after), selectedUnder(ctx)("totalCount"))
	if err != nil {
		return nil, err
	}
	loaders.For(ctx, r.Catalogue).PrimeMatters(ctx, page.Matters, selectedUnder(ctx, "edges", "node"))
	conn := &model.MatterConnection{
		TotalCount: int(max(page.TotalCount, 0)),
		PageInfo:   cursorPageInfo(page.Cursors, page.HasNext, after),
		Edges:      make([]*model.MatterEdge, len(page.Matters)),
	}
	for i, m := range page.Matters {
		conn.Edges[i] = &model.MatterEdge{Cursor: page.Cursors[i], Node: m}
	}
	return conn, nil
}

// navigation maps navigation entries to the schema, with global IDs as keys.
func (r *Resolver) navigation(ctx context.Context, dim model.NavigationDimension, regionCode *string) ([]*model.NavigationEntry, error) {
	entries, err := r.Catalogue.Navigation(ctx, catalogue.NavigationDimension(dim), deref(regionCode))
	if err != nil {
		return nil, err
	}
	out := make([]*model.NavigationEntry, len(entries))
	for i, e := range entries {
		key := e.Key
		switch dim {
		case model.NavigationDimensionAgency:
			key = globalIDNum(kindAgency, e.ID)
		case model.NavigationDimensionTheme:
			key = globalIDNum(kindTheme, e.ID)
		}
		out[i] = &model.NavigationEntry{Key: key, Name: e.Name, Count: int(e.Count)}
	}
	return out, nil
}

// selectedUnder reports which fields the query selects at a path below the
// current field (e.g. edges → node), fragments included.

func selectedUnder(ctx context.Context, path ...string) func(string) bool {
	names := map[string]bool{}
	if !graphql.HasOperationContext(ctx) {
		return func(string) bool { return true }
	}
	op := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for _, step := range path {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name == step {
				next = append(next, graphql.CollectFields(op, f.Selections, nil)...)
			}
		}
		fields = next
	}
	for _, f := range fields {
		names[f.Name] = true
	}
	return func(name string) bool { return names[name] }
}

// maxHallMatters bounds Hall.matters.
const maxHallMatters = catalogue.MaxHallMatters

// coordSystemOf is the coordinate system a client asked for, WGS-84 when
// none.
func coordSystemOf(s *geo.System) (geo.System, error) {
	if s == nil {
		return geo.WGS84, nil
	}
	if !s.Valid() {
		return "", models.InvalidField("coordSystem", "不支持的坐标系，请使用 WGS84、GCJ02 或 BD09。")
	}
	return *s, nil
}

// cursorPageInfo is the page info of a page with these cursors.
func cursorPageInfo(cursors []string, hasNext bool, after *string) *model.PageInfo {
	info := &model.PageInfo{HasNextPage: hasNext, HasPreviousPage: after != nil}
	if len(cursors) > 0 {
		info.StartCursor, info.EndCursor = &cursors[0], &cursors[len(cursors)-1]
	}
	return info
}
