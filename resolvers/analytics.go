package resolvers

import (
	"bytes"
	"context"
	"strings"

	"govmobile/analytics"
	"govmobile/database"
	"govmobile/graph/model"
	"govmobile/models"
	"govmobile/viewer"
)

// subjectOf reads an event's subject from a global ID: a matter, an app
// or a source interface.
func subjectOf(field, id string) (models.SubjectKind, uint64, error) {
	kind, key, err := parseGlobalID(field, id)
	if err != nil {
		return "", 0, err
	}
	n, ok := parseKey(key)
	if !ok {
		return "", 0, badID(field)
	}
	switch kind {
	case kindMatter:
		return models.SubjectMatter, n, nil
	case kindApp:
		return models.SubjectApp, n, nil
	case kindInterface:
		return models.SubjectInterface, n, nil
	}
	return "", 0, models.InvalidField(field, "事件对象只能是事项、应用或接口。")
}

// RegionPrefix is the code prefix of a region and everything below it.
func RegionPrefix(code string) string {
	switch {
	case code == "":
		return ""
	case strings.HasSuffix(code, "0000"):
		return code[:2]
	case strings.HasSuffix(code, "00"):
		return code[:4]
	}
	return code
}

// analyticsFilter is a console filter within the administrator's region:
// a regional administrator sees their region's events only.
func (r *Resolver) analyticsFilter(ctx context.Context, in *model.AnalyticsFilter) (analytics.Filter, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return analytics.Filter{}, err
	}
	f := analytics.Filter{RegionPrefix: RegionPrefix(a.RegionCode)}
	if in == nil {
		return f, nil
	}
	if in.Kind != nil {
		f.Kind = models.EventKind(*in.Kind)
	}
	if in.Channel != nil {
		f.Channel = *in.Channel
	}
	if in.RegionCode != nil && *in.RegionCode != "" {
		if r.Catalogue.Regions().Get(*in.RegionCode) == nil {
			return f, models.InvalidField("regionCode", "行政区划代码不存在。")
		}
		if !withinRegion(a.RegionCode, *in.RegionCode) {
			return f, models.Errorf(models.ECodeForbidden, "只能查看本地区的统计。")
		}
		f.RegionPrefix = RegionPrefix(*in.RegionCode)
	}
	if in.SubjectID != nil {
		if f.SubjectKind, f.SubjectID, err = subjectOf("subjectId", *in.SubjectID); err != nil {
			return f, err
		}
		if err := r.subjectInRegion(ctx, a, f.SubjectKind, f.SubjectID); err != nil {
			return f, err
		}
	}
	return f, nil
}

// subjectInRegion checks a regional administrator names a subject of their
// region: a matter of it, or an app (or an app's interface) of it or
// offered nationwide (its events in the region are theirs). Any other is
// NOT_FOUND, as one that does not exist; a nationwide administrator names
// any, deleted ones too.
func (r *Resolver) subjectInRegion(ctx context.Context, a *models.Admin, kind models.SubjectKind, id uint64) error {
	if a.RegionCode == "" {
		return nil
	}
	// A permission check: read on the primary even when the report itself
	// may come from a read replica (a subject just moved out of the region
	// is out of reach at once).
	ctx = database.Primary(ctx)
	notFound := models.Errorf(models.ECodeNotFound, "没有找到这个统计对象。")
	appID := id
	switch kind {
	case models.SubjectMatter:
		m, err := r.Catalogue.Matter(ctx, id)
		if err != nil {
			return err
		}
		if m == nil || !withinRegion(a.RegionCode, m.RegionCode) {
			return notFound
		}
		return nil
	case models.SubjectInterface:
		x, err := r.Interfaces.Get(ctx, id)
		if models.ErrorCode(err) == models.ECodeNotFound {
			return notFound
		} else if err != nil {
			return err
		}
		appID = x.AppID
	}
	app, err := r.Catalogue.AppAnyState(ctx, appID)
	if err != nil {
		return err
	}
	if app == nil || (app.RegionCode != "" && !withinRegion(a.RegionCode, app.RegionCode)) {
		return notFound
	}
	// A department's administrator: of the department's apps only, as
	// everywhere apps and their interfaces are managed.
	if a.AgencyID != 0 && app.AgencyID != a.AgencyID {
		return notFound
	}
	return nil
}

func granularityOr(g *analytics.Granularity) analytics.Granularity {
	if g == nil {
		return analytics.Daily
	}
	return *g
}

func firstOr(first *int, def int) int {
	if first == nil {
		return def
	}
	return *first
}

// topRows names the rows of a top list: matters and apps by their names.
func (r *Resolver) topRows(ctx context.Context, rows []analytics.Row) ([]*model.AnalyticsRow, error) {
	out := make([]*model.AnalyticsRow, len(rows))
	for i, row := range rows {
		m := &model.AnalyticsRow{Name: row.Term, Count: int(row.Count)}
		switch row.SubjectKind {
		case models.SubjectMatter:
			id := globalIDNum(kindMatter, row.SubjectID)
			m.SubjectID, m.Name = &id, "（已删除的事项）"
			if mt, err := r.Catalogue.Matter(ctx, row.SubjectID); err == nil && mt != nil {
				m.Name = mt.Name
			}
		case models.SubjectApp:
			id := globalIDNum(kindApp, row.SubjectID)
			m.SubjectID, m.Name = &id, "（已删除的应用）"
			if ap, err := r.Catalogue.AppAnyState(ctx, row.SubjectID); err == nil && ap != nil {
				m.Name = ap.Name
			}
		}
		out[i] = m
	}
	return out, nil
}

func csvString(write func(w *bytes.Buffer) error) (string, error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// track records a server event; it never blocks the request.
func (r *Resolver) track(ev models.Event) {
	if r.Events != nil {
		r.Events.Record(ev)
	}
}

// eventSubject reads a client event's subject: a matter or an app that
// exists (rankings count nothing made up).
func (r *Resolver) eventSubject(ctx context.Context, gid string) (models.SubjectKind, uint64, bool) {
	kind, id, err := subjectOf("subjectId", gid)
	if err != nil {
		return "", 0, false
	}
	switch kind {
	case models.SubjectMatter:
		m, err := r.Catalogue.Matter(ctx, id)
		return kind, id, err == nil && m != nil
	case models.SubjectApp:
		a, err := r.Catalogue.App(ctx, id)
		return kind, id, err == nil && a != nil
	}
	return "", 0, false
}
