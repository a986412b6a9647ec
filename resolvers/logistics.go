package resolvers

import (
	"context"

	"govmobile/graph/model"
	"govmobile/logistics"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/viewer"
)

const (
	kindShipment  = "Shipment"
	kindRejection = "CarrierWebhookRejection"
)

var errLogisticsOff = models.Errorf(models.ECodeUnavailable, "寄递服务暂未开通。")

// shipmentCaller is who asks: a logged-in citizen, or a staff member of an
// agency who handles its cases.
func (r *Resolver) shipmentCaller(ctx context.Context) (logistics.Caller, error) {
	if r.Logistics == nil {
		return logistics.Caller{}, errLogisticsOff
	}
	v := viewer.From(ctx)
	if u, err := v.User(ctx); err == nil && u != nil {
		return logistics.Caller{UserID: u.ID}, nil
	}
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		return logistics.Caller{}, err
	}
	if ok, err := v.Allowed(ctx, permission.HandleCases); err != nil {
		return logistics.Caller{}, err
	} else if !ok || a.AgencyID == 0 {
		return logistics.Caller{}, models.Errorf(models.ECodeForbidden, "只有办理部门的工作人员可以处理快件。")
	}
	return logistics.Caller{AgencyID: a.AgencyID, StaffID: a.ID}, nil
}

// mailInput checks a mailing's IDs and regions and makes the service's input.
func (r *Resolver) mailInput(in model.MailInput, d logistics.Direction) (logistics.Input, error) {
	caseID, err := parseNumericID("caseId", in.CaseID, kindCase)
	if err != nil {
		return logistics.Input{}, err
	}
	party := func(role, label string, p *model.ShipmentPartyInput) (logistics.Party, error) {
		if r.Catalogue.Regions().Get(p.RegionCode) == nil {
			return logistics.Party{}, models.InvalidField(role+"RegionCode", label+"所在地区的行政区划代码不存在。")
		}
		return logistics.Party{Name: p.Name, Phone: p.Phone, RegionCode: p.RegionCode, Address: p.Address}, nil
	}
	snd, err := party("sender", "寄件人", in.Sender)
	if err != nil {
		return logistics.Input{}, err
	}
	var rcv logistics.Party
	if in.Receiver != nil { // materials go to a hall, named by its ID
		if rcv, err = party("receiver", "收件人", in.Receiver); err != nil {
			return logistics.Input{}, err
		}
	}
	return logistics.Input{CaseID: caseID, Direction: d, Sender: snd, Receiver: rcv}, nil
}

// shipmentConnection is a page of the caller's shipments.
func (r *Resolver) shipmentConnection(ctx context.Context, by logistics.Caller, caseID *string, first *int, after *string) (*model.ShipmentConnection, error) {
	cid, err := optionalID("caseId", caseID, kindCase)
	if err != nil {
		return nil, err
	}
	p, err := readIDPage(first, after, "shipments", func(n int, afterID uint64) ([]*logistics.Shipment, int64, error) {
		return r.Logistics.List(ctx, by, cid, n, afterID)
	}, func(s *logistics.Shipment) uint64 { return s.ID },
		func(cur string, s *logistics.Shipment) *model.ShipmentEdge {
			return &model.ShipmentEdge{Cursor: cur, Node: s}
		})
	if err != nil {
		return nil, err
	}
	return &model.ShipmentConnection{Edges: p.Edges, PageInfo: p.Info, TotalCount: p.Total}, nil
}
