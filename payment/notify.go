package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/messages"
	"govmobile/models"
	"govmobile/signedreq"
)

// NotifyPath is where the channel sends payment notifications.
const NotifyPath = "/pay/notify"

// Outcomes of a notification.
const (
	OutcomeApplied   = "APPLIED"   // the order became paid
	OutcomeDuplicate = "DUPLICATE" // already applied: answered success, nothing changed
	OutcomeRejected  = "REJECTED"  // refused, with the reason
)

var errReplayed = errors.New("payment notification replayed")

// maxNotification bounds a notification's body.
const maxNotification = 16 << 10

// NotifyHandler receives the channel's notifications. It answers 200
// {"code":"SUCCESS"} for a notification applied now or before (so the
// channel stops resending) and 4xx {"code":"FAIL"} for one refused; every
// notification is recorded with its outcome.
func (s *Service) NotifyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			answer(w, http.StatusMethodNotAllowed, "FAIL", "只接受 POST。")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxNotification+1))
		if err != nil || len(body) > maxNotification {
			answer(w, http.StatusRequestEntityTooLarge, "FAIL", "通知过大。")
			return
		}
		outcome, reason, err := s.Notify(r.Context(), r, body)
		switch {
		case err != nil:
			s.cfg.Logger.Error("payment notification failed", "err", err)
			answer(w, http.StatusServiceUnavailable, "FAIL", "暂时无法处理，请稍后重发。")
		case outcome == OutcomeRejected:
			answer(w, http.StatusBadRequest, "FAIL", reason)
		default:
			answer(w, http.StatusOK, "SUCCESS", "")
		}
	})
}

func answer(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// Notify verifies and applies one notification, recording it. err is for
// failures of the platform itself (the channel should resend).
func (s *Service) Notify(ctx context.Context, r *http.Request, body []byte) (outcome, reason string, err error) {
	if s.cfg.Channel == nil {
		return OutcomeRejected, "支付渠道未配置。", nil
	}
	n, verr := s.cfg.Channel.Verify(r, body, s.now())
	if verr == nil {
		// A signed request is taken once (SPEC §6): the channel resends a
		// notification with a fresh nonce and signature. Nonces share the
		// table of apps' signed requests under app 0, the channel.
		err := s.db.WithContext(ctx).Create(&models.ExchangeNonce{AppID: 0, Nonce: r.Header.Get(signedreq.HeaderNonce), At: s.now()}).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			verr = errReplayed
		} else if err != nil {
			return "", "", err
		}
	}
	if verr != nil {
		reason := "通知无法解析。"
		switch {
		case errors.Is(verr, ErrForged):
			reason = "签名无效或时间戳超出允许范围。"
		case errors.Is(verr, ErrOtherMerchant):
			reason = "通知的商户号不是本平台。"
		case errors.Is(verr, errReplayed):
			reason = "重复的通知请求（同一签名已使用过）。"
		}
		rec := models.PaymentNotification{Outcome: OutcomeRejected, Reason: reason, ReceivedAt: s.now()}
		// What a forged notification claims is not trusted, but an
		// operator sees which order it named.
		var claimed Notification
		if json.Unmarshal(body, &claimed) == nil {
			rec.NotifyID, rec.OrderNumber, rec.TradeNo, rec.AmountFen = cut(claimed.NotifyID, 64), cut(claimed.OrderNumber, 32), cut(claimed.TradeNo, 64), claimed.AmountFen
		}
		return OutcomeRejected, reason, s.db.WithContext(ctx).Create(&rec).Error
	}
	if n.Status != ChannelSuccess {
		return s.reject(ctx, n, "通知状态不是支付成功。")
	}
	if n.NotifyID == "" || len(n.NotifyID) > 64 || n.TradeNo == "" || len(n.TradeNo) > 64 || len(n.OrderNumber) > 32 {
		return s.reject(ctx, n, "通知缺少必要字段。")
	}
	paidAt := n.PaidAt.UTC()
	if paidAt.IsZero() || paidAt.After(s.now().Add(5*time.Minute)) {
		return s.reject(ctx, n, "支付时间无效。")
	}
	return s.apply(ctx, n.NotifyID, n.OrderNumber, n.TradeNo, n.AmountFen, paidAt, "notify")
}

func (s *Service) reject(ctx context.Context, n *Notification, reason string) (string, string, error) {
	rec := models.PaymentNotification{NotifyID: cut(n.NotifyID, 64), OrderNumber: cut(n.OrderNumber, 32), TradeNo: cut(n.TradeNo, 64),
		AmountFen: n.AmountFen, Outcome: OutcomeRejected, Reason: reason, ReceivedAt: s.now()}
	return OutcomeRejected, reason, s.db.WithContext(ctx).Create(&rec).Error
}

// apply records that the channel took tradeNo's money for an order, in one
// transaction with the order's change and its ledger entry. The same trade
// again is a duplicate; another trade for a paid order, an amount that is
// not the order's, or an unknown order is refused. source is "notify" or
// "query" (a query's confirmation is recorded like a notification).
func (s *Service) apply(ctx context.Context, notifyID, orderNumber, tradeNo string, amount int64, paidAt time.Time, source string) (outcome, reason string, err error) {
	// Two deliveries of one trade may race to the trade number's unique
	// index: the loser runs again and reads the winner's result.
	for attempt := 0; ; attempt++ {
		outcome, reason, err = s.applyOnce(ctx, notifyID, orderNumber, tradeNo, amount, paidAt, source)
		if err == nil || !errors.Is(err, gorm.ErrDuplicatedKey) || attempt == 1 {
			return outcome, reason, err
		}
	}
}

func (s *Service) applyOnce(ctx context.Context, notifyID, orderNumber, tradeNo string, amount int64, paidAt time.Time, source string) (outcome, reason string, err error) {
	rec := models.PaymentNotification{NotifyID: notifyID, OrderNumber: orderNumber, TradeNo: tradeNo, AmountFen: amount, ReceivedAt: s.now()}
	if source == "query" {
		rec.NotifyID = "query"
	}
	var paid *models.PaymentOrder
	err = s.msgs.Transaction(ctx, s.db, func(tx *gorm.DB, ob *messages.Outbox) error {
		outcome, reason, paid = "", "", nil
		var o models.PaymentOrder
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("number = ?", orderNumber).Take(&o).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			outcome, reason = OutcomeRejected, "订单不存在。"
		case err != nil:
			return err
		case o.TradeNo != nil && *o.TradeNo == tradeNo:
			outcome, reason = OutcomeDuplicate, "重复通知，已处理过。"
		case o.TradeNo != nil:
			outcome, reason = OutcomeRejected, "订单已由另一笔交易支付，需人工退还重复支付的款项。"
		case amount != o.AmountFen:
			outcome, reason = OutcomeRejected, fmt.Sprintf("金额与订单不符（订单 %s 元，通知 %s 元）。", Yuan(o.AmountFen), Yuan(amount))
		}
		if outcome != "" {
			rec.Outcome, rec.Reason = outcome, reason
			return tx.Create(&rec).Error
		}
		to, err := Next(Status(o.Status), ConfirmPayment, ChannelActor)
		if err != nil {
			outcome, reason = OutcomeRejected, "订单当前状态不接受支付。"
			rec.Outcome, rec.Reason = outcome, reason
			return tx.Create(&rec).Error
		}
		now := s.now()
		res := tx.Model(&models.PaymentOrder{}).Where("id = ? AND status = ? AND trade_no IS NULL", o.ID, o.Status).
			Updates(map[string]any{"status": string(to), "trade_no": tradeNo, "paid_at": paidAt, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("order %d moved during apply", o.ID)
		}
		// The charge is dated when the channel took the money, the day the
		// channel's statement lists it under.
		if err := tx.Create(&models.PaymentLedger{OrderID: o.ID, AgencyID: o.AgencyID, Kind: models.LedgerCharge, AmountFen: amount, Ref: tradeNo, At: paidAt}).Error; err != nil {
			return err
		}
		outcome, reason = OutcomeApplied, ""
		if Status(o.Status) == Closed {
			reason = "订单已关闭后收到支付，已记为已缴费，请办理部门核实是否退款。"
		}
		rec.Outcome, rec.Reason = outcome, reason
		if err := tx.Create(&rec).Error; err != nil {
			return err
		}
		o.Status, o.TradeNo, o.PaidAt = string(to), &tradeNo, &paidAt
		paid = &o
		return ob.Write(tx, &models.Message{UserID: o.UserID, Title: "缴费成功",
			Body:   fmt.Sprintf("订单 %s 已缴费 %s 元。", o.Number, Yuan(amount)),
			Target: models.TargetCase, TargetID: o.CaseID})
	})
	if err != nil {
		return "", "", err
	}
	if outcome == OutcomeApplied && paid != nil {
		s.cfg.Logger.Info("payment applied", "order", paid.Number, "amount_fen", amount, "source", source)
	}
	return outcome, reason, nil
}

// notificationRetention is how long refused notifications are kept; those
// that moved money (applied) and their duplicates are kept for ever.
const notificationRetention = 90 * 24 * time.Hour

// PruneNotifications deletes refused notifications older than 90 days, in
// batches, so a flood of forged requests does not stay in the database.
func (s *Service) PruneNotifications(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-notificationRetention)
	var total int64
	for {
		var ids []uint64
		if err := s.db.WithContext(ctx).Model(&models.PaymentNotification{}).Where("outcome = ? AND received_at < ?", OutcomeRejected, cutoff).
			Order("id").Limit(500).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
			return total, err
		}
		res := s.db.WithContext(ctx).Where("id IN ?", ids).Delete(&models.PaymentNotification{})
		if res.Error != nil {
			return total, res.Error
		}
		total += res.RowsAffected
		if len(ids) < 500 {
			return total, nil
		}
	}
}
