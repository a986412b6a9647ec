package logistics_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"govmobile/cases"
	"govmobile/logistics"
	"govmobile/logistics/carrier"
	"govmobile/models"
)

func TestMaskDigits(t *testing.T) {
	for in, want := range map[string]string{
		"快递员李雷（13711112222）已揽收":         "快递员李雷（137******22）已揽收",
		"寄件人张三丰 13912345678":            "寄件人张三丰 139******78",
		"收件人电话 139 1234 5678 无人接听":      "收件人电话 139******78 无人接听",
		"收件人电话 139-1234-5678":           "收件人电话 139******78",
		"身份证 11010519900307123X":        "身份证 110************23X",
		"座机 010-65090000":               "座机 010-650***00",
		"电话１３９１２３４５６７８":                 "电话１３９******７８",
		"2026-01-05 10:30 到达 110105 网点": "2026-01-05 10:30 到达 110105 网点",
		"取件码 123456":                    "取件码 123456",
		"":                              "",
	} {
		if got := logistics.MaskDigits(in); got != want {
			t.Errorf("MaskDigits(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestMaskLocation(t *testing.T) {
	for in, want := range map[string]string{
		"北京朝阳营业部":             "北京朝阳营业部",
		"华北分拨中心":              "华北分拨中心",
		"行政区划 110105 营业网点":    "行政区划 110105 营业网点",
		"丰台转运站":               "丰台转运站",
		"朝阳路100号幸福小区3单元502":   logistics.MaskAddress("朝阳路100号幸福小区3单元502"),
		"站前街3号":               logistics.MaskAddress("站前街3号"),
		"北京":                  logistics.MaskAddress("北京"),
		"朝阳营业部 电话13711112222": "朝阳营业部 电话137******22",
		"13711112222 朝阳路8号":   "137***" + "****",
		"":                    "",
	} {
		if got := logistics.MaskLocation(in); got != want {
			t.Errorf("MaskLocation(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestTrackMasks: Track shows carriers' text masked, and keeps it as
// received.
func TestTrackMasks(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user, agency := randomID(), randomID()
		c := e.newCase(user, agency, cases.Submitted)
		owner := logistics.Caller{UserID: user}
		sh, err := e.svc.Create(ctx, owner, e.materials(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		const (
			pickup   = "快递员李雷（13711112222）已揽收，寄件人张三丰 13912345678"
			delivery = "已签收，签收人身份证 11010519900307123X"
			street   = "朝阳路100号幸福小区3单元502"
		)
		at := time.Now().Add(-time.Minute)
		for _, ev := range []carrier.Event{
			{EventID: "EV-M1", WaybillNo: sh.WaybillNo, Status: "PICKED_UP", Description: pickup, Location: "北京朝阳营业部", OccurredAt: at},
			{EventID: "EV-M2", WaybillNo: sh.WaybillNo, Status: "DELIVERED", Description: delivery, Location: street, OccurredAt: at.Add(time.Second)},
		} {
			body, _ := json.Marshal(ev)
			if status, res := e.post(body, time.Now(), secret); status != 200 || res["result"] != "APPLIED" {
				t.Fatalf("%s: %d %v", ev.EventID, status, res)
			}
		}
		for _, by := range []logistics.Caller{owner, {AgencyID: agency, StaffID: 4}} {
			hist, err := e.svc.Track(ctx, by, sh.ID)
			if err != nil || len(hist) != 3 {
				t.Fatalf("track: %d events, %v", len(hist), err)
			}
			byID := map[string]*logistics.Event{}
			for _, ev := range hist {
				byID[ev.CarrierEventID] = ev
			}
			if ev := byID["EV-M2"]; ev == nil || ev.Description != "已签收，签收人身份证 110************23X" || ev.Location != logistics.MaskAddress(street) {
				t.Errorf("delivery shown as %+v", ev)
			}
			if ev := byID["EV-M1"]; ev == nil || ev.Description != "快递员李雷（137******22）已揽收，寄件人张三丰 139******78" || ev.Location != "北京朝阳营业部" {
				t.Errorf("pickup shown as %+v", ev)
			}
			for _, ev := range hist {
				if strings.Contains(ev.ShipmentEvent.Location, "100号") {
					t.Errorf("the embedded row shows %q", ev.ShipmentEvent.Location)
				}
			}
		}
		// Stored as received: the location as is, the description sealed
		// and whole.
		var rows []models.ShipmentEvent
		if err := e.db.Where("shipment_id = ? AND carrier = ?", sh.ID, e.name).Order("occurred_at").Find(&rows).Error; err != nil || len(rows) != 2 {
			t.Fatalf("rows: %d, %v", len(rows), err)
		}
		if rows[1].Location != street || rows[0].Location != "北京朝阳营业部" {
			t.Errorf("stored locations %q, %q", rows[0].Location, rows[1].Location)
		}
		for i, want := range []string{pickup, delivery} {
			got, err := e.keys.OpenString(rows[i].DescriptionEnc, "shipment_event:"+e.name+":"+rows[i].CarrierEventID+":description")
			if err != nil || got != want {
				t.Errorf("stored description %q, %v; want %q", got, err, want)
			}
		}
	})
}

// earlyCarrier reports an event of each waybill it opens before it
// answers: the event reaches the platform before Create has committed.
type earlyCarrier struct {
	carrier.Carrier
	e       *env
	status  int
	retry   string
	waybill string
}

func (c *earlyCarrier) CreateWaybill(ctx context.Context, req carrier.WaybillRequest) (string, error) {
	no, err := c.Carrier.CreateWaybill(ctx, req)
	if err != nil {
		return "", err
	}
	c.waybill = no
	c.status, c.retry = c.e.postHeader(event("EV-EARLY", no, "PICKED_UP", time.Now()), time.Now())
	return no, nil
}

// postHeader posts a signed webhook and returns its status and
// Retry-After.
func (e *env) postHeader(body []byte, ts time.Time) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.hookSrv.URL+logistics.WebhookPath, strings.NewReader(string(body)))
	carrier.SignWebhook(req.Header, secret, body, ts)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Retry-After")
}

// TestEarlyWebhook: an event of a waybill not yet recorded is answered 503
// with a Retry-After while it is recent, so the carrier resends it; an old
// one is 404. Both are recorded.
func TestEarlyWebhook(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user := randomID()
		c := e.newCase(user, randomID(), cases.Submitted)
		early := &earlyCarrier{Carrier: e.client, e: e}
		sh, err := e.service(early).Create(ctx, logistics.Caller{UserID: user}, e.materials(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if early.status != http.StatusServiceUnavailable || early.retry != "30" {
			t.Errorf("event before the shipment: %d, Retry-After %q; want 503, 30", early.status, early.retry)
		}
		// The carrier resends: now it applies, and again it is a duplicate.
		body := event("EV-EARLY", sh.WaybillNo, "PICKED_UP", time.Now())
		if status, res := e.post(body, time.Now(), secret); status != 200 || res["result"] != "APPLIED" {
			t.Errorf("resent: %d %v", status, res)
		}
		if status, res := e.post(body, time.Now(), secret); status != 200 || res["result"] != "DUPLICATE" {
			t.Errorf("replayed: %d %v", status, res)
		}

		now := time.Now()
		for _, tc := range []struct {
			name   string
			at     time.Time
			status int
		}{
			{"9 minutes old", now.Add(-9 * time.Minute), 503},
			{"11 minutes old", now.Add(-11 * time.Minute), 404},
			{"slightly ahead", now.Add(time.Minute), 503},
			{"far ahead", now.Add(time.Hour), 404},
		} {
			status, retry := e.postHeader(event("EV-U-"+strings.ReplaceAll(tc.name, " ", "-"), "SB000000000001", "IN_TRANSIT", tc.at), now)
			if status != tc.status || (status == 503) != (retry != "") {
				t.Errorf("%s: %d, Retry-After %q; want %d", tc.name, status, retry, tc.status)
			}
		}
		recs := e.rejections()
		if len(recs) != 5 {
			t.Fatalf("%d rejections; want 5", len(recs))
		}
		for _, r := range recs {
			if r.Reason != logistics.RejectUnknownWaybill || r.EventID == "" {
				t.Errorf("rejection %+v", r)
			}
		}
		if recs[0].WaybillNo != sh.WaybillNo || !strings.Contains(recs[0].Detail, "resend") || strings.Contains(recs[2].Detail, "resend") {
			t.Errorf("details %q, %q", recs[0].Detail, recs[2].Detail)
		}
		// The duplicate added nothing.
		if n := e.count(&models.ShipmentEvent{}, "shipment_id = ?", sh.ID); n != 2 {
			t.Errorf("%d events; want creation and pickup", n)
		}
	})
}

// TestPruneRejectionsInBatches: more rejections than one batch all go, and
// only the carrier's older ones.
func TestPruneRejectionsInBatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		old := time.Now().UTC().Add(-48 * time.Hour)
		rows := make([]models.CarrierWebhookRejection, 1203)
		for i := range rows {
			rows[i] = models.CarrierWebhookRejection{Carrier: e.name, Reason: logistics.RejectBadSignature, Detail: "test",
				BodySM3: strings.Repeat("0", 64), At: old}
		}
		rows[0].At = time.Now().UTC() // recent: kept
		if err := e.db.CreateInBatches(rows, 200).Error; err != nil {
			t.Fatal(err)
		}
		n, err := e.svc.PruneRejections(context.Background(), time.Now().Add(-24*time.Hour))
		if err != nil || n != 1202 {
			t.Errorf("pruned %d, %v; want 1202", n, err)
		}
		if left := len(e.rejections()); left != 1 {
			t.Errorf("%d left; want the recent one", left)
		}
	})
}
