package models

import "time"

// Money is kept as integer fen (分) everywhere: columns, arithmetic and the
// wire. A float never holds an amount.

// FeeItem is a fee a matter charges (8.3.2 d): a fixed amount per unit,
// with the legal basis that allows it. The matter's agency collects it.
type FeeItem struct {
	ID        uint64    `gorm:"primaryKey"`
	MatterID  uint64    `gorm:"not null;uniqueIndex:idx_fee_items_matter_code,priority:1"`
	Code      string    `gorm:"size:32;not null;uniqueIndex:idx_fee_items_matter_code,priority:2"`
	Name      string    `gorm:"size:100;not null"`
	AmountFen int64     `gorm:"not null"`
	Basis     string    `gorm:"size:300;not null"`
	Active    bool      `gorm:"not null;default:true"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

// PaymentLine is one line of an order: a fee item as it was when the order
// was issued (a later change of the item does not change the order).
type PaymentLine struct {
	FeeItemID uint64 `json:"feeItemId"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	UnitFen   int64  `json:"unitFen"`
	Quantity  int    `json:"quantity"`
	AmountFen int64  `json:"amountFen"`
}

// PaymentOrder is what an applicant pays for a case: issued by the case's
// agency from the matter's fee items, paid through the payment channel,
// refunded in part or whole. Its status moves only through package
// payment's state machine, each step with its ledger entry.
type PaymentOrder struct {
	ID          uint64        `gorm:"primaryKey"`
	Number      string        `gorm:"size:32;not null;uniqueIndex"`
	CaseID      uint64        `gorm:"not null;index"`
	UserID      uint64        `gorm:"not null;index"`
	AgencyID    uint64        `gorm:"not null;index"`
	Subject     string        `gorm:"size:200;not null"`
	Lines       []PaymentLine `gorm:"serializer:json;type:text"`
	AmountFen   int64         `gorm:"not null"`
	RefundedFen int64         `gorm:"not null;default:0"`
	// ReservedFen is refunds asked of the channel and not yet answered: no
	// second refund may count on that money.
	ReservedFen int64  `gorm:"not null;default:0"`
	Status      string `gorm:"size:24;not null;index"`
	Channel     string `gorm:"size:32;not null"`
	// TradeNo is the channel's number for the payment, once paid.
	TradeNo   *string    `gorm:"size:64;uniqueIndex"`
	IssuedBy  uint64     `gorm:"not null"`
	ExpiresAt time.Time  `gorm:"not null;index"`
	PaidAt    *time.Time `gorm:"index"`
	ClosedAt  *time.Time
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

// The kinds of ledger entry.
const (
	LedgerCharge = "CHARGE" // money received for an order
	LedgerRefund = "REFUND" // money returned (the amount is negative)
)

// PaymentLedger is the append-only money ledger: every payment state change
// writes one entry in the same transaction, so the sum of an order's entries
// is always what the platform holds for it.
type PaymentLedger struct {
	ID        uint64    `gorm:"primaryKey"`
	OrderID   uint64    `gorm:"not null;index"`
	AgencyID  uint64    `gorm:"not null"`
	Kind      string    `gorm:"size:16;not null"`
	AmountFen int64     `gorm:"not null"`
	Ref       string    `gorm:"size:64;not null"`
	At        time.Time `gorm:"not null;index"`
}

// PaymentRefund is a refund of (part of) a paid order.
type PaymentRefund struct {
	ID      uint64 `gorm:"primaryKey"`
	OrderID uint64 `gorm:"not null;index;uniqueIndex:idx_payment_refunds_order_key,priority:1"`
	Number  string `gorm:"size:32;not null;uniqueIndex"`
	// RequestKey makes a refund request idempotent: the same key for the
	// same order is the same refund.
	RequestKey  string     `gorm:"size:64;not null;uniqueIndex:idx_payment_refunds_order_key,priority:2"`
	AmountFen   int64      `gorm:"not null"`
	Reason      string     `gorm:"size:200;not null"`
	Status      string     `gorm:"size:16;not null"`
	ChannelNo   string     `gorm:"size:64;not null;default:''"`
	RequestedBy uint64     `gorm:"not null"`
	Failure     string     `gorm:"size:200;not null;default:''"`
	CreatedAt   time.Time  `gorm:"not null"`
	CompletedAt *time.Time `gorm:"index"`
}

// PaymentNotification is every notification the channel sent, applied or
// not: an operator sees forged, replayed and mismatched ones with the
// reason they were refused.
type PaymentNotification struct {
	ID uint64 `gorm:"primaryKey"`
	// NotifyID is the channel's ID of the notification; empty when the
	// notification could not be read.
	NotifyID    string    `gorm:"size:64;not null;index"`
	OrderNumber string    `gorm:"size:32;not null;index"`
	TradeNo     string    `gorm:"size:64;not null"`
	AmountFen   int64     `gorm:"not null"`
	Outcome     string    `gorm:"size:16;not null;index"`
	Reason      string    `gorm:"size:200;not null"`
	ReceivedAt  time.Time `gorm:"not null;index"`
}

// AgencyReceipt is one receipt an agency's finance system reports for a
// day's collections: the third party of the daily reconciliation.
type AgencyReceipt struct {
	ID          uint64 `gorm:"primaryKey"`
	AgencyID    uint64 `gorm:"not null;uniqueIndex:idx_agency_receipts_key,priority:1"`
	Day         string `gorm:"size:10;not null;uniqueIndex:idx_agency_receipts_key,priority:2;index"`
	OrderNumber string `gorm:"size:32;not null;uniqueIndex:idx_agency_receipts_key,priority:3"`
	ReceiptNo   string `gorm:"size:64;not null"`
	AmountFen   int64  `gorm:"not null"`
	CreatedAt   time.Time
}

// AgencyReceiptBatch records that an agency reported its receipts for a
// day, so "no receipts" and "not reported" differ.
type AgencyReceiptBatch struct {
	AgencyID   uint64    `gorm:"primaryKey;autoIncrement:false"`
	Day        string    `gorm:"primaryKey;size:10"`
	Count      int       `gorm:"not null"`
	ReportedBy uint64    `gorm:"not null"`
	ReportedAt time.Time `gorm:"not null"`
}

// Reconciliation is one run of the daily reconciliation (多方对账) for a
// China day: the platform's ledger, the channel's statement and the
// agencies' receipts, with the counts of what matched and what did not.
type Reconciliation struct {
	ID         uint64 `gorm:"primaryKey"`
	Day        string `gorm:"size:10;not null;index"`
	Status     string `gorm:"size:16;not null"`
	Platform   int    `gorm:"not null"`
	Channel    int    `gorm:"not null"`
	Matched    int    `gorm:"not null"`
	Issues     int    `gorm:"not null"`
	Failure    string `gorm:"size:200;not null;default:''"`
	StartedBy  uint64 `gorm:"not null"`
	StartedAt  time.Time
	FinishedAt *time.Time
}

// ReconciliationItem is one difference a reconciliation found.
type ReconciliationItem struct {
	ID               uint64 `gorm:"primaryKey"`
	ReconciliationID uint64 `gorm:"not null;index"`
	Kind             string `gorm:"size:32;not null"`
	OrderNumber      string `gorm:"size:32;not null"`
	Ref              string `gorm:"size:64;not null"`
	AgencyID         uint64 `gorm:"not null"`
	PlatformFen      *int64
	ChannelFen       *int64
	AgencyFen        *int64
}

// PaymentTables are the tables of unified payment.
var PaymentTables = []any{&FeeItem{}, &PaymentOrder{}, &PaymentLedger{}, &PaymentRefund{}, &PaymentNotification{},
	&AgencyReceipt{}, &AgencyReceiptBatch{}, &Reconciliation{}, &ReconciliationItem{}}
