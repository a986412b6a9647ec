package app_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"govmobile/gm"
	"govmobile/models"
	"govmobile/payment"
	"govmobile/payment/sandbox"
	"govmobile/permission"
	"govmobile/signedreq"
)

// connectSandbox starts a sandbox payment channel on loopback and connects
// the backend's payments to it, as --pay-channel-url would.
func connectSandbox(t *testing.T, b *backend) (*sandbox.Server, string, *sm2.PrivateKey) {
	t.Helper()
	key, err := gm.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	sb := sandbox.New(sandbox.Config{MerchantID: "GOVMOBILE", Key: key, PublicURL: srv.URL, Logger: quietLogger(), Retries: 1, Backoff: 10 * time.Millisecond,
		PlatformKeys: func(ctx context.Context, keyID string) ([]*ecdsa.PublicKey, error) {
			k, err := b.app.PlatformKeys.Lookup(ctx, keyID)
			if err != nil || k == nil {
				return nil, err
			}
			return []*ecdsa.PublicKey{k.Public}, nil
		}})
	handler = sb.Handler()
	b.app.Payments.SetChannel(&payment.HTTPChannel{BaseURL: srv.URL, MerchantID: "GOVMOBILE", ChannelKey: sb.PublicKey(), Sign: b.app.PlatformSigner()},
		b.srv.URL+payment.NotifyPath)
	return sb, srv.URL, key
}

type orderOut struct {
	ID, Number, Status, AmountYuan string
	AmountFen, RefundedFen         int
	Lines                          []struct {
		Code                string
		Quantity, AmountFen int
	}
}

const orderFields = `id number status amountFen amountYuan refundedFen lines { code quantity amountFen }`

// TestPayments (8.3.2 d): fee items, an order per case, paying through the
// sandbox channel over real HTTP, notifications verified and applied
// exactly once (forged, replayed, mismatched and unknown ones refused and
// recorded), a lost notification recovered by asking, refunds that never
// return more than was paid, expiry, and the daily reconciliation of the
// ledger, the channel's statement and the agency's receipts.
func TestPayments(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		sb, sandboxURL, channelKey := connectSandbox(t, b)
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id").Offset(7).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		collector := b.scopedAdmin(t, "", m.AgencyID, permission.CollectPayments, permission.HandleCases)
		other := b.scopedAdmin(t, "", m.AgencyID+1, permission.CollectPayments, permission.HandleCases)
		national := b.scopedAdmin(t, "", 0, permission.Reconcile)
		user := b.register(t, person(t)).Ticket
		stranger := b.register(t, person(t)).Ticket

		newCase := func() string {
			var out struct {
				SubmitApplication struct{ Case struct{ ID string } }
			}
			b.gql(t, user, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
				map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &out)
			return out.SubmitApplication.Case.ID
		}
		accept := func(caseID string) {
			b.gql(t, collector, `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`,
				map[string]any{"in": map[string]any{"caseId": caseID, "action": "ACCEPT"}}).decode(t, &struct{}{})
		}

		// Fee items.
		save := `mutation($in: SaveFeeItemInput!) { saveFeeItem(input: $in) { id code amountFen amountYuan active } }`
		item := func(code, name string, fen int) map[string]any {
			return map[string]any{"matterId": gid("Matter", m.ID), "code": code, "name": name, "amountFen": fen, "basis": "《居民身份证法》第二十条"}
		}
		expectCode(t, b.gql(t, collector, save, map[string]any{"in": item("GB", "工本费", 0)}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, collector, save, map[string]any{"in": item("bad code!", "工本费", 100)}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, other, save, map[string]any{"in": item("GB", "工本费", 2000)}), models.ECodeNotFound)
		expectCode(t, b.gql(t, user, save, map[string]any{"in": item("GB", "工本费", 2000)}), models.ECodeUnauthenticated)
		var fee struct {
			SaveFeeItem struct{ ID, AmountYuan string }
		}
		b.gql(t, collector, save, map[string]any{"in": item("GB", "工本费", 2000)}).decode(t, &fee)
		if fee.SaveFeeItem.AmountYuan != "20.00" {
			t.Fatalf("fee item: %+v", fee)
		}
		gb := fee.SaveFeeItem.ID
		b.gql(t, collector, save, map[string]any{"in": item("JJ", "加急费", 1550)}).decode(t, &fee)
		jj := fee.SaveFeeItem.ID
		var items struct{ MatterFeeItems []struct{ Code string } }
		b.gql(t, "", `query($m: ID!) { matterFeeItems(matterId: $m) { code } }`, map[string]any{"m": gid("Matter", m.ID)}).decode(t, &items)
		if len(items.MatterFeeItems) != 2 {
			t.Fatalf("public fee items: %+v", items)
		}

		// An order for an accepted case only, one live order per case.
		issue := `mutation($in: IssuePaymentOrderInput!) { issuePaymentOrder(input: $in) { ` + orderFields + ` } }`
		lines := []map[string]any{{"feeItemId": gb, "quantity": 1}, {"feeItemId": jj, "quantity": 2}}
		caseA := newCase()
		expectCode(t, b.gql(t, collector, issue, map[string]any{"in": map[string]any{"caseId": caseA, "lines": lines}}), models.ECodeConflict)
		accept(caseA)
		expectCode(t, b.gql(t, other, issue, map[string]any{"in": map[string]any{"caseId": caseA, "lines": lines}}), models.ECodeNotFound)
		expectCode(t, b.gql(t, collector, issue, map[string]any{"in": map[string]any{"caseId": caseA,
			"lines": []map[string]any{{"feeItemId": gb, "quantity": 100}}}}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, collector, issue, map[string]any{"in": map[string]any{"caseId": caseA,
			"lines": []map[string]any{{"feeItemId": gb}, {"feeItemId": gb}}}}), models.ECodeBadUserInput)
		var issued struct{ IssuePaymentOrder orderOut }
		b.gql(t, collector, issue, map[string]any{"in": map[string]any{"caseId": caseA, "lines": lines}}).decode(t, &issued)
		order := issued.IssuePaymentOrder
		if order.AmountFen != 5100 || order.AmountYuan != "51.00" || order.Status != "UNPAID" || len(order.Lines) != 2 {
			t.Fatalf("issued: %+v", order)
		}
		expectCode(t, b.gql(t, collector, issue, map[string]any{"in": map[string]any{"caseId": caseA, "lines": lines}}), models.ECodeConflict)
		// A cashier who does not handle cases sees the order, not the
		// application behind it.
		cashier := b.scopedAdmin(t, "", m.AgencyID, permission.CollectPayments)
		var listed struct {
			AgencyPaymentOrders struct {
				Edges []struct {
					Node struct {
						Number string
						Case   *struct{ ID string }
					}
				}
			}
		}
		b.gql(t, cashier, `{ agencyPaymentOrders { edges { node { number case { id } } } } }`, nil).decode(t, &listed)
		if len(listed.AgencyPaymentOrders.Edges) == 0 || listed.AgencyPaymentOrders.Edges[0].Node.Case != nil {
			t.Fatalf("a cashier's view: %+v", listed)
		}
		b.gql(t, collector, `{ agencyPaymentOrders { edges { node { number case { id } } } } }`, nil).decode(t, &listed)
		if listed.AgencyPaymentOrders.Edges[0].Node.Case == nil {
			t.Fatalf("a case handler's view: %+v", listed)
		}
		// A later change of a fee item leaves the order as issued.
		b.gql(t, collector, save, map[string]any{"in": item("GB", "工本费", 2500)}).decode(t, &fee)

		// Paying: the owner only.
		pay := `mutation($o: ID!) { payOrder(orderId: $o) { payUrl qrCode order { status } } }`
		expectCode(t, b.gql(t, stranger, pay, map[string]any{"o": order.ID}), models.ECodeNotFound)
		var started struct {
			PayOrder struct{ PayURL, QRCode string }
		}
		b.gql(t, user, pay, map[string]any{"o": order.ID}).decode(t, &started)
		if !strings.HasPrefix(started.PayOrder.PayURL, sandboxURL+"/pay/") {
			t.Fatalf("pay url: %+v", started)
		}
		if res, err := http.Get(started.PayOrder.PayURL); err != nil || res.StatusCode != 200 {
			t.Fatalf("payment page: %v", err)
		} else {
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(page), "51.00") {
				t.Fatalf("payment page: %s", page)
			}
		}

		// Bad notifications: refused, recorded, nothing applied.
		notifyURL := b.srv.URL + payment.NotifyPath
		forger := sandbox.New(sandbox.Config{MerchantID: "GOVMOBILE", Key: newSM2Key(t), PlatformKeys: func(context.Context, string) ([]*ecdsa.PublicKey, error) { return nil, nil }})
		good := &payment.Notification{NotifyID: "N-forged-1", MerchantID: "GOVMOBILE", OrderNumber: order.Number, TradeNo: "T-forged",
			AmountFen: 5100, Status: "SUCCESS", PaidAt: time.Now().UTC()}
		if st, err := forger.Send(context.Background(), notifyURL, good); err != nil || st != 400 {
			t.Fatalf("forged notification: %d %v", st, err)
		}
		wrongAmount := *good
		wrongAmount.NotifyID, wrongAmount.AmountFen = "N-amount", 1
		if st, _ := sb.Send(context.Background(), notifyURL, &wrongAmount); st != 400 {
			t.Fatalf("a notification with another amount: %d", st)
		}
		unknown := *good
		unknown.NotifyID, unknown.OrderNumber = "N-unknown", "P2000010100000000000001"
		if st, _ := sb.Send(context.Background(), notifyURL, &unknown); st != 400 {
			t.Fatalf("a notification for an unknown order: %d", st)
		}
		otherMerchant := *good
		otherMerchant.NotifyID, otherMerchant.MerchantID = "N-merchant", "SOMEONE"
		if st, _ := sb.Send(context.Background(), notifyURL, &otherMerchant); st != 400 {
			t.Fatalf("a notification for another merchant: %d", st)
		}
		if o := b.orderStatus(t, user, order.ID); o.Status != "UNPAID" {
			t.Fatalf("after bad notifications: %+v", o)
		}
		// The same signed request twice: the second is a replay, refused
		// even though the first was only refused for its amount.
		var saved http.Header
		replayed := wrongAmount
		replayed.NotifyID = "N-replay"
		body, _ := json.Marshal(replayed)
		for i, want := range []string{"金额与订单不符", "重复的通知请求"} {
			req, _ := http.NewRequest(http.MethodPost, notifyURL, bytes.NewReader(body))
			if i == 0 {
				if err := signedreq.Sign(req, body, sandbox.AppID, "", time.Now(), func(m []byte) ([]byte, error) { return gm.SM2Sign(channelKey, m) }); err != nil {
					t.Fatal(err)
				}
				saved = req.Header.Clone()
			} else {
				req.Header = saved
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 400 || !strings.Contains(string(answer), want) {
				t.Fatalf("signed request %d: %d %s", i, res.StatusCode, answer)
			}
		}

		// The real payment, then the same notification ten times at once.
		n, status, err := sb.Pay(context.Background(), order.Number)
		if err != nil || status != 200 {
			t.Fatalf("pay: %d %v", status, err)
		}
		var wg sync.WaitGroup
		statuses := make([]int, 10)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _ = sb.Send(context.Background(), notifyURL, n)
			}()
		}
		wg.Wait()
		for _, st := range statuses {
			if st != 200 {
				t.Fatalf("replayed notifications answered %v", statuses)
			}
		}
		another := *n
		another.NotifyID, another.TradeNo = "N-second-trade", "T-second"
		if st, _ := sb.Send(context.Background(), notifyURL, &another); st != 400 {
			t.Fatalf("a second trade for a paid order: %d", st)
		}
		if o := b.orderStatus(t, user, order.ID); o.Status != "PAID" {
			t.Fatalf("after paying: %+v", o)
		}
		if got := ledgerSum(t, b, order.Number); got != 5100 {
			t.Fatalf("ledger after one payment and ten replays: %d", got)
		}
		var notices struct {
			PaymentNotifications struct {
				Edges []struct {
					Node struct{ Outcome, OrderNumber, Reason string }
				}
			}
		}
		expectCode(t, b.gql(t, collector, `{ paymentNotifications { totalCount } }`, nil), models.ECodeForbidden)
		b.gql(t, national, `{ paymentNotifications(first: 100) { edges { node { outcome orderNumber reason } } } }`, nil).decode(t, &notices)
		outcomes := map[string]int{}
		for _, e := range notices.PaymentNotifications.Edges {
			if e.Node.OrderNumber == order.Number || e.Node.OrderNumber == unknown.OrderNumber {
				outcomes[e.Node.Outcome]++
			}
		}
		if outcomes["APPLIED"] != 1 || outcomes["DUPLICATE"] != 10 || outcomes["REJECTED"] != 7 {
			t.Fatalf("recorded notifications: %v", outcomes)
		}

		// Refunds: idempotent by key, never more than was paid.
		refund := `mutation($in: RefundPaymentInput!) { refundPayment(input: $in) { number amountFen status } }`
		rin := func(fen int, key string) map[string]any {
			return map[string]any{"in": map[string]any{"orderId": order.ID, "amountFen": fen, "reason": "加急未能兑现", "idempotencyKey": key}}
		}
		expectCode(t, b.gql(t, collector, refund, rin(100, "short")), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, collector, refund, rin(5101, "refund-key-0")), models.ECodeConflict)
		expectCode(t, b.gql(t, other, refund, rin(100, "refund-key-0")), models.ECodeNotFound)
		var r1, r1again struct {
			RefundPayment struct{ Number, Status string }
		}
		b.gql(t, collector, refund, rin(1550, "refund-key-1")).decode(t, &r1)
		b.gql(t, collector, refund, rin(1550, "refund-key-1")).decode(t, &r1again)
		if r1.RefundPayment.Status != "SUCCEEDED" || r1again.RefundPayment.Number != r1.RefundPayment.Number {
			t.Fatalf("refund and its retry: %+v %+v", r1, r1again)
		}
		expectCode(t, b.gql(t, collector, refund, rin(100, "refund-key-1")), models.ECodeConflict)
		if o := b.orderStatus(t, user, order.ID); o.Status != "PARTIALLY_REFUNDED" || o.RefundedFen != 1550 {
			t.Fatalf("after a part refund: %+v", o)
		}
		// A channel that refunds later: the refund stays pending with its
		// money reserved, and is settled when the channel has paid it.
		sb.HoldRefunds("PROCESSING")
		var held struct {
			RefundPayment struct{ Number, Status string }
		}
		b.gql(t, collector, refund, rin(1000, "refund-key-held")).decode(t, &held)
		if held.RefundPayment.Status != "PENDING" {
			t.Fatalf("a refund the channel has not paid yet: %+v", held)
		}
		expectCode(t, b.gql(t, collector, refund, rin(2551, "refund-key-2")), models.ECodeConflict)
		sb.HoldRefunds("")
		if err := sb.CompleteRefund(held.RefundPayment.Number); err != nil {
			t.Fatal(err)
		}
		b.app.Payments.SetClock(func() time.Time { return time.Now().UTC().Add(2 * time.Minute) })
		if n, err := b.app.Payments.FinishPendingRefunds(context.Background(), 10); err != nil || n != 1 {
			t.Fatalf("settle pending refunds: %d %v", n, err)
		}
		b.app.Payments.SetClock(func() time.Time { return time.Now().UTC() })
		if o := b.orderStatus(t, user, order.ID); o.RefundedFen != 2550 {
			t.Fatalf("after the held refund: %+v", o)
		}
		expectCode(t, b.gql(t, collector, refund, rin(2551, "refund-key-2")), models.ECodeConflict)
		b.gql(t, collector, refund, rin(2550, "refund-key-2")).decode(t, &r1)
		if o := b.orderStatus(t, user, order.ID); o.Status != "REFUNDED" || o.RefundedFen != 5100 {
			t.Fatalf("after refunding the rest: %+v", o)
		}
		expectCode(t, b.gql(t, collector, refund, rin(1, "refund-key-3")), models.ECodeConflict)
		if got := ledgerSum(t, b, order.Number); got != 0 {
			t.Fatalf("ledger after full refund: %d", got)
		}

		// A lost notification: the applicant asks, the platform asks the
		// channel. An agency cannot cancel an order just paid.
		caseB, caseC, caseD := newCase(), newCase(), newCase()
		orderOf := func(caseID string) orderOut {
			accept(caseID)
			var out struct{ IssuePaymentOrder orderOut }
			b.gql(t, collector, issue, map[string]any{"in": map[string]any{"caseId": caseID, "lines": []map[string]any{{"feeItemId": gb}}}}).decode(t, &out)
			b.gql(t, user, pay, map[string]any{"o": out.IssuePaymentOrder.ID}).decode(t, &started)
			return out.IssuePaymentOrder
		}
		oB, oC, oD := orderOf(caseB), orderOf(caseC), orderOf(caseD)
		if oB.AmountFen != 2500 {
			t.Fatalf("a new order takes the fee item's new amount: %+v", oB)
		}
		if _, err := sb.MarkPaid(oB.Number); err != nil {
			t.Fatal(err)
		}
		var synced struct{ SyncPaymentOrder orderOut }
		expectCode(t, b.gql(t, stranger, `mutation($o: ID!) { syncPaymentOrder(orderId: $o) { status } }`, map[string]any{"o": oB.ID}), models.ECodeNotFound)
		b.gql(t, user, `mutation($o: ID!) { syncPaymentOrder(orderId: $o) { status } }`, map[string]any{"o": oB.ID}).decode(t, &synced)
		if synced.SyncPaymentOrder.Status != "PAID" {
			t.Fatalf("synced: %+v", synced)
		}
		cancel := `mutation($o: ID!) { cancelPaymentOrder(orderId: $o) { status } }`
		if _, err := sb.MarkPaid(oC.Number); err != nil {
			t.Fatal(err)
		}
		expectCode(t, b.gql(t, collector, cancel, map[string]any{"o": oC.ID}), models.ECodeConflict)
		if o := b.orderStatus(t, user, oC.ID); o.Status != "PAID" {
			t.Fatalf("cancelling an order just paid: %+v", o)
		}
		var cancelled struct{ CancelPaymentOrder struct{ Status string } }
		b.gql(t, collector, cancel, map[string]any{"o": oD.ID}).decode(t, &cancelled)
		if cancelled.CancelPaymentOrder.Status != "CLOSED" {
			t.Fatalf("cancel: %+v", cancelled)
		}
		expectCode(t, b.gql(t, user, pay, map[string]any{"o": oD.ID}), models.ECodeConflict)
		if _, err := sb.MarkPaid(oD.Number); err == nil {
			t.Fatal("a cancelled order's payment page still takes money")
		}

		// Expiry: an unpaid order past its time is closed.
		caseE := newCase()
		accept(caseE)
		var oE struct{ IssuePaymentOrder orderOut }
		b.gql(t, collector, issue, map[string]any{"in": map[string]any{"caseId": caseE, "lines": []map[string]any{{"feeItemId": jj}}}}).decode(t, &oE)
		b.app.Payments.SetClock(func() time.Time { return time.Now().UTC().Add(payment.DefaultTTL + time.Minute) })
		expectCode(t, b.gql(t, user, pay, map[string]any{"o": oE.IssuePaymentOrder.ID}), models.ECodeConflict)
		if _, err := b.app.Payments.ExpireOrders(context.Background(), 100); err != nil {
			t.Fatal(err)
		}
		b.app.Payments.SetClock(func() time.Time { return time.Now().UTC() })
		if o := b.orderStatus(t, user, oE.IssuePaymentOrder.ID); o.Status != "CLOSED" {
			t.Fatalf("expired: %+v", o)
		}

		// The agency's receipts: a bad file is refused whole.
		today := time.Now().In(payment.ChinaTime).Format("2006-01-02")
		receipts := `mutation($in: ImportAgencyReceiptsInput!) { importAgencyReceipts(input: $in) { imported errors { line message } } }`
		var imported struct {
			ImportAgencyReceipts struct {
				Imported int
				Errors   []struct{ Line int }
			}
		}
		bad := "order_number,receipt_no,amount_fen\n" + oB.Number + ",R1,abc\n" + oB.Number + ",R2,2500\n,R3,1\n"
		b.gql(t, collector, receipts, map[string]any{"in": map[string]any{"day": today, "csv": bad}}).decode(t, &imported)
		if imported.ImportAgencyReceipts.Imported != 0 || len(imported.ImportAgencyReceipts.Errors) != 2 {
			t.Fatalf("a bad receipt file: %+v", imported)
		}
		var paid []models.PaymentOrder
		if err := b.app.DB.Where("agency_id = ? AND paid_at IS NOT NULL", m.AgencyID).Find(&paid).Error; err != nil {
			t.Fatal(err)
		}
		file := "order_number,receipt_no,amount_fen\n"
		for _, o := range paid {
			file += fmt.Sprintf("%s,RC-%d,%d\n", o.Number, o.ID, o.AmountFen)
		}
		file += "P2000010100000000000009,RC-EXTRA,100\n"
		b.gql(t, collector, receipts, map[string]any{"in": map[string]any{"day": today, "csv": file}}).decode(t, &imported)
		if imported.ImportAgencyReceipts.Imported != len(paid)+1 {
			t.Fatalf("receipts: %+v", imported)
		}

		// The reconciliation: the channel lists a payment the platform never
		// heard of and lost one of the platform's.
		sb.AddStatementLine("PAY", "T-UNKNOWN-1", "P2000010100000000000008", 777, time.Now())
		sb.DropStatementLine(*mustOrder(t, b, oC.Number).TradeNo)
		sb.AddStatementLine("PAY", *mustOrder(t, b, oB.Number).TradeNo, oB.Number, 2500, time.Now())
		reconcile := `mutation($d: String!) { reconcilePayments(day: $d) { status platformCount channelCount matchedCount issueCount
			items(first: 100) { totalCount edges { node { kind orderNumber platformFen channelFen agencyFen } } } } }`
		expectCode(t, b.gql(t, national, reconcile, map[string]any{"d": today}), models.ECodeBadUserInput) // not over yet
		expectCode(t, b.gql(t, collector, reconcile, map[string]any{"d": "2026-01-01"}), models.ECodeForbidden)
		expectCode(t, b.gql(t, national, reconcile, map[string]any{"d": "2026-13-01"}), models.ECodeBadUserInput)
		b.app.Payments.SetClock(func() time.Time { return time.Now().UTC().Add(24 * time.Hour) })
		defer b.app.Payments.SetClock(func() time.Time { return time.Now().UTC() })
		var rec struct {
			ReconcilePayments struct {
				Status                                                string
				PlatformCount, ChannelCount, MatchedCount, IssueCount int
				Items                                                 struct {
					Edges []struct {
						Node struct{ Kind, OrderNumber string }
					}
				}
			}
		}
		b.gql(t, national, reconcile, map[string]any{"d": today}).decode(t, &rec)
		kinds := map[string]string{}
		for _, e := range rec.ReconcilePayments.Items.Edges {
			kinds[e.Node.Kind] = e.Node.OrderNumber
		}
		want := map[string]string{"EXTRA_IN_CHANNEL": "P2000010100000000000008", "MISSING_IN_CHANNEL": oC.Number, "EXTRA_RECEIPT": "P2000010100000000000009",
			"DUPLICATE_IN_CHANNEL": oB.Number}
		if rec.ReconcilePayments.Status != "ISSUES" || len(kinds) != 4 || fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Fatalf("reconciliation: %+v", rec.ReconcilePayments)
		}
	})
}

func newSM2Key(t *testing.T) *sm2.PrivateKey {
	k, err := gm.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustOrder(t *testing.T, b *backend, number string) *models.PaymentOrder {
	var o models.PaymentOrder
	if err := b.app.DB.Where("number = ?", number).Take(&o).Error; err != nil {
		t.Fatal(err)
	}
	return &o
}

func ledgerSum(t *testing.T, b *backend, number string) int64 {
	var sum int64
	o := mustOrder(t, b, number)
	if err := b.app.DB.Model(&models.PaymentLedger{}).Where("order_id = ?", o.ID).Select("COALESCE(SUM(amount_fen), 0)").Scan(&sum).Error; err != nil {
		t.Fatal(err)
	}
	return sum
}

func (b *backend) orderStatus(t *testing.T, ticket, id string) orderOut {
	t.Helper()
	var out struct {
		MyPaymentOrders struct{ Edges []struct{ Node orderOut } }
	}
	b.gql(t, ticket, `{ myPaymentOrders(first: 100) { edges { node { `+orderFields+` } } } }`, nil).decode(t, &out)
	for _, e := range out.MyPaymentOrders.Edges {
		if e.Node.ID == id {
			return e.Node
		}
	}
	t.Fatalf("order %s not among the user's", id)
	return orderOut{}
}
