// Package payment is unified payment (统一支付, 8.3.2 d): the fee items a
// matter charges, the payment order an agency issues for a case, paying it
// through a payment channel, the channel's notifications applied exactly
// once, refunds, and the daily reconciliation of the platform's ledger, the
// channel's statement and the agencies' receipts.
//
// Money is integer fen. Every change of an order's money is one
// transaction with its ledger entry; nothing here ever trusts an amount
// the channel did not sign, and nothing applies a notification twice.
package payment

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/cases"
	"govmobile/database"
	"govmobile/messages"
	"govmobile/models"
)

// Limits of orders and fee items.
const (
	MaxLines      = 20
	MaxQuantity   = 99
	MaxUnitFen    = 100_000_000   // 100 万元 per unit
	MaxOrderFen   = 1_000_000_000 // 1,000 万元 per order
	DefaultTTL    = 72 * time.Hour
	maxReasonRune = 200
)

// ChinaTime is the zone of the days reconciled and shown (UTC+8, no DST).
var ChinaTime = time.FixedZone("CST", 8*3600)

// Config configures the service.
type Config struct {
	// Channel is the payment channel; nil means payments are not
	// configured and paying answers UNAVAILABLE.
	Channel Channel
	// NotifyURL is where the channel sends notifications.
	NotifyURL string
	// OrderTTL is how long an order may be paid (default 72 h).
	OrderTTL time.Duration
	Logger   *slog.Logger
}

// Service keeps fee items, orders, refunds and reconciliations.
type Service struct {
	db   *gorm.DB
	cfg  Config
	msgs *messages.Service
	now  func() time.Time
}

// New returns the payment service.
func New(db *gorm.DB, cfg Config, msgs *messages.Service) *Service {
	if cfg.OrderTTL == 0 {
		cfg.OrderTTL = DefaultTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{db: db, cfg: cfg, msgs: msgs, now: func() time.Time { return time.Now().UTC() }}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

var (
	errOrderNotFound   = models.Errorf(models.ECodeNotFound, "没有找到这笔缴费订单。")
	errCaseNotFound    = models.Errorf(models.ECodeNotFound, "没有找到这个办件。")
	errFeeNotFound     = models.Errorf(models.ECodeNotFound, "没有找到这个收费项目。")
	errNotConfigured   = models.Errorf(models.ECodeUnavailable, "支付服务暂未开通，请稍后再试或到窗口缴费。")
	errChannelDown     = models.Errorf(models.ECodeUnavailable, "支付渠道暂时无法访问，请稍后再试。")
	feeCodePattern     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	refundKeyPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	issuableCaseStates = []cases.Status{cases.Accepted, cases.Processing}
)

// FeeItemInput is a fee item as an administrator writes it.
type FeeItemInput struct {
	Code      string
	Name      string
	AmountFen int64
	Basis     string
	Active    bool
}

func (in *FeeItemInput) validate() error {
	in.Code, in.Name, in.Basis = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name), strings.TrimSpace(in.Basis)
	switch {
	case !feeCodePattern.MatchString(in.Code):
		return models.InvalidField("code", "收费项目编码应为 1 至 32 位字母、数字、下划线或连字符。")
	case in.Name == "" || utf8.RuneCountInString(in.Name) > 100:
		return models.InvalidField("name", "收费项目名称应为 1 至 100 个字。")
	case in.AmountFen < 1 || in.AmountFen > MaxUnitFen:
		return models.InvalidField("amountFen", "收费金额应在 0.01 元至 100 万元之间（以分为单位的整数）。")
	case in.Basis == "" || utf8.RuneCountInString(in.Basis) > 300:
		return models.InvalidField("basis", "请填写收费依据（不超过 300 字）。")
	}
	return nil
}

// FeeItems are a matter's fee items, the inactive ones too when asked.
func (s *Service) FeeItems(ctx context.Context, matterID uint64, inactive bool) ([]*models.FeeItem, error) {
	q := s.db.WithContext(ctx).Where("matter_id = ?", matterID)
	if !inactive {
		q = q.Where("active = ?", true)
	}
	var out []*models.FeeItem
	return out, q.Order("id").Find(&out).Error
}

// FeeItem reads one fee item.
func (s *Service) FeeItem(ctx context.Context, id uint64) (*models.FeeItem, error) {
	return database.Take[models.FeeItem](s.db.WithContext(ctx), id, errFeeNotFound)
}

// SaveFeeItem creates a matter's fee item, or changes it (by code). A
// change never touches orders already issued: they keep their lines.
func (s *Service) SaveFeeItem(ctx context.Context, matterID uint64, in FeeItemInput) (*models.FeeItem, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out models.FeeItem
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		err := tx.Where("matter_id = ? AND code = ?", matterID, in.Code).Take(&out).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			out = models.FeeItem{MatterID: matterID, Code: in.Code, Name: in.Name, AmountFen: in.AmountFen, Basis: in.Basis, Active: in.Active}
			return tx.Create(&out).Error
		} else if err != nil {
			return err
		}
		out.Name, out.AmountFen, out.Basis, out.Active = in.Name, in.AmountFen, in.Basis, in.Active
		return tx.Model(&out).Select("name", "amount_fen", "basis", "active", "updated_at").Updates(&out).Error
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// LineInput is a fee item and how many of it an order charges.
type LineInput struct {
	FeeItemID uint64
	Quantity  int
}

// Order reads one order.
func (s *Service) Order(ctx context.Context, id uint64) (*models.PaymentOrder, error) {
	return database.Take[models.PaymentOrder](s.db.WithContext(ctx), id, errOrderNotFound)
}

// OwnOrder reads one of a user's orders; another user's is NOT_FOUND.
func (s *Service) OwnOrder(ctx context.Context, userID, id uint64) (*models.PaymentOrder, error) {
	o, err := s.Order(ctx, id)
	if err != nil || o.UserID != userID {
		return nil, errOrderNotFound
	}
	return o, nil
}

// OrdersOfCase are a case's orders, newest first.
func (s *Service) OrdersOfCase(ctx context.Context, caseID uint64) ([]*models.PaymentOrder, error) {
	var out []*models.PaymentOrder
	return out, s.db.WithContext(ctx).Where("case_id = ?", caseID).Order("id DESC").Find(&out).Error
}

// OrderFilter narrows a list of orders: a user's, or an agency's (or the
// agencies of a region), in one status.
type OrderFilter struct {
	UserID   uint64
	AgencyID uint64
	// RegionPrefix keeps the orders of agencies in a region.
	RegionPrefix string
	Status       Status
}

// Orders is a page of orders, newest first.
func (s *Service) Orders(ctx context.Context, f OrderFilter, first int, afterID uint64) ([]*models.PaymentOrder, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.PaymentOrder{})
	if f.UserID != 0 {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.AgencyID != 0 {
		q = q.Where("agency_id = ?", f.AgencyID)
	}
	if f.RegionPrefix != "" {
		q = q.Where("agency_id IN (?)", s.db.Model(&models.Agency{}).Select("id").Where("region_code LIKE ?", f.RegionPrefix+"%"))
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	return database.NewestFirst[models.PaymentOrder](q, first, afterID)
}

// Issue makes a case's payment order from its matter's fee items: by the
// case's agency, while the case is accepted or being handled, and only
// when the case has no live order (an unpaid or paid one). The applicant
// gets a message.
func (s *Service) Issue(ctx context.Context, agencyID, staffID, caseID uint64, lines []LineInput) (*models.PaymentOrder, error) {
	if len(lines) == 0 || len(lines) > MaxLines {
		return nil, models.InvalidField("lines", fmt.Sprintf("一笔订单应包含 1 至 %d 个收费项目。", MaxLines))
	}
	seen := map[uint64]bool{}
	for _, l := range lines {
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return nil, models.InvalidField("quantity", fmt.Sprintf("数量应在 1 至 %d 之间。", MaxQuantity))
		}
		if seen[l.FeeItemID] {
			return nil, models.InvalidField("lines", "同一收费项目只能出现一次，请合并数量。")
		}
		seen[l.FeeItemID] = true
	}
	var order models.PaymentOrder
	err := s.msgs.Transaction(ctx, s.db, func(tx *gorm.DB, ob *messages.Outbox) error {
		var c models.Case
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&c, caseID).Error; errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && c.AgencyID != agencyID) {
			return errCaseNotFound
		} else if err != nil {
			return err
		}
		if !slices.Contains(issuableCaseStates, cases.Status(c.Status)) {
			return models.Errorf(models.ECodeConflict, "办件当前状态为“%s”，受理后、办结前才能开具缴费订单。", cases.Status(c.Status).Label())
		}
		var live int64
		if err := tx.Model(&models.PaymentOrder{}).Where("case_id = ? AND status IN ?", caseID,
			[]string{string(Unpaid), string(Paid), string(PartiallyRefunded)}).Count(&live).Error; err != nil {
			return err
		}
		if live > 0 {
			return models.Errorf(models.ECodeConflict, "这个办件已有未关闭的缴费订单。")
		}
		var items []*models.FeeItem
		ids := make([]uint64, len(lines))
		for i, l := range lines {
			ids[i] = l.FeeItemID
		}
		if err := tx.Where("id IN ? AND matter_id = ? AND active = ?", ids, c.MatterID, true).Find(&items).Error; err != nil {
			return err
		}
		if len(items) != len(lines) {
			return models.InvalidField("feeItemId", "收费项目不存在、已停用或不属于这个事项。")
		}
		byID := map[uint64]*models.FeeItem{}
		for _, it := range items {
			byID[it.ID] = it
		}
		var total int64
		for _, l := range lines {
			it := byID[l.FeeItemID]
			amount := it.AmountFen * int64(l.Quantity)
			total += amount
			order.Lines = append(order.Lines, models.PaymentLine{FeeItemID: it.ID, Code: it.Code, Name: it.Name, UnitFen: it.AmountFen, Quantity: l.Quantity, AmountFen: amount})
		}
		if total > MaxOrderFen {
			return models.InvalidField("lines", "订单金额超过上限（1,000 万元），请分次缴纳。")
		}
		var matter models.Matter
		if err := tx.Select("id", "name").Take(&matter, c.MatterID).Error; err != nil {
			return err
		}
		now := s.now()
		order.Number = newNumber("P", now)
		order.CaseID, order.UserID, order.AgencyID = c.ID, c.UserID, c.AgencyID
		order.Subject = cut(matter.Name+" 办件 "+c.Number, 200)
		order.AmountFen, order.Status, order.IssuedBy = total, string(Unpaid), staffID
		order.Channel = s.channelName()
		order.ExpiresAt = now.Add(s.cfg.OrderTTL)
		if err := tx.Create(&order).Error; err != nil {
			return err
		}
		return ob.Write(tx, &models.Message{UserID: c.UserID, Title: "缴费通知",
			Body:   fmt.Sprintf("您的办件 %s 需缴纳 %s 元，请在 %s 前完成缴费。", c.Number, Yuan(total), order.ExpiresAt.In(ChinaTime).Format("2006-01-02 15:04")),
			Target: models.TargetCase, TargetID: c.ID})
	})
	if err != nil {
		return nil, err
	}
	return &order, nil
}

func (s *Service) channelName() string {
	if s.cfg.Channel == nil {
		return ""
	}
	return s.cfg.Channel.Name()
}

// Pay asks the channel where the applicant pays one of their unpaid
// orders.
func (s *Service) Pay(ctx context.Context, userID, orderID uint64) (*models.PaymentOrder, *Start, error) {
	o, err := s.OwnOrder(ctx, userID, orderID)
	if err != nil {
		return nil, nil, err
	}
	if Status(o.Status) != Unpaid {
		return nil, nil, models.Errorf(models.ECodeConflict, "订单当前状态为“%s”，无需缴费。", Status(o.Status).Label())
	}
	if !s.now().Before(o.ExpiresAt) {
		return nil, nil, models.Errorf(models.ECodeConflict, "订单已过缴费期限，请联系办理部门重新开具。")
	}
	if s.cfg.Channel == nil {
		return nil, nil, errNotConfigured
	}
	start, err := s.cfg.Channel.Start(ctx, StartRequest{OrderNumber: o.Number, AmountFen: o.AmountFen, Subject: o.Subject,
		NotifyURL: s.cfg.NotifyURL, ExpiresAt: o.ExpiresAt})
	if err != nil {
		s.cfg.Logger.Warn("payment channel start failed", "order", o.Number, "err", err)
		return nil, nil, errChannelDown
	}
	return o, start, nil
}

// Sync asks the channel how an unpaid order stands and applies a payment
// it confirms: for an applicant who paid but whose notification is late.
func (s *Service) Sync(ctx context.Context, o *models.PaymentOrder) (*models.PaymentOrder, error) {
	if Status(o.Status) != Unpaid && Status(o.Status) != Closed {
		return o, nil
	}
	if s.cfg.Channel == nil {
		return nil, errNotConfigured
	}
	p, err := s.cfg.Channel.Query(ctx, o.Number)
	if err != nil {
		s.cfg.Logger.Warn("payment channel query failed", "order", o.Number, "err", err)
		return nil, errChannelDown
	}
	if p.Status == ChannelSuccess {
		paidAt := s.now()
		if p.PaidAt != nil {
			paidAt = p.PaidAt.UTC()
		}
		if _, _, err := s.apply(ctx, "", o.Number, p.TradeNo, p.AmountFen, paidAt, "query"); err != nil {
			return nil, err
		}
	}
	return s.Order(ctx, o.ID)
}

// Cancel closes an unpaid order of the agency. The channel is asked first:
// an order the applicant has just paid is applied, not closed.
func (s *Service) Cancel(ctx context.Context, agencyID, orderID uint64) (*models.PaymentOrder, error) {
	o, err := s.Order(ctx, orderID)
	if err != nil || o.AgencyID != agencyID {
		return nil, errOrderNotFound
	}
	if _, err := Next(Status(o.Status), Cancel, AgencyActor); err != nil {
		return nil, err
	}
	if s.cfg.Channel != nil {
		if o, err = s.closeAtChannel(ctx, o); err != nil {
			return nil, err
		}
		if Status(o.Status) != Unpaid {
			return nil, models.Errorf(models.ECodeConflict, "订单已缴费，不能撤销；如需退还请办理退款。")
		}
	}
	return o, s.close(ctx, o, Cancel, AgencyActor)
}

// closeAtChannel has the channel stop taking payment for an unpaid order,
// so that its page and QR code cannot be paid after the order is closed; a
// payment that arrived first is applied. It returns the order as it now
// stands.
func (s *Service) closeAtChannel(ctx context.Context, o *models.PaymentOrder) (*models.PaymentOrder, error) {
	p, err := s.cfg.Channel.Close(ctx, o.Number)
	if err != nil {
		s.cfg.Logger.Warn("payment channel close failed", "order", o.Number, "err", err)
		return nil, errChannelDown
	}
	if p.Status != ChannelSuccess {
		return o, nil
	}
	paidAt := s.now()
	if p.PaidAt != nil {
		paidAt = p.PaidAt.UTC()
	}
	if _, _, err := s.apply(ctx, "", o.Number, p.TradeNo, p.AmountFen, paidAt, "query"); err != nil {
		return nil, err
	}
	return s.Order(ctx, o.ID)
}

func (s *Service) close(ctx context.Context, o *models.PaymentOrder, a Action, by Actor) error {
	to, err := Next(Status(o.Status), a, by)
	if err != nil {
		return err
	}
	now := s.now()
	res := s.db.WithContext(ctx).Model(&models.PaymentOrder{}).Where("id = ? AND status = ?", o.ID, o.Status).
		Updates(map[string]any{"status": string(to), "closed_at": now, "updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ECodeConflict, "订单状态刚刚发生变化，请刷新后重试。")
	}
	o.Status, o.ClosedAt = string(to), &now
	return nil
}

// ExpireOrders closes unpaid orders past their time, after closing each
// at the channel (one paid at the last minute is applied instead). It
// handles at most limit orders a call, for at most two minutes, and goes on
// past an order the channel cannot answer for (tried again next time).
func (s *Service) ExpireOrders(ctx context.Context, limit int) (int, error) {
	var due []*models.PaymentOrder
	if err := s.db.WithContext(ctx).Where("status = ? AND expires_at <= ?", string(Unpaid), s.now()).Order("id").Limit(limit).Find(&due).Error; err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	n := 0
	for _, o := range due {
		if s.cfg.Channel != nil {
			now, err := s.closeAtChannel(ctx, o)
			if err != nil {
				if ctx.Err() != nil {
					return n, nil
				}
				continue
			}
			if Status(now.Status) != Unpaid {
				continue
			}
		}
		if err := s.close(ctx, o, Expire, PlatformActor); err != nil && models.ErrorCode(err) != models.ECodeConflict {
			return n, err
		}
		n++
	}
	return n, nil
}

// Yuan writes fen as yuan with two decimals: 1250 → "12.50".
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// newNumber is an order or refund number: a letter, the China time to the
// second and 8 random digits (23 characters).
func newNumber(prefix string, now time.Time) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	return fmt.Sprintf("%s%s%08d", prefix, now.In(ChinaTime).Format("20060102150405"), n.Int64())
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// CaseOf is the case an order is for. Whoever may see the order may see
// its case: the applicant, and the agency that issued it.
func (s *Service) CaseOf(ctx context.Context, o *models.PaymentOrder) (*models.Case, error) {
	return database.Take[models.Case](s.db.WithContext(ctx), o.CaseID, errCaseNotFound)
}

// Case reads a case for an administrator's action on its payments; the
// caller checks that the case's agency is within the administrator's reach.
func (s *Service) Case(ctx context.Context, id uint64) (*models.Case, error) {
	return database.Take[models.Case](s.db.WithContext(ctx), id, errCaseNotFound)
}

// SetChannel connects another channel (tests, which start their sandbox
// after the platform). Call it before the service is used.
func (s *Service) SetChannel(ch Channel, notifyURL string) {
	s.cfg.Channel, s.cfg.NotifyURL = ch, notifyURL
}
