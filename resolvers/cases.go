package resolvers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"govmobile/audit"
	"govmobile/cases"
	"govmobile/graph/model"
	"govmobile/loaders"
	"govmobile/models"
	"govmobile/viewer"
)

// maxFormValues bounds the fields of one submitted form.
const maxFormValues = 200

// formInput turns a form's values as sent into the domain's map; a key sent
// twice is refused.
func formInput(in []*model.FormValueInput) (map[string][]string, error) {
	if len(in) > maxFormValues {
		return nil, models.InvalidField("values", fmt.Sprintf("申请表最多%d项。", maxFormValues))
	}
	out := make(map[string][]string, len(in))
	for _, v := range in {
		if _, dup := out[v.Key]; dup {
			return nil, models.InvalidField("values", fmt.Sprintf("“%s”填写了两次。", v.Key))
		}
		out[v.Key] = v.Values
	}
	return out, nil
}

// formValues lists stored values for the client, in key order.
func formValues(values map[string]any) []*model.FormValue {
	out := make([]*model.FormValue, 0, len(values))
	for k, v := range values {
		fv := &model.FormValue{Key: k}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				fv.Values = append(fv.Values, fmt.Sprint(e))
			}
		case []string:
			fv.Values = x
		default:
			fv.Values = []string{fmt.Sprint(x)}
		}
		if fv.Values == nil {
			fv.Values = []string{}
		}
		out = append(out, fv)
	}
	slices.SortFunc(out, func(a, b *model.FormValue) int {
		if a.Key < b.Key {
			return -1
		}
		return 1
	})
	return out
}

// caseOrMatter reads the draft or the matter an application is about:
// exactly one of them.
func caseOrMatter(caseID, matterID *string) (uint64, uint64, error) {
	switch {
	case caseID != nil && matterID == nil:
		id, err := parseNumericID("caseId", *caseID, kindCase)
		return id, 0, err
	case caseID == nil && matterID != nil:
		id, err := parseNumericID("matterId", *matterID, kindMatter)
		return 0, id, err
	}
	return 0, 0, models.InvalidField("caseId", "请填写草稿编号 caseId 或事项编号 matterId，二者选一。")
}

// timeline is a case's steps, through the request's loader.
func (r *Resolver) timeline(ctx context.Context, caseID uint64) ([]*models.CaseEvent, error) {
	var steps []*models.CaseEvent
	var err error
	if l := loaders.For(ctx, r.Catalogue).Timeline; l != nil {
		steps, err = l.Load(ctx, caseID)
	} else {
		steps, err = r.Cases.Timeline(ctx, caseID)
	}
	if steps == nil {
		steps = []*models.CaseEvent{}
	}
	return steps, err
}

// agencyStaff is the signed-in admin, who must be on an agency's staff.
func agencyStaff(ctx context.Context) (*models.Admin, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if a.AgencyID == 0 {
		return nil, models.Errorf(models.ECodeForbidden, "只有办理部门的工作人员可以办理办件。")
	}
	return a, nil
}

// caseConnection is a page of an owner's cases.
func (r *Resolver) caseConnection(ctx context.Context, owner cases.Owner, status *cases.Status, first *int, after *string) (*model.CaseConnection, error) {
	var st cases.Status
	if status != nil {
		st = *status
	}
	p, err := readIDPage(first, after, "cases", func(n int, afterID uint64) ([]*models.Case, int64, error) {
		return r.Cases.List(ctx, owner, st, n, afterID)
	}, func(c *models.Case) uint64 { return c.ID },
		func(cur string, c *models.Case) *model.CaseEdge { return &model.CaseEdge{Cursor: cur, Node: c} })
	if err != nil {
		return nil, err
	}
	loaders.For(ctx, r.Catalogue).PrimeCases(ctx, p.Rows, selectedUnder(ctx, "edges", "node"))
	return &model.CaseConnection{TotalCount: p.Total, Edges: p.Edges, PageInfo: p.Info}, nil
}

// targetGlobalID is the global ID of what a subscription or message is about.
func targetGlobalID(t models.SubscriptionTarget, id uint64) string {
	switch t {
	case models.TargetCase:
		return globalIDNum(kindCase, id)
	case models.TargetEvaluation:
		return globalIDNum(kindEvaluation, id)
	case models.TargetConsultation:
		return globalIDNum(kindConsultation, id)
	}
	return globalIDNum(kindMatter, id)
}

// ticketRecheck is how often a live subscription checks its ticket is
// still good, besides before every delivery.
const ticketRecheck = 30 * time.Second

// whileValid forwards values from in while valid holds: it is checked
// before every value (onTick false) and every ticketRecheck (onTick true),
// so a stream opened with a ticket ends once the ticket is revoked (logout)
// or expires. The stream also ends after a value for which last reports
// true (nil: never).
func whileValid[V any](ctx context.Context, valid func(onTick bool) bool, in <-chan V, last func(V) bool) <-chan V {
	out := make(chan V, 1)
	go func() {
		defer close(out)
		tick := time.NewTicker(ticketRecheck)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if !valid(true) {
					return
				}
			case m, ok := <-in:
				if !ok || !valid(false) {
					return
				}
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
				if last != nil && last(m) {
					return
				}
			}
		}
	}()
	return out
}

// caseFiles is a case's files of one kind, oldest first, through the
// operation's loader when there is one.
func (r *Resolver) caseFiles(ctx context.Context, caseID uint64, kind string) ([]*models.CaseFile, error) {
	var all []*models.CaseFile
	var err error
	if l := loaders.For(ctx, r.Catalogue).Materials; l != nil {
		all, err = l.Load(ctx, caseID)
	} else {
		all, err = r.Files.List(ctx, caseID)
	}
	if err != nil {
		return nil, err
	}
	out := []*models.CaseFile{}
	for _, f := range all {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out, nil
}

// noteClearRead records, for the audit log, that an administrator was shown
// the personal data of an object owned by ownerID in clear (SPEC §4); the
// owner reading their own is not recorded.
func (r *Resolver) noteClearRead(ctx context.Context, kind string, ownerID, id uint64) {
	v := viewer.From(ctx)
	if u, _ := v.User(ctx); u != nil && u.ID == ownerID {
		return
	}
	if _, err := v.RequireAdmin(ctx); err == nil {
		audit.NoteRead(ctx, kind, id)
	}
}
