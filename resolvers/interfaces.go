package resolvers

import (
	"context"

	"govmobile/catalogue"

	"govmobile/graph/model"
	"govmobile/iface"
	"govmobile/models"
	"govmobile/viewer"
)

// interfaceInput is a registration as the service takes it.
func interfaceInput(in *model.SourceInterfaceInput) iface.Input {
	out := iface.Input{Name: in.Name, Address: in.Address, Format: in.Format, Method: in.Method, Remark: deref(in.Remark),
		AuthKeyParam: deref(in.AuthKeyParam), AuthKey: in.AuthKey}
	if in.AuthMode != nil {
		out.AuthMode = *in.AuthMode
	}
	if in.SlowMs != nil {
		out.SlowMs = *in.SlowMs
	}
	if len(in.HealthParams) > 0 {
		out.HealthParams = make(map[string]string, len(in.HealthParams))
		for _, p := range in.HealthParams {
			out.HealthParams[p.Name] = p.Value
		}
	}
	for _, p := range in.RequestParams {
		out.RequestParams = append(out.RequestParams, models.InterfaceParam{Name: p.Name, Required: p.Required, Type: p.Type, Description: deref(p.Description)})
	}
	for _, p := range in.ResponseParams {
		out.ResponseParams = append(out.ResponseParams, models.InterfaceParam{Name: p.Name, Required: p.Required, Type: p.Type, Description: deref(p.Description)})
	}
	return out
}

func interfacePayload(x *models.SourceInterface, err error) (*model.SourceInterfacePayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.SourceInterfacePayload{Interface: x}, nil
}

// interfaceCall is the calling administrator and the interface's ID.
// An interface outside the administrator's reach (by its app's: their
// region, and their department for a department's administrator) is
// NOT_FOUND, as one that does not exist.
func (r *Resolver) interfaceCall(ctx context.Context, gid string) (*models.Admin, uint64, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseNumericID("interfaceId", gid, kindInterface)
	if err != nil {
		return nil, 0, err
	}
	x, err := r.Interfaces.Get(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if err := r.AppInRegion(ctx, a, x.AppID); err != nil {
		return nil, 0, models.Errorf(models.ECodeNotFound, "没有找到这个接口。")
	}
	return a, id, nil
}

// appInRegion checks an app lies within the administrator's region (a
// nationwide app, within a nationwide administrator's only).
func (r *Resolver) appInRegion(ctx context.Context, a *models.Admin, appID uint64) error {
	app, err := r.Catalogue.AppAnyState(ctx, appID)
	if err != nil {
		return err
	}
	if app == nil {
		return models.Errorf(models.ECodeNotFound, "没有找到这个服务应用。")
	}
	if !withinRegion(a.RegionCode, app.RegionCode) {
		return models.Errorf(models.ECodeForbidden, "这个服务应用不在您管辖的行政区划内。")
	}
	return nil
}

func paramList(ps []models.InterfaceParam) []*models.InterfaceParam {
	out := make([]*models.InterfaceParam, len(ps))
	for i := range ps {
		out[i] = &ps[i]
	}
	return out
}

// adminRegionPrefix is the region-code prefix of an administrator's
// region, "" for a nationwide one.
func (r *Resolver) adminRegionPrefix(a *models.Admin) (string, error) {
	if a.RegionCode == "" {
		return "", nil
	}
	reg := r.Catalogue.Regions().Get(a.RegionCode)
	if reg == nil {
		return "", models.Errorf(models.ECodeForbidden, "您的管辖区划无效，请联系超级管理员。")
	}
	return catalogue.RegionPrefix(reg), nil
}

// alertCall is the calling administrator and an alert's ID; an alert on an
// interface outside the administrator's reach is NOT_FOUND.
func (r *Resolver) alertCall(ctx context.Context, gid string) (*models.Admin, uint64, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseNumericID("alertId", gid, kindAlert)
	if err != nil {
		return nil, 0, err
	}
	al, err := r.Interfaces.Alert(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	x, err := r.Interfaces.Get(ctx, al.InterfaceID)
	if err == nil {
		err = r.AppInRegion(ctx, a, x.AppID)
	}
	if err != nil {
		return nil, 0, models.Errorf(models.ECodeNotFound, "没有找到这条预警。")
	}
	return a, id, nil
}
