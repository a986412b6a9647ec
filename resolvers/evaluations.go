package resolvers

import (
	"context"
	"strconv"

	"govmobile/catalogue"
	"govmobile/evaluation"
	"govmobile/graph/model"
	"govmobile/models"
	"govmobile/viewer"
)

// evaluationInput is a rating as the domain takes it.
func evaluationInput(in *model.EvaluateInput) evaluation.Input {
	return evaluation.Input{Level: in.Level, Tags: in.Tags, Comment: deref(in.Comment), Key: deref(in.IdempotencyKey)}
}

// handler is the administrator calling, as a rectification handler.
func handler(ctx context.Context) (evaluation.Handler, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return evaluation.Handler{}, err
	}
	return evaluation.Handler{AdminID: a.ID, AgencyID: a.AgencyID, RegionPrefix: RegionPrefix(a.RegionCode)}, nil
}

// rectificationStep runs a step on the rectification with the given global
// ID for the calling administrator.
func (r *Resolver) rectificationStep(ctx context.Context, gid string, step func(evaluation.Handler, uint64) (*models.Rectification, error)) (*model.RectificationPayload, error) {
	h, err := handler(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseNumericID("rectificationId", gid, kindRectification)
	if err != nil {
		return nil, err
	}
	rec, err := step(h, id)
	if err != nil {
		return nil, err
	}
	return &model.RectificationPayload{Rectification: rec}, nil
}

// rectificationConnection is a page of the rectifications the caller
// handles, or of the appeals to review.
func (r *Resolver) rectificationConnection(ctx context.Context, status evaluation.Status, appeals bool, first *int, after *string) (*model.RectificationConnection, error) {
	h, err := handler(ctx)
	if err != nil {
		return nil, err
	}
	p, err := readIDPage(first, after, "rectifications", func(n int, afterID uint64) ([]*models.Rectification, int64, error) {
		return r.Evaluations.Rectifications(ctx, h, status, appeals, n, afterID)
	}, func(x *models.Rectification) uint64 { return x.ID },
		func(cur string, x *models.Rectification) *model.RectificationEdge {
			return &model.RectificationEdge{Cursor: cur, Node: x}
		})
	if err != nil {
		return nil, err
	}
	return &model.RectificationConnection{TotalCount: p.Total, Edges: p.Edges, PageInfo: p.Info}, nil
}

// statName is the name of what a statistic is about, and its key becomes
// a global ID (a region keeps its code).
func (r *Resolver) statName(ctx context.Context, s *evaluation.Stat) (string, error) {
	id, _ := strconv.ParseUint(s.Key, 10, 64)
	switch {
	case s.Kind == evaluation.ByRegion:
		if s.Key == "" {
			return "全国", nil
		}
		if reg := r.Catalogue.Regions().Get(s.Key); reg != nil {
			return reg.FullName, nil
		}
	case s.Kind == evaluation.ByMatter:
		if m, err := r.Catalogue.Matter(ctx, id); err != nil || m != nil {
			return nameOf(m, err, func(m *models.Matter) string { return m.Name })
		}
	case s.Kind == evaluation.ByAgency:
		if a, err := r.Catalogue.Agency(ctx, id); err != nil || a != nil {
			return nameOf(a, err, func(a *models.Agency) string { return a.Name })
		}
	case s.Kind == evaluation.ByApp:
		if a, err := r.Catalogue.AppAnyState(ctx, id); err != nil || a != nil {
			return nameOf(a, err, func(a *models.App) string { return a.Name })
		}
	}
	return "（已删除）", nil
}

func nameOf[T any](v *T, err error, name func(*T) string) (string, error) {
	if err != nil {
		return "", err
	}
	return name(v), nil
}

// citizenID is the calling citizen's ID; 0 for anyone else (anonymous, or
// an administrator), and an error only when the ticket cannot be checked.
func citizenID(ctx context.Context) (uint64, error) {
	u, err := viewer.From(ctx).User(ctx)
	if u != nil {
		return u.ID, nil
	}
	if err != nil && models.ErrorCode(err) != models.ECodeUnauthenticated {
		return 0, err
	}
	return 0, nil
}

// evaluationStatsFilter is the statistics' region: the one asked for, within
// the administrator's own (a regional administrator sees their region's
// figures only, as in every console statistic); by default their own.
func (r *Resolver) evaluationStatsFilter(a *models.Admin, regionCode *string) (evaluation.Filter, error) {
	var f evaluation.Filter
	code := a.RegionCode
	if regionCode != nil && *regionCode != "" {
		reg, err := r.Catalogue.Regions().Lookup("regionCode", *regionCode)
		if err != nil {
			return f, err
		}
		if !withinRegion(a.RegionCode, reg.Code) {
			return f, models.Errorf(models.ECodeForbidden, "只能查看本地区的统计。")
		}
		code = reg.Code
	}
	if code != "" {
		reg := r.Catalogue.Regions().Get(code)
		if reg == nil {
			return f, models.Errorf(models.ECodeForbidden, "您的管辖区划无效，请联系超级管理员。")
		}
		f.RegionPrefix = catalogue.RegionPrefix(reg)
	}
	return f, nil
}
