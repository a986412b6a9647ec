package resolvers

import (
	"context"

	"govmobile/graph/model"
	"govmobile/models"
	"govmobile/payment"
	"govmobile/viewer"
)

const (
	kindFeeItem        = "FeeItem"
	kindPaymentOrder   = "PaymentOrder"
	kindPaymentRefund  = "PaymentRefund"
	kindPaymentNotice  = "PaymentNotification"
	kindReconciliation = "Reconciliation"
)

var errPaymentOrderNotFound = models.Errorf(models.ECodeNotFound, "没有找到这笔缴费订单。")

// agencyCall is the calling administrator, who must reach the agency.
func (r *Resolver) agencyCall(ctx context.Context, agencyID uint64, notFound error) (*models.Admin, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	ag, err := r.Catalogue.Agency(ctx, agencyID)
	if err != nil {
		return nil, err
	}
	if ag == nil || !agencyInReach(a, ag) {
		return nil, notFound
	}
	return a, nil
}

// orderCall is the calling administrator and an order of an agency within
// their reach.
func (r *Resolver) orderCall(ctx context.Context, gid string) (*models.Admin, *models.PaymentOrder, error) {
	id, err := parseNumericID("orderId", gid, kindPaymentOrder)
	if err != nil {
		return nil, nil, err
	}
	o, err := r.Payments.Order(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	a, err := r.agencyCall(ctx, o.AgencyID, errPaymentOrderNotFound)
	return a, o, err
}

// ownOrder is an order of the calling user.
func (r *Resolver) ownOrder(ctx context.Context, gid string) (*models.PaymentOrder, error) {
	u, err := viewer.From(ctx).RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseNumericID("orderId", gid, kindPaymentOrder)
	if err != nil {
		return nil, err
	}
	return r.Payments.OwnOrder(ctx, u.ID, id)
}

// requireNationwide refuses administrators with a region or agency:
// reconciliation covers the whole platform's money.
func requireNationwide(a *models.Admin) error {
	if a.RegionCode != "" || a.AgencyID != 0 {
		return models.Errorf(models.ECodeForbidden, "只有全国管理员可以进行支付对账。")
	}
	return nil
}

// orderConnection is a page of orders.
func (r *Resolver) orderConnection(ctx context.Context, f payment.OrderFilter, status *payment.Status, first *int, after *string) (*model.PaymentOrderConnection, error) {
	if status != nil {
		f.Status = *status
	}
	p, err := readIDPage(first, after, "paymentOrders", func(n int, afterID uint64) ([]*models.PaymentOrder, int64, error) {
		return r.Payments.Orders(ctx, f, n, afterID)
	}, func(o *models.PaymentOrder) uint64 { return o.ID },
		func(cur string, o *models.PaymentOrder) *model.PaymentOrderEdge {
			return &model.PaymentOrderEdge{Cursor: cur, Node: o}
		})
	if err != nil {
		return nil, err
	}
	return &model.PaymentOrderConnection{Edges: p.Edges, PageInfo: p.Info, TotalCount: p.Total}, nil
}

func fenPtr(v *int64) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}
