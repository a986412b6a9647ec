package resolvers

import (
	"context"
	"fmt"
	"slices"

	"govmobile/graph/model"
	"govmobile/loaders"
	"govmobile/models"
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
