package resolvers

import (
	"context"
	"strconv"

	"govmobile/apps"
	"govmobile/graph/model"
	"govmobile/lightapp"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/viewer"
)

// Global ID kinds of the app centre.
const (
	kindAppFile     = "AppFile"
	kindAppFeedback = "AppFeedback"
	kindAdminNotice = "AdminNotice"
)

// KindAppFile is the global ID kind of app files, for the file endpoint.
const KindAppFile = kindAppFile

var errAppNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个服务应用。")

// appCall is the calling administrator and an app's ID; an app outside
// the administrator's region is NOT_FOUND, as one that does not exist.
func (r *Resolver) appCall(ctx context.Context, gid string) (*models.Admin, uint64, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseNumericID("appId", gid, kindApp)
	if err != nil {
		return nil, 0, err
	}
	if err := r.AppInRegion(ctx, a, id); err != nil {
		if models.ErrorCode(err) == models.ECodeForbidden {
			return nil, 0, errAppNotFound
		}
		return nil, 0, err
	}
	return a, id, nil
}

// appsReader is the calling administrator if they connect or review apps.
func (r *Resolver) appsReader(ctx context.Context) (*models.Admin, error) {
	return adminWithAny(ctx, permission.ManageApps, permission.ReviewApps)
}

// adminWithAny is the calling administrator if they hold any of the
// permissions (a list both those who write and those who review read).
func adminWithAny(ctx context.Context, perms ...string) (*models.Admin, error) {
	v := viewer.From(ctx)
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range perms {
		if ok, err := v.Allowed(ctx, p); err != nil {
			return nil, err
		} else if ok {
			return a, nil
		}
	}
	return nil, models.Errorf(models.ECodeForbidden, "您没有这项操作的权限，请联系管理员分配角色。")
}

// appInput is an app as the service takes it, its region and agency
// checked against the administrator's reach.
func (r *Resolver) appInput(ctx context.Context, a *models.Admin, in *model.AppInput) (apps.Input, error) {
	out := apps.Input{Code: in.Code, Name: in.Name, Summary: deref(in.Summary), Category: in.Category, URL: in.URL,
		RegionCode: deref(in.RegionCode), Aliases: in.Aliases, ServiceObjects: in.ServiceObjects}
	if in.Kind != nil {
		out.Kind = *in.Kind
	}
	agencyID, err := optionalID("agencyId", in.AgencyID, kindAgency)
	if err != nil {
		return out, err
	}
	if a.AgencyID != 0 && agencyID != a.AgencyID {
		agencyID = a.AgencyID // a department's administrator connects apps for that department
	}
	// A department outside the administrator's region is NOT_FOUND, as one
	// that does not exist (checked first: naming it says nothing of it).
	if agencyID != 0 {
		ag, err := r.Catalogue.Agency(ctx, agencyID)
		if err != nil {
			return out, err
		}
		if ag == nil || !withinRegion(a.RegionCode, ag.RegionCode) {
			return out, models.Errorf(models.ECodeNotFound, "没有找到这个接入单位。")
		}
	}
	if !withinRegion(a.RegionCode, out.RegionCode) {
		return out, models.InvalidField("regionCode", "应用所属区划须在您管辖的行政区划内（全国通用的应用只能由全国管理员创建）。")
	}
	out.AgencyID = agencyID
	return out, nil
}

// hallScope says which halls an administrator publishes to: the national
// hall only a nationwide one; a region's or department's hall within
// their region.
func (r *Resolver) hallScope(ctx context.Context, a *models.Admin) apps.HallScope {
	return func(h string) error {
		kind, key := apps.ParseHall(h)
		if a.AgencyID != 0 && h != apps.HallOfAgency(a.AgencyID) {
			return models.Errorf(models.ECodeForbidden, "部门管理员只能发布到本部门的分厅。")
		}
		switch kind {
		case apps.HallNational:
			if a.RegionCode != "" {
				return models.Errorf(models.ECodeForbidden, "只有全国管理员可以发布到全国分厅。")
			}
		case "REGION":
			if !withinRegion(a.RegionCode, key) {
				return models.Errorf(models.ECodeForbidden, "分厅 %s 不在您管辖的行政区划内。", h)
			}
		case "AGENCY":
			id, _ := strconv.ParseUint(key, 10, 64)
			if a.AgencyID != 0 && id != a.AgencyID {
				return models.Errorf(models.ECodeForbidden, "只能发布到本部门的分厅。")
			}
			ag, err := r.Catalogue.Agency(ctx, id)
			if err != nil {
				return err
			}
			if ag == nil {
				return models.InvalidField("hall", "没有这个部门分厅。")
			}
			if !withinRegion(a.RegionCode, ag.RegionCode) {
				return models.Errorf(models.ECodeForbidden, "分厅 %s 不在您管辖的行政区划内。", h)
			}
		}
		return nil
	}
}

// iconURL is where an icon is downloaded.
func iconURL(fileID uint64) *string {
	if fileID == 0 {
		return nil
	}
	u := "/app-files/" + GlobalID(kindAppFile, fileID)
	return &u
}

func appPayload(a *models.App, err error) (*model.AppPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.AppPayload{App: a}, nil
}

// AppInRegion checks an app lies within an administrator's reach: their
// region, and their department for a department's administrator (the app
// file endpoint uses it too).
func (r *Resolver) AppInRegion(ctx context.Context, a *models.Admin, appID uint64) error {
	if err := r.appInRegion(ctx, a, appID); err != nil {
		return err
	}
	if a.AgencyID != 0 {
		app, err := r.Catalogue.AppAnyState(ctx, appID)
		if err != nil {
			return err
		}
		if app.AgencyID != a.AgencyID {
			return models.Errorf(models.ECodeForbidden, "这个服务应用不属于您所在的部门。")
		}
	}
	return nil
}

// fieldList is user-information field keys with their Chinese names.
func fieldList(keys []string) []*lightapp.Field {
	out := make([]*lightapp.Field, len(keys))
	for i, k := range keys {
		out[i] = &lightapp.Field{Key: k, Label: lightapp.FieldLabel(k)}
	}
	return out
}

// userAndApp is the logged-in user and an app's ID, for a user's dealings
// with an app (authorizations, tickets).
func userAndApp(ctx context.Context, appID string) (*models.User, uint64, error) {
	u, err := viewer.From(ctx).RequireUser(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseNumericID("appId", appID, kindApp)
	if err != nil {
		return nil, 0, err
	}
	return u, id, nil
}
