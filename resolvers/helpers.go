package resolvers

import (
	"context"
	"fmt"
	"strconv"

	"govmobile/catalogue"
	"govmobile/graph/model"
	"govmobile/identity"
	"govmobile/loaders"
	"govmobile/models"
	"govmobile/pagination"
	"govmobile/viewer"

	"github.com/99designs/gqlgen/graphql"
)

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func authPayload(s *identity.Session) *model.AuthPayload {
	return &model.AuthPayload{Ticket: s.Ticket, ExpiresAt: s.ExpiresAt, User: s.User}
}

// region resolves a stored region code; a dangling one is a data fault.
func (r *Resolver) region(code string) (*models.Region, error) {
	reg := r.Catalogue.Regions().Get(code)
	if reg == nil {
		return nil, fmt.Errorf("region %q missing from the index", code)
	}
	return reg, nil
}

// resolveNode fetches any object by kind and key. Users are visible to
// themselves only; anything else answers null, never revealing existence.
func (r *Resolver) resolveNode(ctx context.Context, kind, key string) (models.Node, error) {
	if kind == kindRegion {
		if reg := r.Catalogue.Regions().Get(key); reg != nil {
			return reg, nil
		}
		return nil, nil
	}
	id, err := strconv.ParseUint(key, 10, 64)
	if err != nil || id == 0 {
		return nil, badID("id")
	}
	// Each branch returns a typed nil-or-value through an interface, so a
	// missing row must become an untyped nil.
	switch kind {
	case kindMatter:
		return nonNil(r.Catalogue.Matter(ctx, id))
	case kindAgency:
		return nonNil(r.Catalogue.Agency(ctx, id))
	case kindTheme:
		return nonNil(r.Catalogue.Theme(ctx, id))
	case kindHall:
		return nonNil(r.Catalogue.Hall(ctx, id))
	case kindUser:
		u, err := viewer.From(ctx).User(ctx)
		if err != nil || u == nil || u.ID != id {
			return nil, err
		}
		return r.Identity.Profile(u)
	}
	return nil, badID("id")
}

func nonNil[T any](v *T, err error) (models.Node, error) {
	if err != nil || v == nil {
		return nil, err
	}
	return v, nil
}

var orderFields = map[model.MatterOrderField]catalogue.MatterOrderField{
	model.MatterOrderFieldName:       catalogue.OrderByName,
	model.MatterOrderFieldPopularity: catalogue.OrderByPopularity,
	model.MatterOrderFieldUpdatedAt:  catalogue.OrderByUpdatedAt,
}

func (r *Resolver) matters(ctx context.Context, filter *model.MatterFilter, orderBy *model.MatterOrder, first *int, after *string) (*model.MatterConnection, error) {
	n, err := pagination.PageSize(first)
	if err != nil {
		return nil, err
	}
	order := catalogue.DefaultMatterOrder
	if orderBy != nil {
		order = catalogue.MatterOrder{Field: orderFields[orderBy.Field], Desc: orderBy.Direction == model.OrderDirectionDesc}
	}
	var cursor *pagination.Cursor
	if after != nil {
		if cursor, err = catalogue.ParseCursor(*after, order); err != nil {
			return nil, err
		}
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
	page, err := r.Catalogue.ListMatters(ctx, f, order, n, cursor)
	if err != nil {
		return nil, err
	}
	loaders.For(ctx, r.Catalogue).PrimeMatters(ctx, page.Matters, selectedUnder(ctx, "edges", "node"))
	conn := &model.MatterConnection{
		TotalCount: int(page.TotalCount),
		PageInfo:   &model.PageInfo{HasNextPage: page.HasNext, HasPreviousPage: cursor != nil},
		Edges:      make([]*model.MatterEdge, len(page.Matters)),
	}
	for i, m := range page.Matters {
		conn.Edges[i] = &model.MatterEdge{Cursor: page.Cursors[i], Node: m}
	}
	if len(page.Cursors) > 0 {
		conn.PageInfo.StartCursor = &page.Cursors[0]
		conn.PageInfo.EndCursor = &page.Cursors[len(page.Cursors)-1]
	}
	return conn, nil
}

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
