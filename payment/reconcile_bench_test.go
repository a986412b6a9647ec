package payment_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/models"
	"govmobile/payment"
	"govmobile/payment/sandbox"
)

// BenchmarkReconcile100k reconciles a day of 100,000 payments against the
// sandbox channel's 100,000-line statement (fetched over HTTP and
// verified) and 100,000 agency receipts, on SQLite; the issue's bar is
// under 10 s. A few differences are planted so the run has items to write.
func BenchmarkReconcile100k(b *testing.B) {
	const n = 100_000
	db, _, err := database.Open(database.Config{DSN: "sqlite://" + filepath.Join(b.TempDir(), "pay.db"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.AutoMigrate(append([]any{&models.Lease{}}, models.PaymentTables...)...); err != nil {
		b.Fatal(err)
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, payment.ChinaTime)
	platformKey, _ := gm.GenerateSM2Key()
	channelKey, _ := gm.GenerateSM2Key()
	sb := sandbox.New(sandbox.Config{MerchantID: "M", Key: channelKey,
		PlatformKeys: func(context.Context, string) ([]*ecdsa.PublicKey, error) {
			return []*ecdsa.PublicKey{&platformKey.PublicKey}, nil
		}})
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	orders := make([]models.PaymentOrder, n)
	ledger := make([]models.PaymentLedger, n)
	receipts := make([]models.AgencyReceipt, n)
	for i := range orders {
		trade := fmt.Sprintf("T%019d", i)
		at := day.Add(time.Duration(i) * 800 * time.Millisecond).UTC()
		orders[i] = models.PaymentOrder{ID: uint64(i + 1), Number: fmt.Sprintf("P%022d", i), CaseID: uint64(i + 1), UserID: 1, AgencyID: uint64(i%50 + 1),
			Subject: "bench", AmountFen: int64(100 + i%5000), Status: "PAID", Channel: "GOVPAY", TradeNo: &trade, ExpiresAt: at, PaidAt: &at, CreatedAt: at, UpdatedAt: at}
		ledger[i] = models.PaymentLedger{OrderID: orders[i].ID, AgencyID: orders[i].AgencyID, Kind: models.LedgerCharge, AmountFen: orders[i].AmountFen, Ref: trade, At: at}
		receipts[i] = models.AgencyReceipt{AgencyID: orders[i].AgencyID, Day: "2026-11-20", OrderNumber: orders[i].Number, ReceiptNo: fmt.Sprintf("R%d", i), AmountFen: orders[i].AmountFen}
		amount := orders[i].AmountFen
		if i%20_000 == 7 {
			amount++ // planted: the channel's amount differs
		}
		if i%25_000 != 3 { // planted: the channel lost a few
			sb.AddStatementLine("PAY", trade, orders[i].Number, amount, at)
		}
	}
	for _, rows := range []any{orders, ledger, receipts} {
		if err := db.CreateInBatches(rows, 1000).Error; err != nil {
			b.Fatal(err)
		}
	}
	batches := make([]models.AgencyReceiptBatch, 50)
	for i := range batches {
		batches[i] = models.AgencyReceiptBatch{AgencyID: uint64(i + 1), Day: "2026-11-20", Count: n / 50, ReportedAt: time.Now()}
	}
	if err := db.Create(&batches).Error; err != nil {
		b.Fatal(err)
	}
	svc := payment.New(db, payment.Config{Channel: &payment.HTTPChannel{BaseURL: srv.URL, MerchantID: "M", ChannelKey: &channelKey.PublicKey,
		Sign: func(_ context.Context, msg []byte) ([]byte, string, error) {
			sig, err := gm.SM2Sign(platformKey, msg)
			return sig, "k", err
		}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	b.ResetTimer()
	for b.Loop() {
		run, err := svc.Reconcile(context.Background(), "2026-11-20", 0)
		if err != nil {
			b.Fatal(err)
		}
		if run.Platform != n || run.Channel != n-4 || run.Issues != 9 || run.Status != payment.ReconIssues {
			b.Fatalf("run: %+v", run)
		}
	}
}
