package payment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/messages"
	"govmobile/models"
)

// Refund statuses.
const (
	RefundPending   = "PENDING"   // asked of the channel, no answer yet
	RefundSucceeded = "SUCCEEDED" // the money went back
	RefundFailed    = "FAILED"    // the channel refused
)

// Refunds are an order's refunds, oldest first.
func (s *Service) Refunds(ctx context.Context, orderID uint64) ([]*models.PaymentRefund, error) {
	var out []*models.PaymentRefund
	return out, s.db.WithContext(ctx).Where("order_id = ?", orderID).Order("id").Find(&out).Error
}

// Refund returns amount fen of a paid order of the agency. key makes the
// request idempotent: the same key is the same refund, whatever happened to
// the first answer. The money is reserved before the channel is asked, so
// two refunds never return more than was paid; a refund the channel has
// not answered stays pending and is completed by asking again with its key.
func (s *Service) Refund(ctx context.Context, agencyID, staffID, orderID uint64, amount int64, reason, key string) (*models.PaymentRefund, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case !refundKeyPattern.MatchString(key):
		return nil, models.InvalidField("idempotencyKey", "请提供 8 至 64 位的幂等键（字母、数字、下划线或连字符）。")
	case amount < 1:
		return nil, models.InvalidField("amountFen", "退款金额应大于 0（以分为单位的整数）。")
	case reason == "" || utf8.RuneCountInString(reason) > maxReasonRune:
		return nil, models.InvalidField("reason", "请填写退款原因（不超过 200 字）。")
	}
	if s.cfg.Channel == nil {
		return nil, errNotConfigured
	}
	var (
		order models.PaymentOrder
		ref   models.PaymentRefund
	)
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&order, orderID).Error; errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && order.AgencyID != agencyID) {
			return errOrderNotFound
		} else if err != nil {
			return err
		}
		err := tx.Where("order_id = ? AND request_key = ?", orderID, key).Take(&ref).Error
		if err == nil {
			if ref.AmountFen != amount {
				return models.Errorf(models.ECodeConflict, "这个幂等键已用于一笔 %s 元的退款，金额不同，请换一个幂等键。", Yuan(ref.AmountFen))
			}
			return nil
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if Status(order.Status) != Paid && Status(order.Status) != PartiallyRefunded {
			return models.Errorf(models.ECodeConflict, "订单当前状态为“%s”，不能退款。", Status(order.Status).Label())
		}
		if left := order.AmountFen - order.RefundedFen - order.ReservedFen; amount > left {
			return models.Errorf(models.ECodeConflict, "退款金额超过可退金额（可退 %s 元）。", Yuan(left))
		}
		ref = models.PaymentRefund{OrderID: orderID, Number: newNumber("R", s.now()), RequestKey: key, AmountFen: amount,
			Reason: reason, Status: RefundPending, RequestedBy: staffID, CreatedAt: s.now()}
		if err := tx.Create(&ref).Error; err != nil {
			return err
		}
		return tx.Model(&models.PaymentOrder{}).Where("id = ?", orderID).
			Updates(map[string]any{"reserved_fen": gorm.Expr("reserved_fen + ?", amount), "updated_at": s.now()}).Error
	})
	if err != nil {
		return nil, err
	}
	if ref.Status != RefundPending {
		return &ref, nil
	}
	res, err := s.cfg.Channel.Refund(ctx, RefundRequest{OrderNumber: order.Number, RefundNumber: ref.Number, AmountFen: amount, Reason: reason})
	if err != nil {
		s.cfg.Logger.Warn("payment channel refund failed", "refund", ref.Number, "err", err)
		return nil, models.Errorf(models.ECodeUnavailable, "退款申请已记录，但支付渠道暂时无法访问；请稍后用同一幂等键重试，或等待系统自动查询结果。")
	}
	return s.finishRefund(ctx, &ref, res)
}

// FinishPendingRefunds asks the channel about refunds still pending after
// a minute (an answer lost, or a channel that refunds later), asks again
// for those it never received, and records the outcomes. It handles at
// most limit refunds a call and goes on past one that fails.
func (s *Service) FinishPendingRefunds(ctx context.Context, limit int) (int, error) {
	if s.cfg.Channel == nil {
		return 0, nil
	}
	var pending []*models.PaymentRefund
	if err := s.db.WithContext(ctx).Where("status = ? AND created_at < ?", RefundPending, s.now().Add(-time.Minute)).
		Order("id").Limit(limit).Find(&pending).Error; err != nil {
		return 0, err
	}
	done := 0
	for _, ref := range pending {
		res, err := s.cfg.Channel.RefundStatus(ctx, ref.Number)
		if err == nil && res.Status == "NOT_FOUND" {
			var o *models.PaymentOrder
			if o, err = s.Order(ctx, ref.OrderID); err == nil {
				res, err = s.cfg.Channel.Refund(ctx, RefundRequest{OrderNumber: o.Number, RefundNumber: ref.Number, AmountFen: ref.AmountFen, Reason: ref.Reason})
			}
		}
		if err == nil {
			var out *models.PaymentRefund
			if out, err = s.finishRefund(ctx, ref, res); err == nil && out.Status != RefundPending {
				done++
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return done, ctx.Err()
			}
			s.cfg.Logger.Warn("pending refund not settled", "refund", ref.Number, "err", err)
		}
	}
	return done, nil
}

// finishRefund records the channel's answer to a pending refund: the money
// leaves the order (with its ledger entry) or the reservation is released.
func (s *Service) finishRefund(ctx context.Context, ref *models.PaymentRefund, res *RefundResult) (*models.PaymentRefund, error) {
	var out models.PaymentRefund
	err := s.msgs.Transaction(ctx, s.db, func(tx *gorm.DB, ob *messages.Outbox) error {
		var o models.PaymentOrder
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&o, ref.OrderID).Error; err != nil {
			return err
		}
		if err := tx.Take(&out, ref.ID).Error; err != nil {
			return err
		}
		if out.Status != RefundPending {
			return nil // answered meanwhile by another attempt
		}
		now := s.now()
		release := map[string]any{"reserved_fen": gorm.Expr("reserved_fen - ?", out.AmountFen), "updated_at": now}
		switch res.Status {
		case ChannelSuccess, ChannelFail:
		default:
			// PROCESSING, or anything the channel has not settled: the money
			// stays reserved until it has.
			return nil
		}
		if res.Status == ChannelFail {
			out.Status, out.Failure, out.CompletedAt = RefundFailed, cut(res.Message, 200), &now
			if out.Failure == "" {
				out.Failure = "支付渠道拒绝了退款。"
			}
			if err := tx.Model(&out).Select("status", "failure", "completed_at").Updates(&out).Error; err != nil {
				return err
			}
			return tx.Model(&models.PaymentOrder{}).Where("id = ?", o.ID).Updates(release).Error
		}
		action := RefundPart
		if o.RefundedFen+out.AmountFen == o.AmountFen {
			action = RefundAll
		}
		to, err := Next(Status(o.Status), action, AgencyActor)
		if err != nil {
			return err
		}
		// The refund is dated when the channel returned the money: the day
		// its statement lists it under.
		at := now
		if res.RefundedAt != nil && !res.RefundedAt.IsZero() {
			at = res.RefundedAt.UTC()
		}
		out.Status, out.ChannelNo, out.CompletedAt = RefundSucceeded, cut(res.ChannelRefundNo, 64), &at
		if err := tx.Model(&out).Select("status", "channel_no", "completed_at").Updates(&out).Error; err != nil {
			return err
		}
		release["refunded_fen"] = gorm.Expr("refunded_fen + ?", out.AmountFen)
		release["status"] = string(to)
		if err := tx.Model(&models.PaymentOrder{}).Where("id = ?", o.ID).Updates(release).Error; err != nil {
			return err
		}
		if err := tx.Create(&models.PaymentLedger{OrderID: o.ID, AgencyID: o.AgencyID, Kind: models.LedgerRefund, AmountFen: -out.AmountFen, Ref: out.Number, At: at}).Error; err != nil {
			return err
		}
		return ob.Write(tx, &models.Message{UserID: o.UserID, Title: "退款通知",
			Body:   fmt.Sprintf("订单 %s 已退款 %s 元，原路退回。原因：%s", o.Number, Yuan(out.AmountFen), out.Reason),
			Target: models.TargetCase, TargetID: o.CaseID})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
