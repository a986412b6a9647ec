package resolvers

import (
	"context"

	"govmobile/graph/model"
	"govmobile/iface"
	"govmobile/models"
	"govmobile/viewer"
)

// interfaceInput is a registration as the service takes it.
func interfaceInput(in *model.SourceInterfaceInput) iface.Input {
	out := iface.Input{Name: in.Name, Address: in.Address, Format: in.Format, Method: in.Method, Remark: deref(in.Remark)}
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
func (r *Resolver) interfaceCall(ctx context.Context, gid string) (*models.Admin, uint64, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseNumericID("interfaceId", gid, kindInterface)
	return a, id, err
}

func paramList(ps []models.InterfaceParam) []*models.InterfaceParam {
	out := make([]*models.InterfaceParam, len(ps))
	for i := range ps {
		out[i] = &ps[i]
	}
	return out
}
