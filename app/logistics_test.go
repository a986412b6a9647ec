package app_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"govmobile/logistics"
	"govmobile/models"
	"govmobile/permission"
)

type shipmentOut struct {
	ID, Direction, Status, WaybillNo string
	Sender, Receiver                 struct{ Name, Phone, Address string }
	Hall                             *struct{ ID string }
	Tracking                         []struct{ Status, Description string }
}

const shipmentFields = `id direction status waybillNo sender { name phone address } receiver { name phone address } hall { id } tracking { status description }`

// TestLogistics (8.3.2 e): an applicant mails materials for their own case
// and staff mail a result, through the sandbox carrier over real HTTP; the
// carrier's signed webhooks move the parcel to delivered and the applicant
// gets messages; parties are masked; retries are idempotent; nobody else
// sees a parcel; forged webhooks are refused and recorded.
func TestLogistics(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		// A matter handled at halls: materials go to one of them.
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Where("id IN (?)", b.app.DB.Model(&models.MatterHall{}).Select("matter_id")).
			Order("id").Offset(3).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		var hallID, otherHall uint64
		var ids []uint64
		b.app.DB.Model(&models.MatterHall{}).Where("matter_id = ?", m.ID).Order("hall_id").Pluck("hall_id", &ids)
		hallID = ids[0]
		b.app.DB.Model(&models.Hall{}).Where("id NOT IN (?)", b.app.DB.Model(&models.MatterHall{}).Select("hall_id").Where("matter_id = ?", m.ID)).
			Order("id").Limit(1).Pluck("id", &ids)
		otherHall = ids[0]
		staff := b.scopedAdmin(t, "", m.AgencyID, permission.HandleCases)
		otherStaff := b.scopedAdmin(t, "", m.AgencyID+1, permission.HandleCases)
		ops := b.scopedAdmin(t, "", 0, permission.ManageIncidents)
		applicant := person(t)
		user := b.register(t, applicant).Ticket
		stranger := b.register(t, person(t)).Ticket
		newCase := func() string {
			var out struct {
				SubmitApplication struct{ Case struct{ ID string } }
			}
			b.gql(t, user, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
				map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &out)
			return out.SubmitApplication.Case.ID
		}
		caseA := newCase()
		me := map[string]any{"name": applicant["realName"], "phone": "13912345678", "regionCode": "110105", "address": "朝阳区建国路88号院3号楼2单元501"}
		hall := map[string]any{"name": "政务服务中心", "phone": "01065001234", "regionCode": "110105", "address": "朝阳区市民服务中心一层综合窗口"}
		mail := `mutation($in: MailMaterialsInput!) { mailMaterials(input: $in) { ` + shipmentFields + ` } }`
		to := func(caseID string, snd map[string]any, hid uint64) map[string]any {
			return map[string]any{"in": map[string]any{"caseId": caseID, "sender": snd, "hallId": gid("Hall", hid)}}
		}
		in := func(caseID string, snd, rcv map[string]any) map[string]any {
			return map[string]any{"in": map[string]any{"caseId": caseID, "sender": snd, "receiver": rcv}}
		}
		with := func(p map[string]any, k, v string) map[string]any {
			c := map[string]any{}
			for kk, vv := range p {
				c[kk] = vv
			}
			c[k] = v
			return c
		}
		expectCode(t, b.gql(t, user, mail, to(caseA, with(me, "regionCode", "999999"), hallID)), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, user, mail, to(caseA, with(me, "phone", "12345"), hallID)), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, user, mail, to(caseA, with(me, "address", "短"), hallID)), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, user, mail, to(caseA, me, otherHall)), models.ECodeBadUserInput) // a hall that does not handle the matter
		expectCode(t, b.gql(t, stranger, mail, to(caseA, me, hallID)), models.ECodeNotFound)
		expectCode(t, b.gql(t, "", mail, to(caseA, me, hallID)), models.ECodeUnauthenticated)

		var sent, again struct{ MailMaterials shipmentOut }
		b.gql(t, user, mail, to(caseA, me, hallID)).decode(t, &sent)
		sh := sent.MailMaterials
		if sh.Status != "CREATED" || sh.Direction != "MATERIALS_TO_HALL" || sh.Sender.Name != "张**" ||
			strings.Contains(sh.Sender.Phone, "12345678") || strings.Contains(sh.Sender.Address, "501") || sh.WaybillNo == "" {
			t.Fatalf("shipment: %+v", sh)
		}
		if sh.Hall == nil || sh.Hall.ID != gid("Hall", hallID) {
			t.Fatalf("the receiving hall: %+v", sh.Hall)
		}
		b.gql(t, user, mail, to(caseA, me, hallID)).decode(t, &again)
		if again.MailMaterials.ID != sh.ID {
			t.Fatalf("a retry made another shipment: %s, %s", sh.ID, again.MailMaterials.ID)
		}
		expectCode(t, b.gql(t, user, mail, to(caseA, with(me, "name", "李四"), hallID)), models.ECodeConflict)

		// The carrier moves the parcel; each step arrives by signed webhook.
		for range 4 {
			res, err := b.carrier.Advance(context.Background(), sh.WaybillNo)
			if err != nil {
				t.Fatalf("advance: %v (%+v)", err, res)
			}
		}
		get := `query($id: ID!) { shipment(id: $id) { ` + shipmentFields + ` } }`
		var got struct{ Shipment shipmentOut }
		b.gql(t, user, get, map[string]any{"id": sh.ID}).decode(t, &got)
		if got.Shipment.Status != "DELIVERED" || len(got.Shipment.Tracking) != 5 || got.Shipment.Tracking[0].Status != "DELIVERED" {
			t.Fatalf("after delivery: %+v", got.Shipment)
		}
		expectCode(t, b.gql(t, stranger, get, map[string]any{"id": sh.ID}), models.ECodeNotFound)
		expectCode(t, b.gql(t, otherStaff, get, map[string]any{"id": sh.ID}), models.ECodeNotFound)
		b.gql(t, staff, get, map[string]any{"id": sh.ID}).decode(t, &got)
		var msgs int64
		if err := b.app.DB.Model(&models.Message{}).Where("title LIKE ?", "寄递进度%").Where("target_id = ?", mustKey(t, caseA)).Count(&msgs).Error; err != nil || msgs != 5 {
			t.Fatalf("messages to the applicant: %d %v", msgs, err)
		}

		// A result by post: only once the case has one, only by its agency.
		mailResult := `mutation($in: MailInput!) { mailResult(input: $in) { ` + shipmentFields + ` } }`
		caseB := newCase()
		expectCode(t, b.gql(t, staff, mailResult, in(caseB, hall, me)), models.ECodeConflict)
		b.gql(t, staff, `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`,
			map[string]any{"in": map[string]any{"caseId": caseB, "action": "REJECT", "note": "材料不齐全，原件退回"}}).decode(t, &struct{}{})
		expectCode(t, b.gql(t, otherStaff, mailResult, in(caseB, hall, me)), models.ECodeNotFound)
		expectCode(t, b.gql(t, staff, mailResult, in(caseB, hall, with(me, "name", "王五"))), models.ECodeBadUserInput) // not the applicant
		expectCode(t, b.gql(t, user, mailResult, in(caseB, hall, me)), models.ECodeUnauthenticated)
		var result struct{ MailResult shipmentOut }
		b.gql(t, staff, mailResult, in(caseB, hall, me)).decode(t, &result)
		if result.MailResult.Direction != "RESULT_TO_USER" || result.MailResult.Receiver.Name != "张**" {
			t.Fatalf("result shipment: %+v", result.MailResult)
		}
		var mine struct {
			MyShipments struct {
				TotalCount int
				Edges      []struct{ Node shipmentOut }
			}
		}
		b.gql(t, user, `{ myShipments { totalCount edges { node { id direction } } } }`, nil).decode(t, &mine)
		if mine.MyShipments.TotalCount != 2 {
			t.Fatalf("my shipments: %+v", mine)
		}
		b.gql(t, stranger, `{ myShipments { totalCount edges { node { id } } } }`, nil).decode(t, &mine)
		if mine.MyShipments.TotalCount != 0 {
			t.Fatalf("a stranger's shipments: %+v", mine)
		}
		// The sender cancels before pickup; the applicant, who sees the
		// parcel, cannot; another agency does not see it.
		cancel := `mutation($id: ID!) { cancelShipment(id: $id) { status } }`
		expectCode(t, b.gql(t, user, cancel, map[string]any{"id": result.MailResult.ID}), models.ECodeForbidden)
		expectCode(t, b.gql(t, otherStaff, cancel, map[string]any{"id": result.MailResult.ID}), models.ECodeNotFound)
		var cancelled struct{ CancelShipment struct{ Status string } }
		b.gql(t, staff, cancel, map[string]any{"id": result.MailResult.ID}).decode(t, &cancelled)
		if cancelled.CancelShipment.Status != "CANCELLED" {
			t.Fatalf("cancel: %+v", cancelled)
		}

		// A forged webhook is refused and recorded for operators.
		body := []byte(`{"eventId":"E-forged","waybillNo":"` + sh.WaybillNo + `","status":"RETURNED","description":"x","location":"x","occurredAt":"2026-11-27T00:00:00Z"}`)
		req, _ := http.NewRequest(http.MethodPost, b.srv.URL+logistics.WebhookPath, bytes.NewReader(body))
		req.Header.Set("X-Carrier-Timestamp", "1")
		req.Header.Set("X-Carrier-Signature", strings.Repeat("0", 64))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Fatalf("forged webhook answered %d", res.StatusCode)
		}
		b.gql(t, user, get, map[string]any{"id": sh.ID}).decode(t, &got)
		if got.Shipment.Status != "DELIVERED" {
			t.Fatalf("a forged webhook moved the parcel: %+v", got.Shipment)
		}
		var rej struct {
			CarrierWebhookRejections struct {
				Edges []struct{ Node struct{ Reason string } }
			}
		}
		expectCode(t, b.gql(t, staff, `{ carrierWebhookRejections { totalCount } }`, nil), models.ECodeForbidden)
		b.gql(t, ops, `{ carrierWebhookRejections { edges { node { reason } } } }`, nil).decode(t, &rej)
		if len(rej.CarrierWebhookRejections.Edges) == 0 {
			t.Fatalf("the forged webhook was not recorded")
		}
	})
}
