package logistics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"govmobile/cases"
	"govmobile/logistics"
	"govmobile/logistics/carrier"
	"govmobile/models"
)

// TestMailMaterialsToDelivery follows a parcel of materials from the
// applicant's request to its delivery, every step a real webhook from the
// sandbox carrier.
func TestMailMaterialsToDelivery(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user, agency := randomID(), randomID()
		c := e.newCase(user, agency, cases.Submitted)
		owner := logistics.Caller{UserID: user}

		sh, err := e.svc.Create(ctx, owner, e.materials(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if sh.Status != "CREATED" || sh.UserID != user || sh.AgencyID != agency || sh.CreatedBy != logistics.ByApplicant || !strings.HasPrefix(sh.WaybillNo, "SB") {
			t.Fatalf("created %+v", sh.Shipment)
		}
		// Display values are masked (9.4.5).
		if sh.Sender != (logistics.Party{Name: "张**", Phone: "1381*****", RegionCode: "110105", Address: "朝阳路100****"}) {
			t.Errorf("sender shown as %+v", sh.Sender)
		}
		if sh.Receiver.Name != "朝阳**" && sh.Receiver.Name != "朝**" || sh.Receiver.Phone != "010-*****" {
			t.Errorf("receiver shown as %+v", sh.Receiver)
		}
		wb, err := e.client.Waybill(ctx, sh.WaybillNo)
		if err != nil || wb.Status != carrier.Created {
			t.Fatalf("the carrier has %+v, %v", wb, err)
		}

		for _, want := range []string{"PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"} {
			if ev := e.advance(sh.WaybillNo, "", "").Event; ev.Status != want {
				t.Fatalf("sandbox moved to %s; want %s", ev.Status, want)
			}
			if got := e.shipment(sh.ID).Status; got != want {
				t.Fatalf("after the %s webhook the shipment is %s", want, got)
			}
		}
		final := e.shipment(sh.ID)
		if final.ActiveKey != nil || final.Stage != "OUT_FOR_DELIVERY" {
			t.Errorf("delivered shipment: active key %v, stage %s", final.ActiveKey, final.Stage)
		}

		hist, err := e.svc.Track(ctx, owner, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range hist {
			got = append(got, ev.Status)
		}
		if want := "DELIVERED OUT_FOR_DELIVERY IN_TRANSIT PICKED_UP CREATED"; strings.Join(got, " ") != want {
			t.Errorf("history %v; want newest first %s", got, want)
		}
		if hist[0].Description != "快件已签收。" || hist[len(hist)-1].Description == "" || !hist[0].Applied {
			t.Errorf("newest event %+v (%q)", hist[0].ShipmentEvent, hist[0].Description)
		}
		if n := e.notifications(); len(n) != 5 || n[0] != sh.WaybillNo+"/CREATED" || n[4] != sh.WaybillNo+"/DELIVERED" {
			t.Errorf("notifications %v", n)
		}

		// Staff of the case's agency follow it too; list is the user's.
		if _, err := e.svc.Track(ctx, logistics.Caller{AgencyID: agency, StaffID: 7}, sh.ID); err != nil {
			t.Errorf("agency staff: %v", err)
		}
		list, total, err := e.svc.List(ctx, owner, 0, 20, 0)
		if err != nil || total != 1 || len(list) != 1 || list[0].ID != sh.ID || list[0].Sender.Phone != "1381*****" {
			t.Errorf("list: %d, %v, %v", total, list, err)
		}

		// Delivered, the case may mail again (a supplement).
		again, err := e.svc.Create(ctx, owner, e.materials(c.ID))
		if err != nil || again.ID == sh.ID || again.WaybillNo == sh.WaybillNo {
			t.Errorf("second mailing after delivery: %+v, %v", again, err)
		}
	})
}

// TestCreateIsIdempotent: one shipment under way per case and direction;
// the same request returns it, another one is CONFLICT until cancelled.
func TestCreateIsIdempotent(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user := randomID()
		c := e.newCase(user, randomID(), cases.NeedsSupplement)
		owner := logistics.Caller{UserID: user}
		first, err := e.svc.Create(ctx, owner, e.materials(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.svc.Create(ctx, owner, e.materials(c.ID))
		if err != nil || again.ID != first.ID {
			t.Fatalf("same request: %v, %v; want shipment %d", again, err, first.ID)
		}
		other := e.materials(c.ID)
		other.Sender.Address = "朝阳路101号另一个小区"
		if _, err := e.svc.Create(ctx, owner, other); code(err) != models.ECodeConflict || !strings.Contains(err.Error(), first.WaybillNo) {
			t.Fatalf("other request: %v; want CONFLICT naming %s", err, first.WaybillNo)
		}
		cancelled, err := e.svc.Cancel(ctx, owner, first.ID)
		if err != nil || cancelled.Status != "CANCELLED" {
			t.Fatalf("cancel: %v, %v", cancelled, err)
		}
		if wb, _ := e.client.Waybill(ctx, first.WaybillNo); wb.Status != carrier.Cancelled {
			t.Errorf("carrier still has %s", wb.Status)
		}
		if _, err := e.svc.Cancel(ctx, owner, first.ID); code(err) != models.ECodeConflict {
			t.Errorf("cancel twice: %v", err)
		}
		// After cancellation even the same request is a new waybill.
		next, err := e.svc.Create(ctx, owner, e.materials(c.ID))
		if err != nil || next.WaybillNo == first.WaybillNo {
			t.Fatalf("after cancel: %+v, %v", next, err)
		}
		e.advance(next.WaybillNo, "", "")
		if _, err := e.svc.Cancel(ctx, owner, next.ID); code(err) != models.ECodeConflict {
			t.Errorf("cancel after pickup: %v", err)
		}
		if n := e.count(&models.Shipment{}, "case_id = ?", c.ID); n != 2 {
			t.Errorf("%d shipments; want 2", n)
		}
	})
}

// TestConcurrentCreate: simultaneous identical requests make one shipment
// and one waybill.
func TestConcurrentCreate(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		user := randomID()
		c := e.newCase(user, randomID(), cases.Submitted)
		var wg sync.WaitGroup
		ids := make([]uint64, 6)
		errs := make([]error, 6)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sh, err := e.svc.Create(context.Background(), logistics.Caller{UserID: user}, e.materials(c.ID))
				if errs[i] = err; err == nil {
					ids[i] = sh.ID
				}
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Errorf("request %d: shipment %d, %v; want %d", i, ids[i], errs[i], ids[0])
			}
		}
		if n := e.count(&models.Shipment{}, "case_id = ?", c.ID); n != 1 {
			t.Errorf("%d shipments", n)
		}
	})
}

// TestResultToUser: staff mail a completed case's result; the applicant
// follows it but cannot cancel it.
func TestResultToUser(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user, agency := randomID(), randomID()
		c := e.newCase(user, agency, cases.Completed)
		staff := logistics.Caller{AgencyID: agency, StaffID: 42}
		sh, err := e.svc.Create(ctx, staff, result(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if sh.UserID != user || sh.CreatedBy != logistics.ByStaff || sh.CreatedByID != 42 || sh.Receiver.Name != "张**" {
			t.Errorf("created %+v, receiver %+v", sh.Shipment, sh.Receiver)
		}
		owner := logistics.Caller{UserID: user}
		if got, err := e.svc.Get(ctx, owner, sh.ID); err != nil || got.ID != sh.ID {
			t.Errorf("the applicant's view: %v", err)
		}
		if _, err := e.svc.Cancel(ctx, owner, sh.ID); code(err) != models.ECodeForbidden {
			t.Errorf("the applicant cancels the agency's mailing: %v", err)
		}
		if list, total, err := e.svc.List(ctx, staff, c.ID, 10, 0); err != nil || total != 1 || list[0].ID != sh.ID {
			t.Errorf("agency list: %d, %v", total, err)
		}
		if _, err := e.svc.Cancel(ctx, staff, sh.ID); err != nil {
			t.Errorf("staff cancel: %v", err)
		}
	})
}

// TestAccess: nobody learns that another's case or shipment exists.
func TestAccess(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user, agency := randomID(), randomID()
		submitted := e.newCase(user, agency, cases.Submitted)
		completed := e.newCase(user, agency, cases.Completed)
		draft := e.newCase(user, agency, cases.Draft)
		processing := e.newCase(user, agency, cases.Processing)
		owner := logistics.Caller{UserID: user}
		stranger := logistics.Caller{UserID: randomID()}
		staff := logistics.Caller{AgencyID: agency, StaffID: 1}
		otherStaff := logistics.Caller{AgencyID: randomID(), StaffID: 2}

		create := []struct {
			name string
			by   logistics.Caller
			in   logistics.Input
			want string
		}{
			{"another user's case", stranger, e.materials(submitted.ID), models.ECodeNotFound},
			{"a case that does not exist", owner, e.materials(1 << 50), models.ECodeNotFound},
			{"another agency's case", otherStaff, result(completed.ID), models.ECodeNotFound},
			{"a draft seen by staff", staff, result(draft.ID), models.ECodeNotFound},
			{"the applicant mails a result", owner, result(completed.ID), models.ECodeForbidden},
			{"staff mail materials", staff, e.materials(submitted.ID), models.ECodeForbidden},
			{"materials for a completed case", owner, e.materials(completed.ID), models.ECodeConflict},
			{"materials while processing", owner, e.materials(processing.ID), models.ECodeConflict},
			{"materials for a draft", owner, e.materials(draft.ID), models.ECodeConflict},
			{"a result before completion", staff, result(submitted.ID), models.ECodeConflict},
			{"no direction", owner, logistics.Input{CaseID: submitted.ID}, models.ECodeBadUserInput},
		}
		for _, c := range create {
			_, err := e.svc.Create(ctx, c.by, c.in)
			if code(err) != c.want {
				t.Errorf("%s: %v; want %s", c.name, err, c.want)
			}
			var me *models.Error
			if errors.As(err, &me) && c.want == models.ECodeNotFound && me.Message != "没有找到这个办件。" {
				t.Errorf("%s: message %q tells more than a missing case", c.name, me.Message)
			}
		}
		if n := e.count(&models.Shipment{}, "user_id = ?", user); n != 0 {
			t.Fatalf("%d shipments written by refused requests", n)
		}

		sh, err := e.svc.Create(ctx, owner, e.materials(submitted.ID))
		if err != nil {
			t.Fatal(err)
		}
		for name, by := range map[string]logistics.Caller{"stranger": stranger, "other agency": otherStaff, "nobody": {}} {
			if _, err := e.svc.Get(ctx, by, sh.ID); code(err) != models.ECodeNotFound {
				t.Errorf("%s gets: %v", name, err)
			}
			if _, err := e.svc.Track(ctx, by, sh.ID); code(err) != models.ECodeNotFound {
				t.Errorf("%s tracks: %v", name, err)
			}
			if _, err := e.svc.Cancel(ctx, by, sh.ID); code(err) != models.ECodeNotFound {
				t.Errorf("%s cancels: %v", name, err)
			}
		}
		if _, err := e.svc.Cancel(ctx, staff, sh.ID); code(err) != models.ECodeForbidden {
			t.Errorf("staff cancel the applicant's mailing: %v", err)
		}
		if list, total, err := e.svc.List(ctx, stranger, 0, 10, 0); err != nil || total != 0 || len(list) != 0 {
			t.Errorf("stranger's list: %d, %v", total, err)
		}
	})
}

// TestValidation: each bad field is named, with a Chinese sentence. The
// sender of materials and the receiver of a result are the caller's; the
// receiver of materials is the hall's.
func TestValidation(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user, agency := randomID(), randomID()
		c := e.newCase(user, agency, cases.Submitted)
		done := e.newCase(user, agency, cases.Completed)
		staff := logistics.Caller{AgencyID: agency, StaffID: 5}
		tests := []struct {
			field  string
			result bool // a result mailed by staff, else materials
			mutate func(in *logistics.Input)
		}{
			{"senderName", false, func(in *logistics.Input) { in.Sender.Name = "  " }},
			{"senderName", false, func(in *logistics.Input) { in.Sender.Name = strings.Repeat("张", 31) }},
			{"senderName", false, func(in *logistics.Input) { in.Sender.Name = "张\x00三" }},
			{"senderPhone", false, func(in *logistics.Input) { in.Sender.Phone = "" }},
			{"senderPhone", false, func(in *logistics.Input) { in.Sender.Phone = "12812345678" }},
			{"senderPhone", false, func(in *logistics.Input) { in.Sender.Phone = "1381234567" }},
			{"senderRegionCode", false, func(in *logistics.Input) { in.Sender.RegionCode = "11010" }},
			{"senderAddress", false, func(in *logistics.Input) { in.Sender.Address = "朝阳路" }},
			{"hallId", false, func(in *logistics.Input) { in.HallID = 0 }},
			{"hallId", false, func(in *logistics.Input) { in.HallID = 1 << 50 }},
			{"receiverPhone", true, func(in *logistics.Input) { in.Receiver.Phone = "6509000" }},
			{"receiverRegionCode", true, func(in *logistics.Input) { in.Receiver.RegionCode = "01010a" }},
			{"receiverRegionCode", true, func(in *logistics.Input) { in.Receiver.RegionCode = "" }},
			{"receiverAddress", true, func(in *logistics.Input) { in.Receiver.Address = strings.Repeat("路", 121) }},
			{"receiverName", true, func(in *logistics.Input) { in.Receiver.Name = "" }},
			{"senderPhone", true, func(in *logistics.Input) { in.Sender.Phone = "6509000" }},
		}
		for _, tc := range tests {
			in, by := e.materials(c.ID), logistics.Caller{UserID: user}
			if tc.result {
				in, by = result(done.ID), staff
			}
			tc.mutate(&in)
			_, err := e.svc.Create(ctx, by, in)
			var me *models.Error
			if !errors.As(err, &me) || me.Code != models.ECodeBadUserInput || me.Field != tc.field || !strings.HasSuffix(me.Message, "。") {
				t.Errorf("%s: %v", tc.field, err)
			} else if strings.Contains(me.Message, "1381234567") || strings.Contains(me.Message, "6509000") {
				t.Errorf("%s: message echoes the value: %s", tc.field, me.Message)
			}
		}
		if n := e.count(&models.Shipment{}, "user_id = ?", user); n != 0 {
			t.Fatalf("%d shipments written by refused requests", n)
		}
		// Accepted spellings: a one-character name, a landline with an
		// extension, surrounding spaces.
		in := e.materials(c.ID)
		in.Sender.Name, in.Sender.Address = "王", "  深南大道1号  "
		if _, err := e.svc.Create(ctx, logistics.Caller{UserID: user}, in); err != nil {
			t.Errorf("valid input refused: %v", err)
		}
		res := result(done.ID)
		res.Sender.Phone, res.Receiver.Name = "0755-1234567-123", "  "+senderName+" "
		if _, err := e.svc.Create(ctx, staff, res); err != nil {
			t.Errorf("valid result refused: %v", err)
		}
	})
}

// TestCarrierDown: a carrier that fails leaves nothing behind.
func TestCarrierDown(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		user := randomID()
		c := e.newCase(user, randomID(), cases.Submitted)
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}))
		defer failing.Close()
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
		}))
		defer slow.Close()
		for name, client := range map[string]*carrier.Client{
			"refused":  carrier.NewClient(dead.URL, secret, nil),
			"502":      carrier.NewClient(failing.URL, secret, nil),
			"too slow": carrier.NewClient(slow.URL, secret, &http.Client{Timeout: 50 * time.Millisecond}),
		} {
			_, err := e.service(client).Create(context.Background(), logistics.Caller{UserID: user}, e.materials(c.ID))
			var me *models.Error
			if !errors.As(err, &me) || me.Code != models.ECodeUnavailable || !strings.Contains(me.Message, "快递") {
				t.Errorf("%s: %v; want UNAVAILABLE", name, err)
			}
		}
		if n := e.count(&models.Shipment{}, "case_id = ?", c.ID); n != 0 {
			t.Errorf("%d shipments written", n)
		}
		if n := len(e.notifications()); n != 0 {
			t.Errorf("%d notifications", n)
		}
		// The carrier back, the same request succeeds.
		if _, err := e.svc.Create(context.Background(), logistics.Caller{UserID: user}, e.materials(c.ID)); err != nil {
			t.Errorf("after recovery: %v", err)
		}
	})
}

// TestWebhookRejections: forged, stale, oversized, malformed and unknown
// webhooks change nothing and are recorded for operators.
func TestWebhookRejections(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		user := randomID()
		c := e.newCase(user, randomID(), cases.Submitted)
		sh, err := e.svc.Create(context.Background(), logistics.Caller{UserID: user}, e.materials(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		pick := event("EVX1", sh.WaybillNo, "PICKED_UP", now)
		big := bytes.Repeat([]byte("x"), logistics.MaxWebhookBody+100)
		cases := []struct {
			name   string
			body   []byte
			ts     time.Time
			key    []byte
			status int
			reason string
		}{
			{"forged signature", pick, now, []byte("forger-secret-0123456"), 401, logistics.RejectBadSignature},
			{"no signature", pick, now, nil, 401, logistics.RejectBadSignature},
			{"stale timestamp", pick, now.Add(-301 * time.Second), secret, 401, logistics.RejectStaleTimestamp},
			{"future timestamp", pick, now.Add(301 * time.Second), secret, 401, logistics.RejectStaleTimestamp},
			{"too large", big, now, secret, 413, logistics.RejectTooLarge},
			{"not JSON", []byte("eventId=1"), now, secret, 400, logistics.RejectMalformed},
			{"unknown status", event("EVX2", sh.WaybillNo, "LOST", now), now, secret, 400, logistics.RejectMalformed},
			{"no event ID", event("", sh.WaybillNo, "PICKED_UP", now), now, secret, 400, logistics.RejectMalformed},
			{"unknown waybill", event("EVX3", "SB999999999999", "PICKED_UP", now.Add(-11*time.Minute)), now, secret, 404, logistics.RejectUnknownWaybill},
			{"unknown waybill, recent event", event("EVX4", "SB999999999998", "PICKED_UP", now.Add(-9*time.Minute)), now, secret, 503, logistics.RejectUnknownWaybill},
		}
		for _, c := range cases {
			if status, _ := e.post(c.body, c.ts, c.key); status != c.status {
				t.Errorf("%s: HTTP %d; want %d", c.name, status, c.status)
			}
		}
		if got := e.shipment(sh.ID); got.Status != "CREATED" {
			t.Fatalf("a rejected webhook moved the shipment to %s", got.Status)
		}
		if n := e.count(&models.ShipmentEvent{}, "shipment_id = ?", sh.ID); n != 1 {
			t.Errorf("%d events; want the creation only", n)
		}
		recs := e.rejections()
		if len(recs) != len(cases) {
			t.Fatalf("%d rejections recorded; want %d", len(recs), len(cases))
		}
		for i, r := range recs {
			if r.Reason != cases[i].reason {
				t.Errorf("%s: recorded %s; want %s", cases[i].name, r.Reason, cases[i].reason)
			}
			if r.BodySize > logistics.MaxWebhookBody+1 || len(r.BodySM3) != 64 || r.RemoteAddr == "" {
				t.Errorf("%s: record %+v", cases[i].name, r)
			}
			excerpt, err := e.svc.OpenRejectionExcerpt(&r)
			if err != nil || len(excerpt) > 1024 || !bytes.HasPrefix(cases[i].body, []byte(excerpt)) {
				t.Errorf("%s: excerpt %d bytes, %v", cases[i].name, len(excerpt), err)
			}
			if strings.Contains(r.ExcerptEnc, "PICKED_UP") {
				t.Errorf("%s: excerpt stored in clear", cases[i].name)
			}
		}
		// IDs are kept only from authenticated bodies.
		if recs[0].WaybillNo != "" || recs[8].WaybillNo != "SB999999999999" || recs[8].EventID != "EVX3" {
			t.Errorf("forged: %q; unknown waybill: %q %q", recs[0].WaybillNo, recs[8].WaybillNo, recs[8].EventID)
		}
		// Near the edge of the window is within it: 295 s of skew, taken
		// from the clock now (the test's start may be seconds ago on a busy
		// machine, and the timestamp is in whole seconds).
		if status, out := e.post(pick, time.Now().Add(-carrier.MaxSkew+5*time.Second), secret); status != 200 || out["result"] != "APPLIED" {
			t.Errorf("295 s old: %d %v", status, out)
		}
		if res, _ := http.Get(e.hookSrv.URL + logistics.WebhookPath); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d", res.StatusCode)
		}
		list, total, err := e.svc.Rejections(context.Background(), 100, 0)
		if err != nil || total != int64(len(cases)) || len(list) != len(cases) || list[0].ID != recs[len(recs)-1].ID {
			t.Errorf("rejections: %d, %v", total, err)
		}
		if n, err := e.svc.PruneRejections(context.Background(), time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Errorf("prune of older rows: %d, %v", n, err)
		}
		if n, err := e.svc.PruneRejections(context.Background(), time.Now().Add(time.Hour)); err != nil || n != int64(len(cases)) {
			t.Errorf("prune: %d, %v", n, err)
		}
	})
}

// TestReplayedEvent: an event is applied once however often it arrives,
// even all at once.
func TestReplayedEvent(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		user := randomID()
		c := e.newCase(user, randomID(), cases.Submitted)
		sh, _ := e.svc.Create(context.Background(), logistics.Caller{UserID: user}, e.materials(c.ID))
		first := e.advance(sh.WaybillNo, "", "").Event
		before := len(e.notifications())

		// The carrier resends the event (its own retry), signed afresh.
		var out struct{ Delivery struct{ Status int } }
		if err := e.client.Call(context.Background(), http.MethodPost, "/v1/waybills/"+sh.WaybillNo+"/events/"+first.EventID+"/redeliver", nil, &out); err != nil || out.Delivery.Status != 200 {
			t.Fatalf("redeliver: %+v, %v", out, err)
		}
		body := event(first.EventID, sh.WaybillNo, first.Status, first.OccurredAt)
		if status, res := e.post(body, time.Now(), secret); status != 200 || res["result"] != "DUPLICATE" {
			t.Errorf("replay: %d %v", status, res)
		}
		if n := e.count(&models.ShipmentEvent{}, "shipment_id = ?", sh.ID); n != 2 {
			t.Errorf("%d events; want creation and pickup", n)
		}
		if n := len(e.notifications()); n != before {
			t.Errorf("replays notified %d times", n-before)
		}

		// A new event sent eight times at once is applied once.
		transit := event("EV-CONCURRENT", sh.WaybillNo, "IN_TRANSIT", time.Now())
		results := make(chan string, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, res := e.post(transit, time.Now(), secret)
				results <- fmt.Sprintf("%d %s", status, res["result"])
			}()
		}
		wg.Wait()
		close(results)
		count := map[string]int{}
		for r := range results {
			count[r]++
		}
		if count["200 APPLIED"] != 1 || count["200 DUPLICATE"] != 7 {
			t.Errorf("concurrent deliveries: %v", count)
		}
		if e.shipment(sh.ID).Status != "IN_TRANSIT" || len(e.notifications()) != before+1 {
			t.Errorf("status %s, %d notifications", e.shipment(sh.ID).Status, len(e.notifications())-before)
		}
	})
}

// TestOutOfOrderEvents: late events enter the history in their place and
// never move the status backwards; an exception is resumed from.
func TestOutOfOrderEvents(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user := randomID()
		c := e.newCase(user, randomID(), cases.Accepted)
		owner := logistics.Caller{UserID: user}
		sh, _ := e.svc.Create(ctx, owner, e.materials(c.ID))
		e.advance(sh.WaybillNo, "", "") // picked up
		e.advance(sh.WaybillNo, "", "") // in transit
		e.advance(sh.WaybillNo, "", "") // out for delivery

		late := time.Now().Add(-time.Hour)
		if status, res := e.post(event("EV-LATE-TRANSIT", sh.WaybillNo, "IN_TRANSIT", late), time.Now(), secret); status != 200 || res["result"] != "RECORDED" {
			t.Errorf("late IN_TRANSIT: %d %v", status, res)
		}
		if got := e.shipment(sh.ID).Status; got != "OUT_FOR_DELIVERY" {
			t.Fatalf("a late event moved the status back to %s", got)
		}
		if status, res := e.post(event("EV-LATE-EXC", sh.WaybillNo, "EXCEPTION", late), time.Now(), secret); status != 200 || res["result"] != "RECORDED" {
			t.Errorf("late EXCEPTION: %d %v", status, res)
		}

		e.advance(sh.WaybillNo, "EXCEPTION", "收件人电话 13912345678 无人接听")
		if got := e.shipment(sh.ID); got.Status != "EXCEPTION" || got.Stage != "OUT_FOR_DELIVERY" {
			t.Fatalf("exception: %s at stage %s", got.Status, got.Stage)
		}
		// An event older than the exception does not resume it.
		if _, res := e.post(event("EV-OLD-OFD", sh.WaybillNo, "OUT_FOR_DELIVERY", late), time.Now(), secret); res["result"] != "RECORDED" {
			t.Errorf("old OUT_FOR_DELIVERY during the exception: %v", res)
		}
		time.Sleep(2 * time.Millisecond)
		e.advance(sh.WaybillNo, "", "") // the sandbox resumes: delivered
		if got := e.shipment(sh.ID).Status; got != "DELIVERED" {
			t.Fatalf("after resuming: %s", got)
		}
		if _, res := e.post(event("EV-AFTER", sh.WaybillNo, "EXCEPTION", time.Now().Add(time.Minute)), time.Now(), secret); res["result"] != "RECORDED" {
			t.Errorf("an exception after delivery: %v", res)
		}

		hist, err := e.svc.Track(ctx, owner, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		var applied, recorded int
		for i, ev := range hist {
			if i > 0 && ev.OccurredAt.After(hist[i-1].OccurredAt) {
				t.Errorf("history not newest first at %d", i)
			}
			if ev.Applied {
				applied++
			} else {
				recorded++
			}
		}
		if applied != 6 || recorded != 4 {
			t.Errorf("history: %d applied, %d recorded; want 6 and 4", applied, recorded)
		}
		// The late IN_TRANSIT sits among the events by when it happened,
		// not by when it arrived.
		pos := map[string]int{}
		for i, ev := range hist {
			pos[ev.CarrierEventID] = i
		}
		if p, ok := pos["EV-LATE-TRANSIT"]; !ok || p <= pos["created:"+e.name+":"+sh.WaybillNo] {
			t.Errorf("the late event is at %d, the creation at %d", p, pos["created:"+e.name+":"+sh.WaybillNo])
		}
	})
}

// TestList pages the user's shipments newest first.
func TestList(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user := randomID()
		owner := logistics.Caller{UserID: user}
		var ids []uint64
		for range 3 {
			c := e.newCase(user, randomID(), cases.Submitted)
			sh, err := e.svc.Create(ctx, owner, e.materials(c.ID))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, sh.ID)
		}
		page, total, err := e.svc.List(ctx, owner, 0, 2, 0)
		if err != nil || total != 3 || len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[1] {
			t.Fatalf("first page: %d, %v", total, err)
		}
		rest, _, err := e.svc.List(ctx, owner, 0, 2, page[1].ID)
		if err != nil || len(rest) != 1 || rest[0].ID != ids[0] {
			t.Errorf("second page: %v", err)
		}
		if _, _, err := e.svc.List(ctx, logistics.Caller{}, 0, 2, 0); code(err) != models.ECodeUnauthenticated {
			t.Errorf("no caller: %v", err)
		}
	})
}

// TestNoPersonalDataInClear reads the SQLite files byte by byte: no name,
// phone or address of a party, nor a phone a carrier wrote into an event.
func TestNoPersonalDataInClear(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		if e.dir == "" {
			t.Skip("scans the SQLite file")
		}
		ctx := context.Background()
		user, agency := randomID(), randomID()
		c := e.newCase(user, agency, cases.Submitted)
		sh, err := e.svc.Create(ctx, logistics.Caller{UserID: user}, e.materials(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		e.advance(sh.WaybillNo, "", "快递员李四 13700001111 已揽收")
		done := e.newCase(user, agency, cases.Completed)
		if _, err := e.svc.Create(ctx, logistics.Caller{AgencyID: agency, StaffID: 3}, result(done.ID)); err != nil {
			t.Fatal(err)
		}
		forged := event("EV-F", sh.WaybillNo, "DELIVERED", time.Now())
		forged = bytes.Replace(forged, []byte("测试轨迹"), []byte("签收人 "+senderPhone), 1)
		e.post(forged, time.Now(), []byte("forger-secret-0123456"))
		if len(e.rejections()) != 1 {
			t.Fatal("the forged webhook was not recorded")
		}

		sqlDB, _ := e.db.DB()
		sqlDB.Close() // flush
		files, _ := filepath.Glob(filepath.Join(e.dir, "l.db*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if !bytes.Contains(all, []byte(sh.WaybillNo)) {
			t.Fatal("the scan does not see the data at all")
		}
		for _, secret := range []string{senderPhone, "13700001111", senderName, senderAddress, "李四"} {
			if bytes.Contains(all, []byte(secret)) {
				t.Errorf("%q is in the database file in clear", secret)
			}
		}
	})
}

// TestNewRefusesBadConfig: the service is never built without what it
// needs to verify webhooks.
func TestNewRefusesBadConfig(t *testing.T) {
	c := carrier.NewClient("http://127.0.0.1:1", secret, nil)
	for name, cfg := range map[string]logistics.Config{
		"no carrier":    {WebhookSecret: secret},
		"short secret":  {Carrier: c, WebhookSecret: []byte("short")},
		"reserved name": {Carrier: c, WebhookSecret: secret, CarrierName: "platform"},
		"name too long": {Carrier: c, WebhookSecret: secret, CarrierName: strings.Repeat("x", 33)},
	} {
		if _, err := logistics.New(nil, nil, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
