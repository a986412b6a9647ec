package resolvers

import (
	"context"
	"strings"

	"govmobile/catalogue"
	"govmobile/graph/model"
	"govmobile/models"
	"govmobile/pagination"
	"govmobile/search"
)

// scopeNames are the tab labels of the search scopes.
var scopeNames = map[search.Scope]string{
	search.ScopeAll: "全部", search.ScopeApp: "服务应用", search.ScopeNaturalPerson: "个人办事",
	search.ScopeLegalPerson: "法人办事", search.ScopeGuide: "办事指南", search.ScopeApproval: "行政审批",
	search.ScopeKnowledge: "知识问答", search.ScopeHall: "服务大厅",
}

// search serves Query.search: the index finds, the catalogue loads, and the
// snippet is cut from what was loaded.
func (r *Resolver) search(ctx context.Context, q string, scope *search.Scope, orderBy *search.Order, regionCode *string, first *int, after *string) (*model.SearchConnection, error) {
	n, err := pagination.PageSize(first)
	if err != nil {
		return nil, err
	}
	req := search.Request{Query: q, Scope: search.ScopeAll, Order: search.OrderRelevance, First: n, After: deref(after),
		Facets: selectedUnder(ctx)("facets")}
	if scope != nil {
		req.Scope = *scope
	}
	if orderBy != nil {
		req.Order = *orderBy
	}
	if code := deref(regionCode); code != "" {
		if req.Region, err = r.Catalogue.Regions().Lookup("regionCode", code); err != nil {
			return nil, err
		}
	}
	res, err := r.Searcher.Search(ctx, req)
	if err != nil {
		return nil, err
	}
	items, err := r.loadHits(ctx, res.Hits, req.Scope == search.ScopeGuide)
	if err != nil {
		return nil, err
	}
	conn := &model.SearchConnection{
		TotalCount: res.Total,
		PageInfo:   &model.PageInfo{HasNextPage: res.HasNext, HasPreviousPage: after != nil},
		Edges:      []*model.SearchEdge{},
		Facets:     []*model.SearchFacet{},
	}
	for _, h := range res.Hits {
		it, ok := items[hitKey{h.Kind, h.ID}]
		if !ok {
			continue // deleted since it was indexed
		}
		html, plain := search.Snippet(res.Terms, it.texts...)
		conn.Edges = append(conn.Edges, &model.SearchEdge{Cursor: h.Cursor, Node: &model.SearchHit{
			Kind: it.kind, Title: it.title, Snippet: html, SnippetText: plain, Score: h.Score, Item: it.node,
		}})
	}
	if len(res.Hits) > 0 {
		conn.PageInfo.StartCursor = &res.Hits[0].Cursor
		conn.PageInfo.EndCursor = &res.Hits[len(res.Hits)-1].Cursor
	}
	if req.Facets {
		for _, sc := range search.FacetScopes {
			conn.Facets = append(conn.Facets, &model.SearchFacet{Scope: sc, Name: scopeNames[sc], Count: res.Facets[sc]})
		}
	}
	return conn, nil
}

type hitKey struct {
	kind models.SearchDocKind
	id   uint64
}

type hitItem struct {
	kind  model.SearchHitKind
	title string
	texts []string // snippet sources, in order of preference
	node  models.Node
}

// loadHits loads the objects of a page of hits, one statement per kind.
func (r *Resolver) loadHits(ctx context.Context, hits []search.Hit, guides bool) (map[hitKey]hitItem, error) {
	ids := map[models.SearchDocKind][]uint64{}
	for _, h := range hits {
		ids[h.Kind] = append(ids[h.Kind], h.ID)
	}
	out := map[hitKey]hitItem{}
	if len(ids[models.DocMatter]) > 0 {
		ms, err := r.Catalogue.MattersByID(ctx, ids[models.DocMatter])
		if err != nil {
			return nil, err
		}
		var gs []*models.Guide
		if guides {
			mids := make([]uint64, len(ms))
			for i, m := range ms {
				mids[i] = m.ID
			}
			if gs, err = r.Catalogue.GuidesByMatter(ctx, mids); err != nil {
				return nil, err
			}
		}
		for i, m := range ms {
			it := hitItem{kind: model.SearchHitKindMatter, title: m.Name, node: m,
				texts: []string{m.Summary, "常用名：" + strings.Join(m.Aliases, "、")}}
			if guides {
				it.kind = model.SearchHitKindGUIDE
				it.texts = []string{catalogue.GuideText(gs[i]), m.Summary}
			}
			out[hitKey{models.DocMatter, m.ID}] = it
		}
	}
	if len(ids[models.DocApp]) > 0 {
		apps, err := r.Catalogue.Apps(ctx, ids[models.DocApp])
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			out[hitKey{models.DocApp, a.ID}] = hitItem{kind: model.SearchHitKindApp, title: a.Name, node: a,
				texts: []string{a.Summary, "常用名：" + strings.Join(a.Aliases, "、")}}
		}
	}
	if len(ids[models.DocKnowledge]) > 0 {
		entries, err := r.Catalogue.KnowledgeEntries(ctx, ids[models.DocKnowledge])
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			out[hitKey{models.DocKnowledge, e.ID}] = hitItem{kind: model.SearchHitKindKnowledge, title: e.Question, node: e,
				texts: []string{e.Answer}}
		}
	}
	if len(ids[models.DocHall]) > 0 {
		halls, err := r.Catalogue.HallsByID(ctx, ids[models.DocHall])
		if err != nil {
			return nil, err
		}
		for _, h := range halls {
			if h != nil {
				out[hitKey{models.DocHall, h.ID}] = hitItem{kind: model.SearchHitKindHall, title: h.Name, node: h,
					texts: []string{h.Address, "办公时间：" + h.OpeningHours}}
			}
		}
	}
	return out, nil
}

// boundedCount validates an optional list length.
func boundedCount(field string, v *int, def, most int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > most {
		return 0, models.InvalidField(field, "条数 "+field+" 超出允许的范围。")
	}
	return *v, nil
}

func hotSearches(list []search.HotSearch) []*model.HotSearch {
	out := make([]*model.HotSearch, len(list))
	for i, h := range list {
		out[i] = &model.HotSearch{Word: h.Word, Pinned: h.Pinned, Count: h.Count}
	}
	return out
}

func termCounts(list []search.QueryCount) []*model.SearchTermCount {
	out := make([]*model.SearchTermCount, len(list))
	for i, q := range list {
		out[i] = &model.SearchTermCount{Query: q.Query, Count: q.Count}
	}
	return out
}

func searchStatistics(st *search.Statistics) *model.SearchStatistics {
	out := &model.SearchStatistics{
		Searches: st.Searches, ZeroHitSearches: st.ZeroHit,
		AverageLatencyMs: float64(st.AvgLatency.Microseconds()) / 1000, P95LatencyMs: float64(st.P95Latency.Microseconds()) / 1000,
		TopQueries: termCounts(st.TopQueries), ZeroHitQueries: termCounts(st.ZeroHitTop), ByDay: []*model.DailySearchCount{},
	}
	for _, d := range st.SearchesByDay {
		out.ByDay = append(out.ByDay, &model.DailySearchCount{Date: d.Query, Count: d.Count})
	}
	return out
}
