package payment

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// The kinds of difference a reconciliation reports.
const (
	MissingInChannel      = "MISSING_IN_CHANNEL"      // the platform recorded it, the channel's statement does not list it
	ExtraInChannel        = "EXTRA_IN_CHANNEL"        // the statement lists it, the platform has no record of it that day
	AmountMismatch        = "AMOUNT_MISMATCH"         // both have it, with different amounts
	OrderMismatch         = "ORDER_MISMATCH"          // both have it, the channel under another order number
	DuplicateInChannel    = "DUPLICATE_IN_CHANNEL"    // the statement lists it more than once
	MissingReceipt        = "MISSING_RECEIPT"         // paid, but the agency reported no receipt for it
	ExtraReceipt          = "EXTRA_RECEIPT"           // the agency reported a receipt for no payment of that day
	ReceiptAmountMismatch = "RECEIPT_AMOUNT_MISMATCH" // the receipt's amount differs from the payment
	AgencyNotReported     = "AGENCY_NOT_REPORTED"     // the agency collected that day and reported no receipts
)

// Reconciliation statuses.
const (
	ReconRunning  = "RUNNING"
	ReconBalanced = "BALANCED" // every record matched
	ReconIssues   = "ISSUES"   // differences found, listed as items
	ReconFailed   = "FAILED"   // the statement could not be had or read
)

// reconcileLease bounds one reconciliation run.
const reconcileLease = 10 * time.Minute

var dayPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// ParseDay reads a China day (YYYY-MM-DD) and returns its start.
func ParseDay(day string) (time.Time, error) {
	if !dayPattern.MatchString(day) {
		return time.Time{}, models.InvalidField("day", "日期格式应为 YYYY-MM-DD。")
	}
	t, err := time.ParseInLocation("2006-01-02", day, ChinaTime)
	if err != nil {
		return time.Time{}, models.InvalidField("day", "日期无效。")
	}
	return t, nil
}

// StatementHeader is the first line of a channel's statement.
const StatementHeader = "type,ref,order_number,amount_fen,time"

// StatementLine is one line of a channel's statement: a payment (ref is
// the channel's trade number) or a refund (ref is the platform's refund
// number), amounts positive.
type StatementLine struct {
	Type        string // PAY or REFUND
	Ref         string
	OrderNumber string
	AmountFen   int64
}

// ParseStatement reads a statement; a malformed line fails the whole file.
func ParseStatement(data []byte) ([]StatementLine, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 5
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil || strings.Join(head, ",") != StatementHeader {
		return nil, fmt.Errorf("statement header: want %q", StatementHeader)
	}
	var out []StatementLine
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("statement line %d: %w", line, err)
		}
		amount, err := strconv.ParseInt(rec[3], 10, 64)
		if err != nil || amount < 1 || (rec[0] != "PAY" && rec[0] != "REFUND") || rec[1] == "" {
			return nil, fmt.Errorf("statement line %d is malformed", line)
		}
		out = append(out, StatementLine{Type: rec[0], Ref: strings.Clone(rec[1]), OrderNumber: strings.Clone(rec[2]), AmountFen: amount})
	}
}

// ReceiptError is one bad line of an agency's receipt file.
type ReceiptError struct {
	Line    int
	Message string
}

// MaxReceiptLines bounds one agency's receipts for one day.
const MaxReceiptLines = 200_000

// ImportReceipts replaces an agency's receipts for a day with the lines of
// a CSV file ("order_number,receipt_no,amount_fen", with that header), or
// adds them (add: a large day sent in parts). The file is taken whole or
// not at all: any bad line refuses it, and every bad line (the first 100)
// is reported.
func (s *Service) ImportReceipts(ctx context.Context, agencyID, by uint64, day string, data []byte, add bool) (int, []ReceiptError, error) {
	if _, err := ParseDay(day); err != nil {
		return 0, nil, err
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil || len(head) != 3 || strings.Join(head, ",") != "order_number,receipt_no,amount_fen" {
		return 0, nil, models.InvalidField("file", "回单文件第一行应为 order_number,receipt_no,amount_fen。")
	}
	var (
		rows []models.AgencyReceipt
		bad  []ReceiptError
		seen = map[string]bool{}
	)
	if add {
		var have []string
		if err := s.db.WithContext(ctx).Model(&models.AgencyReceipt{}).Where("agency_id = ? AND day = ?", agencyID, day).Pluck("order_number", &have).Error; err != nil {
			return 0, nil, err
		}
		for _, n := range have {
			seen[n] = true
		}
	}
	now := s.now()
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		fail := func(msg string) {
			if len(bad) < 100 {
				bad = append(bad, ReceiptError{Line: line, Message: msg})
			}
		}
		if err != nil {
			fail("这一行不是有效的 CSV。")
			if _, ok := err.(*csv.ParseError); ok {
				continue
			}
			break
		}
		if len(rows) >= MaxReceiptLines {
			return 0, nil, models.InvalidField("file", fmt.Sprintf("一次最多导入 %d 行回单。", MaxReceiptLines))
		}
		if len(rec) != 3 {
			fail("这一行应有 3 列。")
			continue
		}
		number, receiptNo := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		amount, err := strconv.ParseInt(strings.TrimSpace(rec[2]), 10, 64)
		switch {
		case number == "" || len(number) > 32:
			fail("订单号为空或过长。")
		case receiptNo == "" || len(receiptNo) > 64:
			fail("回单号为空或过长。")
		case err != nil || amount < 1 || amount > MaxOrderFen:
			fail("金额应为以分为单位的正整数。")
		case seen[number]:
			fail("订单号重复（在文件中或已报送的回单中）。")
		default:
			seen[number] = true
			rows = append(rows, models.AgencyReceipt{AgencyID: agencyID, Day: day, OrderNumber: number, ReceiptNo: receiptNo, AmountFen: amount, CreatedAt: now})
		}
	}
	if len(bad) > 0 {
		return 0, bad, nil
	}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if !add {
			if err := tx.Where("agency_id = ? AND day = ?", agencyID, day).Delete(&models.AgencyReceipt{}).Error; err != nil {
				return err
			}
		}
		if len(rows) > 0 {
			if err := tx.CreateInBatches(rows, 500).Error; err != nil {
				return err
			}
		}
		var count int64
		if err := tx.Model(&models.AgencyReceipt{}).Where("agency_id = ? AND day = ?", agencyID, day).Count(&count).Error; err != nil {
			return err
		}
		batch := models.AgencyReceiptBatch{AgencyID: agencyID, Day: day, Count: int(count), ReportedBy: by, ReportedAt: now}
		return tx.Save(&batch).Error
	})
	return len(rows), nil, err
}

// entry is one money movement of the platform's ledger on the day.
type entry struct {
	Kind        string
	Ref         string
	AmountFen   int64
	AgencyID    uint64
	OrderNumber string
}

// Reconcile reconciles a China day that has ended: the platform's ledger,
// the channel's statement (fetched and verified) and each agency's
// receipts. Only one reconciliation runs at a time; the result and its
// differences are stored, a later run of the same day adding a newer one.
func (s *Service) Reconcile(ctx context.Context, day string, by uint64) (*models.Reconciliation, error) {
	start, err := ParseDay(day)
	if err != nil {
		return nil, err
	}
	end := start.AddDate(0, 0, 1)
	if s.now().Before(end) {
		return nil, models.InvalidField("day", "只能对已经结束的日期对账。")
	}
	if s.cfg.Channel == nil {
		return nil, errNotConfigured
	}
	holder := newNumber("L", s.now())
	ok, err := database.TryLease(ctx, s.db, "payment-reconcile", holder, reconcileLease)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, models.Errorf(models.ECodeConflict, "另一次对账正在进行，请稍后再试。")
	}
	defer func() { _ = database.ReleaseLease(context.WithoutCancel(ctx), s.db, "payment-reconcile", holder) }()

	run := &models.Reconciliation{Day: day, Status: ReconRunning, StartedBy: by, StartedAt: s.now()}
	if err := s.db.WithContext(ctx).Create(run).Error; err != nil {
		return nil, err
	}
	items, platform, channel, matched, err := s.compare(ctx, day, start.UTC(), end.UTC())
	now := s.now()
	run.FinishedAt = &now
	if err != nil {
		run.Status = ReconFailed
		switch {
		case errors.Is(err, ErrForged):
			run.Failure = "支付渠道对账单签名无效。"
		case errors.Is(err, ErrChannel), errors.Is(err, errStatement):
			run.Failure = "未能取得或读取支付渠道的对账单。"
		default:
			run.Failure = "对账过程出错，请稍后重试。"
		}
		s.cfg.Logger.Warn("reconciliation failed", "day", day, "err", err)
		if uerr := s.db.WithContext(context.WithoutCancel(ctx)).Model(run).Select("status", "failure", "finished_at").Updates(run).Error; uerr != nil {
			return nil, errors.Join(err, uerr)
		}
		if run.Failure == "对账过程出错，请稍后重试。" {
			return nil, err
		}
		return run, nil
	}
	run.Platform, run.Channel, run.Matched, run.Issues = platform, channel, matched, len(items)
	run.Status = ReconBalanced
	if len(items) > 0 {
		run.Status = ReconIssues
	}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		for i := range items {
			items[i].ReconciliationID = run.ID
		}
		if len(items) > 0 {
			if err := tx.CreateInBatches(items, 500).Error; err != nil {
				return err
			}
		}
		return tx.Model(run).Select("status", "platform", "channel", "matched", "issues", "finished_at").Updates(run).Error
	})
	return run, err
}

var errStatement = errors.New("statement malformed")

// compare matches the three sources of a day in memory: maps keyed by the
// payment's or refund's reference, one pass over each.
func (s *Service) compare(ctx context.Context, day string, from, to time.Time) (items []models.ReconciliationItem, platform, channel, matched int, err error) {
	var ledger []entry
	err = s.db.WithContext(ctx).Table("payment_ledgers AS l").
		Select("l.kind AS kind, l.ref AS ref, l.amount_fen AS amount_fen, l.agency_id AS agency_id, o.number AS order_number").
		Joins("JOIN payment_orders o ON o.id = l.order_id").
		Where("l.at >= ? AND l.at < ?", from, to).Scan(&ledger).Error
	if err != nil {
		return nil, 0, 0, 0, err
	}
	data, err := s.cfg.Channel.Statement(ctx, day)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	lines, err := ParseStatement(data)
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("%w: %v", errStatement, err)
	}
	platform, channel = len(ledger), len(lines)
	fen := func(v int64) *int64 { return &v }

	type key struct{ typ, ref string }
	stated := make(map[key]*StatementLine, len(lines))
	for i := range lines {
		l := &lines[i]
		k := key{l.Type, l.Ref}
		if _, twice := stated[k]; twice {
			items = append(items, models.ReconciliationItem{Kind: DuplicateInChannel, OrderNumber: cut(l.OrderNumber, 32), Ref: cut(l.Ref, 64), ChannelFen: fen(l.AmountFen)})
			continue
		}
		stated[k] = l
	}
	// Charges per agency and order, for the agencies' receipts.
	type agencyOrder struct {
		agency uint64
		order  string
	}
	charged := map[agencyOrder]*entry{}
	agencies := map[uint64]bool{}
	for i := range ledger {
		e := &ledger[i]
		typ, amount := "PAY", e.AmountFen
		if e.Kind == models.LedgerRefund {
			typ, amount = "REFUND", -e.AmountFen
		} else {
			charged[agencyOrder{e.AgencyID, e.OrderNumber}] = e
			agencies[e.AgencyID] = true
		}
		k := key{typ, e.Ref}
		line, ok := stated[k]
		switch {
		case !ok:
			items = append(items, models.ReconciliationItem{Kind: MissingInChannel, OrderNumber: e.OrderNumber, Ref: e.Ref, AgencyID: e.AgencyID, PlatformFen: fen(amount)})
		case line.AmountFen != amount:
			items = append(items, models.ReconciliationItem{Kind: AmountMismatch, OrderNumber: e.OrderNumber, Ref: e.Ref, AgencyID: e.AgencyID, PlatformFen: fen(amount), ChannelFen: fen(line.AmountFen)})
		case line.OrderNumber != e.OrderNumber:
			items = append(items, models.ReconciliationItem{Kind: OrderMismatch, OrderNumber: e.OrderNumber, Ref: e.Ref, AgencyID: e.AgencyID, PlatformFen: fen(amount), ChannelFen: fen(line.AmountFen)})
		default:
			matched++
		}
		if ok {
			line.Ref = "" // matched: not extra
		}
	}
	for i := range lines { // in the statement's order
		if l := &lines[i]; l.Ref != "" && stated[key{l.Type, l.Ref}] == l {
			items = append(items, models.ReconciliationItem{Kind: ExtraInChannel, OrderNumber: cut(l.OrderNumber, 32), Ref: cut(l.Ref, 64), ChannelFen: fen(l.AmountFen)})
		}
	}

	// The agencies' receipts: only agencies that reported for the day are
	// compared line by line; one that collected and did not report is one
	// item, not one per order.
	var batches []models.AgencyReceiptBatch
	if err := s.db.WithContext(ctx).Where("day = ?", day).Find(&batches).Error; err != nil {
		return nil, 0, 0, 0, err
	}
	reported := map[uint64]bool{}
	for _, b := range batches {
		reported[b.AgencyID] = true
	}
	var receipts []models.AgencyReceipt
	if err := s.db.WithContext(ctx).Where("day = ?", day).Order("id").Find(&receipts).Error; err != nil {
		return nil, 0, 0, 0, err
	}
	received := make(map[agencyOrder]*models.AgencyReceipt, len(receipts))
	for i := range receipts {
		received[agencyOrder{receipts[i].AgencyID, receipts[i].OrderNumber}] = &receipts[i]
	}
	for _, e := range ledger {
		if e.Kind != models.LedgerCharge || !reported[e.AgencyID] {
			continue
		}
		rc, ok := received[agencyOrder{e.AgencyID, e.OrderNumber}]
		switch {
		case !ok:
			items = append(items, models.ReconciliationItem{Kind: MissingReceipt, OrderNumber: e.OrderNumber, Ref: e.Ref, AgencyID: e.AgencyID, PlatformFen: fen(e.AmountFen)})
		case rc.AmountFen != e.AmountFen:
			items = append(items, models.ReconciliationItem{Kind: ReceiptAmountMismatch, OrderNumber: e.OrderNumber, Ref: rc.ReceiptNo, AgencyID: e.AgencyID, PlatformFen: fen(e.AmountFen), AgencyFen: fen(rc.AmountFen)})
		}
	}
	for _, rc := range receipts {
		if _, ok := charged[agencyOrder{rc.AgencyID, rc.OrderNumber}]; !ok {
			items = append(items, models.ReconciliationItem{Kind: ExtraReceipt, OrderNumber: rc.OrderNumber, Ref: rc.ReceiptNo, AgencyID: rc.AgencyID, AgencyFen: fen(rc.AmountFen)})
		}
	}
	for id := range agencies {
		if !reported[id] {
			items = append(items, models.ReconciliationItem{Kind: AgencyNotReported, AgencyID: id})
		}
	}
	return items, platform, channel, matched, nil
}

// Reconciliations is a page of reconciliation runs, newest first.
func (s *Service) Reconciliations(ctx context.Context, first int, afterID uint64) ([]*models.Reconciliation, int64, error) {
	return database.NewestFirst[models.Reconciliation](s.db.WithContext(ctx).Model(&models.Reconciliation{}), first, afterID)
}

// Reconciliation reads one run.
func (s *Service) Reconciliation(ctx context.Context, id uint64) (*models.Reconciliation, error) {
	return database.Take[models.Reconciliation](s.db.WithContext(ctx), id, models.Errorf(models.ECodeNotFound, "没有找到这次对账。"))
}

// ReconciliationItems is a page of a run's differences, in the order found.
func (s *Service) ReconciliationItems(ctx context.Context, runID uint64, first int, afterID uint64) ([]*models.ReconciliationItem, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.ReconciliationItem{}).Where("reconciliation_id = ?", runID)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var out []*models.ReconciliationItem
	err := q.Where("id > ?", afterID).Order("id").Limit(first).Find(&out).Error
	return out, total, err
}

// Notifications is a page of received notifications, newest first,
// optionally of one outcome.
func (s *Service) Notifications(ctx context.Context, outcome string, first int, afterID uint64) ([]*models.PaymentNotification, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.PaymentNotification{})
	if outcome != "" {
		q = q.Where("outcome = ?", outcome)
	}
	return database.NewestFirst[models.PaymentNotification](q, first, afterID)
}

// dueWindow is how many past days the automatic reconciliation looks
// back for days without a successful run.
const dueWindow = 7

// ReconcileDue runs the daily reconciliation of each of the last seven
// China days that has no successful run, oldest first, from 02:00 China
// time (when channels have their statements ready for yesterday). A run
// left RUNNING longer than the lease (its process died) counts as failed.
// It returns the runs it made.
func (s *Service) ReconcileDue(ctx context.Context) ([]*models.Reconciliation, error) {
	if s.cfg.Channel == nil {
		return nil, nil
	}
	now := s.now().In(ChinaTime)
	latest := now.AddDate(0, 0, -1)
	if now.Hour() < 2 {
		latest = now.AddDate(0, 0, -2)
	}
	var out []*models.Reconciliation
	for back := dueWindow - 1; back >= 0; back-- {
		day := latest.AddDate(0, 0, -back).Format("2006-01-02")
		var done int64
		err := s.db.WithContext(ctx).Model(&models.Reconciliation{}).
			Where("day = ? AND (status IN ? OR (status = ? AND started_at > ?))", day, []string{ReconBalanced, ReconIssues}, ReconRunning, s.now().Add(-reconcileLease)).
			Count(&done).Error
		if err != nil {
			return out, err
		}
		if done > 0 {
			continue
		}
		run, err := s.Reconcile(ctx, day, 0)
		if models.ErrorCode(err) == models.ECodeConflict {
			return out, nil // another replica is at it
		}
		if err != nil {
			return out, err
		}
		out = append(out, run)
	}
	return out, nil
}
