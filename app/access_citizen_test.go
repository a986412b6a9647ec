package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"govmobile/appointment"
	"govmobile/cases"
	"govmobile/license"
	"govmobile/models"
	"govmobile/payment"
	"govmobile/permission"
)

// citizenAccessEntries classifies the fields and Node types of the
// citizen-facing areas (see accessmatrix_test.go).
//
// A field whose only IDs name catalogue objects (a matter, a hall, a slot,
// an online app, a sealing record) while the caller acts on their own
// account is public: nobody else's object is named. A field that also
// names something a citizen owns (a case, a draft, an appointment, a
// shipment, an order) is owner-scoped, and its probe names the first
// user's own object. Every probe makes a fresh citizen and fresh objects,
// so a probe's success leaves no state another probe depends on.
func citizenAccessEntries() (fields, nodes map[string]accessEntry) {
	const catalogueOnly = "names catalogue objects only; acts on the caller's own account"
	fields = map[string]accessEntry{
		// node(id) is a lookup; each Node type's protection is checked by the node rows.
		"Query.node": {class: accessPublic, why: "node's per-type protection is checked by the node rows"},
		// A catalogue matter and hall; their slots are published to anyone.
		"Query.appointmentSlots": {class: accessPublic, why: "lists a catalogue matter's published slots at a catalogue hall"},
		// A catalogue matter or agency; the open items it lists are the caller's own.
		"Query.consultationSuggestions": {class: accessPublic, why: catalogueOnly},
		// The service map filters public halls by a catalogue matter.
		"Query.serviceHalls": {class: accessPublic, why: "the service map filters public halls by a catalogue matter"},
		// The catalogue, filtered by catalogue IDs (agency, theme, ...).
		"Query.matters": {class: accessPublic, why: "the public catalogue, filtered by catalogue IDs"},
		// One matter of the public catalogue.
		"Query.matter": {class: accessPublic, why: "a matter of the public catalogue"},
		// A matter's fee items are published with its guide.
		"Query.matterFeeItems": {class: accessPublic, why: "a matter's fee items are published with its guide"},
		// A verification: anyone holding a sealed document may check it (8.3.2 b).
		"Query.verifySeal": {class: accessPublic, why: "a verification: anyone holding a sealed document may check its sealing record"},
		// An online app asking for the caller's own consent.
		"Query.appAuthorizationRequest": {class: accessPublic, why: catalogueOnly},
		// caseId narrows the caller's shipments to one of their own cases.
		"Query.myShipments": {class: accessOwner, probe: probeMyShipments},
		// A parcel of the caller's own case (its department's staff see it too).
		"Query.shipment": {class: accessOwner, probe: probeShipment},
		// Behaviour events name catalogue matters and online apps.
		"Mutation.trackEvents": {class: accessPublic, why: catalogueOnly},
		// Opening an online app of the app centre.
		"Mutation.openApp": {class: accessPublic, why: catalogueOnly},
		// Booking a published slot for oneself.
		"Mutation.bookAppointment": {class: accessPublic, why: catalogueOnly},
		// The appointment is the caller's own (the new slot is a public one).
		"Mutation.rescheduleAppointment": {class: accessOwner, probe: probeReschedule},
		// The caller's own appointment.
		"Mutation.cancelAppointment": {class: accessOwner, probe: probeCancelAppointment},
		// caseId names the caller's own draft (matterId alone would be a catalogue ID).
		"Mutation.saveApplicationDraft": {class: accessOwner, probe: probeSaveDraft},
		// caseId names the caller's own complete draft.
		"Mutation.submitApplication": {class: accessOwner, probe: probeSubmitDraft},
		// The caller's own submitted case.
		"Mutation.withdrawCase": {class: accessOwner, probe: probeWithdraw},
		// The caller's own case, which its department asked to be supplemented.
		"Mutation.supplyCaseMaterials": {class: accessOwner, probe: probeSupply},
		// The caller's own draft.
		"Mutation.deleteApplicationDraft": {class: accessOwner, probe: probeDeleteDraft},
		// consultationId names the caller's own draft.
		"Mutation.saveConsultationDraft": {class: accessOwner, probe: probeSaveConsultationDraft},
		// consultationId names the caller's own complete draft.
		"Mutation.submitConsultation": {class: accessOwner, probe: probeSubmitConsultation},
		// The caller's own draft.
		"Mutation.deleteConsultationDraft": {class: accessOwner, probe: probeDeleteConsultationDraft},
		// A department's reply to the caller's own consultation.
		"Mutation.rateConsultationReply": {class: accessOwner, probe: probeRateReply},
		// A line into the caller's own chat with customer service.
		"Mutation.sendChatMessage": {class: accessOwner, probe: probeSendChat},
		// The caller's own finished case.
		"Mutation.evaluateCase": {class: accessOwner, probe: probeEvaluateCase},
		// Rating an online app of the app centre, for oneself.
		"Mutation.evaluateApp": {class: accessPublic, why: catalogueOnly},
		// Reviewers' feedback on an app of their region's (and department's) app centre.
		"Mutation.addAppFeedback": {class: accessAdmin, probe: probeAddAppFeedback},
		// A licence in the caller's own wallet.
		"Mutation.showLicense": {class: accessOwner, probe: probeShowLicense},
		// The caller's own consent to an online app.
		"Mutation.authorizeApp": {class: accessPublic, why: catalogueOnly},
		// Withdrawing the caller's own consent to an online app.
		"Mutation.revokeAppAuthorization": {class: accessPublic, why: catalogueOnly},
		// A ticket for the caller themselves, for an online app they authorized.
		"Mutation.appTicket": {class: accessPublic, why: catalogueOnly},
		// Materials of the caller's own case (the hall is a catalogue ID).
		"Mutation.mailMaterials": {class: accessOwner, probe: probeMailMaterials},
		// The caller's own parcel of materials, not yet picked up.
		"Mutation.cancelShipment": {class: accessOwner, probe: probeCancelShipment},
		// targetId names a catalogue matter or a case: the probe names the caller's own case.
		"Mutation.subscribe": {class: accessOwner, probe: probeSubscribeCase},
		// The caller's own subscription.
		"Mutation.unsubscribe": {class: accessOwner, probe: probeUnsubscribe},
		// The caller's own messages.
		"Mutation.markMessagesRead": {class: accessOwner, probe: probeMarkRead},
		// An order its department issued for the caller's own case.
		"Mutation.payOrder": {class: accessOwner, probe: probePayOrder},
		// The live lines of the caller's own chat.
		"Subscription.chatMessageReceived": {class: accessOwner, probe: probeChatFollow},
	}
	nodes = map[string]accessEntry{
		// Slots are published to anyone by appointmentSlots.
		"AppointmentSlot": {class: accessPublic, why: "slots are published to anyone by appointmentSlots"},
		// The caller's own booking.
		"Appointment": {class: accessOwner, probe: nodeProbe(acAppointment)},
		// Only online apps resolve, and those are in the public app centre.
		"App": {class: accessPublic, why: "only online apps resolve, and they are in the public app centre"},
		// The caller's own case.
		"Case": {class: accessOwner, probe: nodeProbe(acCaseNode)},
		// The caller's own consultation.
		"Consultation": {class: accessOwner, probe: nodeProbe(func(t *testing.T, w *accessWorld) (string, string) {
			c := acCitizen(t, w)
			return c.ticket, acConsultationDraft(t, w, c.ticket, true)
		})},
		// The knowledge base answers anyone's questions.
		"KnowledgeEntry": {class: accessPublic, why: "the knowledge base answers anyone's questions"},
		// The caller's own chat with customer service.
		"AgentChat": {class: accessOwner, probe: nodeProbe(func(t *testing.T, w *accessWorld) (string, string) {
			c := acCitizen(t, w)
			return c.ticket, acChat(t, w, c)
		})},
		// The caller's own rating of their case.
		"Evaluation": {class: accessOwner, probe: nodeProbe(acEvaluation)},
		// The public service map.
		"Hall": {class: accessPublic, why: "the public service map"},
		// A user is visible to themselves only.
		"User": {class: accessOwner, probe: nodeProbe(func(t *testing.T, w *accessWorld) (string, string) {
			c := acCitizen(t, w)
			return c.ticket, gid("User", c.id)
		})},
		// The public catalogue.
		"Agency": {class: accessPublic, why: "the public catalogue"},
		// The public catalogue.
		"Theme": {class: accessPublic, why: "the public catalogue"},
		// The public catalogue.
		"Matter": {class: accessPublic, why: "the public catalogue"},
		// The caller's own subscription.
		"ServiceSubscription": {class: accessOwner, probe: nodeProbe(func(t *testing.T, w *accessWorld) (string, string) {
			c := acCitizen(t, w)
			return c.ticket, acSubscription(t, w, c)
		})},
		// The caller's own message.
		"Message": {class: accessOwner, probe: nodeProbe(func(t *testing.T, w *accessWorld) (string, string) {
			c := acCitizen(t, w)
			return c.ticket, acMessage(t, w, c)
		})},
		// The public catalogue of regions.
		"Region": {class: accessPublic, why: "the public catalogue"},
	}
	return fields, nodes
}

// nodeProbe asks node(id) for an object make builds, as its owner.
func nodeProbe(make func(t *testing.T, w *accessWorld) (owner, id string)) func(t *testing.T, w *accessWorld) accessProbe {
	return func(t *testing.T, w *accessWorld) accessProbe {
		owner, id := make(t, w)
		return accessProbe{query: `query($id: ID!) { node(id: $id) { id } }`, vars: map[string]any{"id": id}, owner: owner,
			ownerCheck: func(t *testing.T, r *gqlResponse) {
				var out struct{ Node *struct{ ID string } }
				r.decode(t, &out)
				if out.Node == nil || out.Node.ID != id {
					t.Errorf("node(%s) for its owner: %s", id, r.Raw)
				}
			}}
	}
}

// acUser is a fresh citizen of the matrix's region, named 张三 as person
// makes everyone.
type acUser struct {
	ticket string
	id     uint64
}

func acCitizen(t *testing.T, w *accessWorld) acUser {
	t.Helper()
	p := w.b.register(t, person(t))
	return acUser{ticket: p.Ticket, id: mustKey(t, p.User.ID)}
}

// acMatter is a matter that can be applied for online and is handled at
// halls, of an agency of 杭州市 where there is one.
func acMatter(t *testing.T, w *accessWorld) (models.Matter, uint64) {
	t.Helper()
	db := w.b.app.DB
	atHalls := db.Model(&models.MatterHall{}).Select("matter_id")
	var m models.Matter
	err := db.Scopes(onlineMatters).Where("id IN (?)", atHalls).
		Where("agency_id IN (?)", db.Model(&models.Agency{}).Select("id").Where("region_code LIKE ?", "3301%")).
		Order("id").First(&m).Error
	if err != nil {
		err = db.Scopes(onlineMatters).Where("id IN (?)", atHalls).Order("id").Offset(2).First(&m).Error
	}
	if err != nil {
		t.Fatalf("a matter handled at halls: %v", err)
	}
	var hall models.MatterHall
	if err := db.Where("matter_id = ?", m.ID).Order("hall_id").First(&hall).Error; err != nil {
		t.Fatal(err)
	}
	return m, hall.HallID
}

var acComplete = map[string][]string{"reason": {"首次申领"}, "contactPhone": {"13900001111"}, "delivery": {"窗口领取"}}

// acCase submits a case for u, and has its agency take the given steps.
func acCase(t *testing.T, w *accessWorld, u acUser, m models.Matter, steps ...cases.Action) uint64 {
	t.Helper()
	ctx := context.Background()
	c, err := w.b.app.Cases.Submit(ctx, u.id, 0, m.ID, acComplete, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range steps {
		note := ""
		if a == cases.RequestSupplement || a == cases.Reject {
			note = "请补充身份证明材料。"
		}
		if _, err := w.b.app.Cases.Handle(ctx, m.AgencyID, 1, c.ID, a, note); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	return c.ID
}

func acDraft(t *testing.T, w *accessWorld, u acUser, values map[string][]string) string {
	t.Helper()
	m, _ := acMatter(t, w)
	d, err := w.b.app.Cases.SaveDraft(context.Background(), u.id, 0, m.ID, values)
	if err != nil {
		t.Fatal(err)
	}
	return gid("Case", d.ID)
}

// acSender is the applicant as the sender of a parcel.
var acSender = map[string]any{"name": "张三", "phone": "13912345678", "regionCode": "330106", "address": "西湖区文三路100号1幢101室"}

// acMail mails materials of a fresh case of u to a hall; it returns the
// shipment's ID.
func acMail(t *testing.T, w *accessWorld, u acUser) (shipmentID, caseID string) {
	t.Helper()
	m, hall := acMatter(t, w)
	caseID = gid("Case", acCase(t, w, u, m))
	var out struct{ MailMaterials struct{ ID string } }
	w.b.gql(t, u.ticket, `mutation($in: MailMaterialsInput!) { mailMaterials(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"caseId": caseID, "sender": acSender, "hallId": gid("Hall", hall)}}).decode(t, &out)
	return out.MailMaterials.ID, caseID
}

// otherStaff is a case handler of another department of the matter's
// region: a department sees its own cases' parcels only.
func otherStaff(t *testing.T, w *accessWorld, m models.Matter) string {
	t.Helper()
	var other models.Agency
	if err := w.b.app.DB.Where("id <> ?", m.AgencyID).Order("id").First(&other).Error; err != nil {
		t.Fatal(err)
	}
	return w.b.scopedAdmin(t, other.RegionCode, other.ID, permission.HandleCases)
}

func withIntruders(w *accessWorld, extra map[string]string) map[string]string {
	out := map[string]string{"anonymous": "", "another citizen": w.other.Ticket}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func probeMyShipments(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	_, caseID := acMail(t, w, u)
	return accessProbe{query: `query($c: ID) { myShipments(caseId: $c) { totalCount } }`, vars: map[string]any{"c": caseID}, owner: u.ticket,
		ownerCheck: func(t *testing.T, r *gqlResponse) {
			var out struct{ MyShipments struct{ TotalCount int } }
			if r.decode(t, &out); out.MyShipments.TotalCount != 1 {
				t.Errorf("the owner's shipments of the case: %s", r.Raw)
			}
		}}
}

func probeShipment(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id, _ := acMail(t, w, u)
	m, _ := acMatter(t, w)
	p := accessProbe{query: `query($id: ID!) { shipment(id: $id) { id status } }`, vars: map[string]any{"id": id}, owner: u.ticket}
	// A parcel is seen by its applicant and its case's department only.
	p.intruders = withIntruders(w, map[string]string{
		"an administrator of another region":   w.admin(t, matrixOtherRegion),
		"a case handler of another department": otherStaff(t, w, m),
	})
	return p
}

func probeMailMaterials(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	m, hall := acMatter(t, w)
	caseID := gid("Case", acCase(t, w, u, m))
	return accessProbe{query: `mutation($in: MailMaterialsInput!) { mailMaterials(input: $in) { id direction } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"caseId": caseID, "sender": acSender, "hallId": gid("Hall", hall)}}}
}

func probeCancelShipment(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id, _ := acMail(t, w, u)
	m, _ := acMatter(t, w)
	p := accessProbe{query: `mutation($id: ID!) { cancelShipment(id: $id) { status } }`, vars: map[string]any{"id": id}, owner: u.ticket}
	p.intruders = withIntruders(w, map[string]string{
		"an administrator of another region":   w.admin(t, matrixOtherRegion),
		"a case handler of another department": otherStaff(t, w, m),
	})
	return p
}

// acBooking books u into the first slot of a matter at a hall; it returns
// the appointment and another slot of the same day.
func acBooking(t *testing.T, w *accessWorld, u acUser) (apptID, otherSlot string) {
	t.Helper()
	matterID, hallID := hallOf(t, w.b, 12) // a link and a day no other test books
	slots := w.b.slots(t, matterID, hallID, bookableDay(7).Format(appointment.DateLayout))
	if len(slots) < 2 {
		t.Fatalf("slots: %+v", slots)
	}
	a, err := w.b.app.Appointments.Book(context.Background(), u.id, mustKey(t, slots[0].ID), "")
	if err != nil {
		t.Fatal(err)
	}
	return gid("Appointment", a.ID), slots[1].ID
}

func acAppointment(t *testing.T, w *accessWorld) (string, string) {
	u := acCitizen(t, w)
	id, _ := acBooking(t, w, u)
	return u.ticket, id
}

func probeReschedule(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id, slot := acBooking(t, w, u)
	return accessProbe{query: `mutation($in: RescheduleAppointmentInput!) { rescheduleAppointment(input: $in) { appointment { id status } } }`,
		vars: map[string]any{"in": map[string]any{"appointmentId": id, "slotId": slot}}, owner: u.ticket}
}

func probeCancelAppointment(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id, _ := acBooking(t, w, u)
	return accessProbe{query: `mutation($in: CancelAppointmentInput!) { cancelAppointment(input: $in) { appointment { id status } } }`,
		vars: map[string]any{"in": map[string]any{"appointmentId": id}}, owner: u.ticket}
}

func acCaseNode(t *testing.T, w *accessWorld) (string, string) {
	u := acCitizen(t, w)
	m, _ := acMatter(t, w)
	return u.ticket, gid("Case", acCase(t, w, u, m))
}

func probeSaveDraft(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acDraft(t, w, u, map[string][]string{"reason": {"先存草稿"}})
	return accessProbe{query: `mutation($in: SaveApplicationDraftInput!) { saveApplicationDraft(input: $in) { case { id status } } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"caseId": id, "values": formValues("reason", "改过的草稿")}}}
}

func probeSubmitDraft(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acDraft(t, w, u, acComplete)
	return accessProbe{query: `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id status } } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"caseId": id}}}
}

func probeWithdraw(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	m, _ := acMatter(t, w)
	id := gid("Case", acCase(t, w, u, m))
	return accessProbe{query: `mutation($in: WithdrawCaseInput!) { withdrawCase(input: $in) { case { id status } } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"caseId": id, "reason": "改日再办"}}}
}

func probeSupply(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	m, _ := acMatter(t, w)
	id := gid("Case", acCase(t, w, u, m, cases.Accept, cases.RequestSupplement))
	return accessProbe{query: `mutation($in: SupplyCaseMaterialsInput!) { supplyCaseMaterials(input: $in) { case { id status } } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"caseId": id, "values": completeForm}}}
}

func probeDeleteDraft(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acDraft(t, w, u, map[string][]string{"reason": {"先存草稿"}})
	return accessProbe{query: `mutation($in: DeleteApplicationDraftInput!) { deleteApplicationDraft(input: $in) { deletedCaseId } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"caseId": id}}}
}

// acConsultationDraft saves a draft for the ticket's holder (complete
// enough to submit when complete is set) and returns its ID.
func acConsultationDraft(t *testing.T, w *accessWorld, ticket string, complete bool) string {
	t.Helper()
	in := map[string]any{"kind": "CONSULTATION", "title": "社保卡补办要多久"}
	if complete {
		m, _ := acMatter(t, w)
		in["content"], in["matterId"] = "请问社保卡补办需要多少个工作日？", gid("Matter", m.ID)
	}
	c, r := w.b.consultationOp(t, ticket, "saveConsultationDraft", "SaveConsultationDraftInput", map[string]any{"consultation": in})
	if c == nil {
		t.Fatalf("consultation draft: %s", r.Raw)
	}
	return c.ID
}

func probeSaveConsultationDraft(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acConsultationDraft(t, w, u.ticket, false)
	return accessProbe{query: `mutation($in: SaveConsultationDraftInput!) { saveConsultationDraft(input: $in) { consultation { id } } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"consultationId": id, "consultation": map[string]any{"kind": "CONSULTATION", "title": "改过的标题"}}}}
}

func probeSubmitConsultation(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acConsultationDraft(t, w, u.ticket, true)
	return accessProbe{query: `mutation($in: SubmitConsultationInput!) { submitConsultation(input: $in) { consultation { id status } } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"consultationId": id}}}
}

func probeDeleteConsultationDraft(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acConsultationDraft(t, w, u.ticket, false)
	return accessProbe{query: `mutation($in: DeleteConsultationDraftInput!) { deleteConsultationDraft(input: $in) { deletedConsultationId } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"consultationId": id}}}
}

func probeRateReply(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acConsultationDraft(t, w, u.ticket, true)
	m, _ := acMatter(t, w)
	staff := w.b.staffTicket(t, m.AgencyID)
	for _, step := range []struct{ mutation, input string }{
		{"submitConsultation", "SubmitConsultationInput"}, {"assignConsultation", "AssignConsultationInput"}, {"replyConsultation", "ReplyConsultationInput"},
	} {
		ticket, in := staff, map[string]any{"consultationId": id}
		switch step.mutation {
		case "submitConsultation":
			ticket = u.ticket
		case "replyConsultation":
			in["reply"] = "补办一般需要五个工作日。"
		}
		if c, r := w.b.consultationOp(t, ticket, step.mutation, step.input, in); c == nil {
			t.Fatalf("%s: %s", step.mutation, r.Raw)
		}
	}
	return accessProbe{query: `mutation($in: RateConsultationReplyInput!) { rateConsultationReply(input: $in) { consultation { id rating } } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"consultationId": id, "level": "SATISFIED"}}}
}

// acChat starts u's chat with customer service.
func acChat(t *testing.T, w *accessWorld, u acUser) string {
	t.Helper()
	c, err := w.b.app.Chats.Start(context.Background(), u.id, "我的营业执照地址变更要多久？")
	if err != nil {
		t.Fatal(err)
	}
	return gid("AgentChat", c.ID)
}

const acSendChat = `mutation($in: SendChatMessageInput!) { sendChatMessage(input: $in) { message { text } } }`

func probeSendChat(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acChat(t, w, u)
	p := accessProbe{query: acSendChat, vars: map[string]any{"in": map[string]any{"chatId": id, "text": "请问还要等多久？"}}, owner: u.ticket}
	// An agent of another region who has not taken the chat is refused too.
	p.intruders = withIntruders(w, map[string]string{"an administrator of another region": w.admin(t, matrixOtherRegion),
		"an agent of the owning region who has not taken the chat": w.admin(t, matrixRegion)})
	return p
}

func probeChatFollow(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acChat(t, w, u)
	p := accessProbe{owner: u.ticket, send: func(t *testing.T, ticket string) *gqlResponse { return acFollowChat(t, w.b, u.ticket, id, ticket) }}
	p.intruders = withIntruders(w, map[string]string{"an administrator of another region": w.admin(t, matrixOtherRegion),
		"an agent of the owning region who has not taken the chat": w.admin(t, matrixRegion)})
	return p
}

// acFollowChat subscribes to chatMessageReceived over the websocket as the
// ticket's holder, then has the chat's owner write a line: the answer is
// the first message the subscription gets — its error (the refusal), or
// the line. A connection refused at connection_init (no valid ticket:
// closed with 4403, as graphql-transport-ws has it) is UNAUTHENTICATED.
func acFollowChat(t *testing.T, b *backend, owner, chatID, ticket string) *gqlResponse {
	t.Helper()
	c, err := b.ws(t, ticket)
	if err != nil {
		var refused *wsRefused
		if errors.As(err, &refused) || websocket.CloseStatus(err) == 4403 {
			return &gqlResponse{Raw: []byte(err.Error()), Data: json.RawMessage("null"),
				Errors: []gqlError{{Message: "连接被拒绝。", Extensions: map[string]any{"code": models.ECodeUnauthenticated}}}}
		}
		t.Fatalf("websocket: %v", err)
	}
	c.send(map[string]any{"id": "follow", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($c: ID!) { chatMessageReceived(chatId: $c) { sender text } }`, "variables": map[string]any{"c": chatID}}})
	time.Sleep(150 * time.Millisecond) // the subscription is registered, or refused
	line := fmt.Sprintf("还在吗？%d", seq.Add(1))
	if r := b.gql(t, owner, acSendChat, map[string]any{"in": map[string]any{"chatId": chatID, "text": line}}); len(r.Errors) > 0 {
		t.Fatalf("the owner's line: %s", r.Raw)
	}
	msg, err := c.read(3 * time.Second)
	if err != nil {
		return &gqlResponse{Raw: []byte("no message: " + err.Error())}
	}
	raw, _ := json.Marshal(msg)
	out := &gqlResponse{Raw: raw}
	payload, _ := json.Marshal(msg["payload"])
	switch msg["type"] {
	case "error":
		json.Unmarshal(payload, &out.Errors)
	case "next":
		json.Unmarshal(payload, out)
		out.Raw = raw
	}
	return out
}

func acEvaluation(t *testing.T, w *accessWorld) (string, string) {
	u := acCitizen(t, w)
	m, _ := acMatter(t, w)
	ev, r := w.b.evaluate(t, u.ticket, finishedCase(t, w.b, u.ticket, m), map[string]any{"level": "SATISFIED"})
	if ev == nil {
		t.Fatalf("evaluate: %s", r.Raw)
	}
	return u.ticket, ev.ID
}

func probeEvaluateCase(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	m, _ := acMatter(t, w)
	id := finishedCase(t, w.b, u.ticket, m)
	return accessProbe{query: evaluateCase, vars: map[string]any{"in": map[string]any{"caseId": id, "evaluation": map[string]any{"level": "VERY_SATISFIED"}}}, owner: u.ticket}
}

// probeAddAppFeedback: an app of a department of 杭州市, created by the
// region's administrator; its reviewers give feedback on it.
func probeAddAppFeedback(t *testing.T, w *accessWorld) accessProbe {
	admin := w.admin(t, matrixRegion)
	var ags []models.Agency
	if err := w.b.app.DB.Where("region_code LIKE ?", "3301%").Order("id").Limit(2).Find(&ags).Error; err != nil || len(ags) < 2 {
		t.Fatalf("two departments of 杭州市: %v", err)
	}
	code := fmt.Sprintf("ac-fb-%d", seq.Add(1))
	var created struct {
		CreateApp struct{ App struct{ ID string } }
	}
	w.b.gql(t, admin, `mutation($in: CreateAppInput!) { createApp(input: $in) { app { id } } }`, map[string]any{"in": map[string]any{"app": map[string]any{
		"code": code, "name": "公积金查询" + code, "category": "公积金", "url": "https://" + code + ".example.gov.cn/", "regionCode": matrixRegion,
		"agencyId": gid("Agency", ags[0].ID)}}}).decode(t, &created)
	p := accessProbe{query: `mutation($in: AddAppFeedbackInput!) { addAppFeedback(input: $in) { id status } }`, owner: admin,
		vars: map[string]any{"in": map[string]any{"appId": created.CreateApp.App.ID, "content": "首页加载偏慢，建议压缩图片"}}}
	// A reviewer of another department of the same region does not see
	// the department's app.
	p.intruders = map[string]string{"anonymous": "", "a citizen": w.other.Ticket, "an administrator of another region": w.admin(t, matrixOtherRegion),
		"a reviewer of another department of the region": w.b.scopedAdmin(t, matrixRegion, ags[1].ID, permission.ReviewApps, permission.ManageApps)}
	return p
}

// probeShowLicense: a licence issued to the owner by a department of
// 杭州市 with its document seal.
func probeShowLicense(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	ctx := context.Background()
	var ag models.Agency
	if err := w.b.app.DB.Where("region_code LIKE ?", "3301%").Order("id").First(&ag).Error; err != nil {
		t.Fatal(err)
	}
	// The department's document seal, made unless it has one.
	if s, err := w.b.app.Seals.DocumentSeal(w.b.app.DB, ag.ID); err != nil {
		t.Fatal(err)
	} else if s == nil {
		if _, err := w.b.app.Seals.Create(ctx, 1, &ag, "证照专用章", true); err != nil {
			t.Fatal(err)
		}
	}
	exp := time.Now().Add(365 * 24 * time.Hour)
	lic, err := w.b.app.Licenses.Issue(ctx, &ag, license.Input{IssuedBy: 1, HolderUserID: u.id, Kind: "DRIVING_LICENSE", Title: "机动车驾驶证",
		Number: fmt.Sprintf("3301%08d", seq.Add(1)), ExpiresAt: &exp, Fields: []license.Field{{Name: "准驾车型", Value: "C1"}}})
	if err != nil {
		t.Fatal(err)
	}
	return accessProbe{query: `mutation($id: ID!) { showLicense(licenseId: $id) { payload } }`, vars: map[string]any{"id": gid("License", lic.ID)}, owner: u.ticket}
}

// acMessage has the owner's case accepted, which leaves them a message.
func acMessage(t *testing.T, w *accessWorld, u acUser) string {
	t.Helper()
	m, _ := acMatter(t, w)
	acCase(t, w, u, m, cases.Accept)
	var msg models.Message
	if err := w.b.app.DB.Where("user_id = ?", u.id).Order("id DESC").First(&msg).Error; err != nil {
		t.Fatalf("the owner's message: %v", err)
	}
	return gid("Message", msg.ID)
}

func acSubscription(t *testing.T, w *accessWorld, u acUser) string {
	t.Helper()
	m, _ := acMatter(t, w)
	s, err := w.b.app.Messages.Subscribe(context.Background(), u.id, models.TargetMatter, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return gid("ServiceSubscription", s.ID)
}

func probeSubscribeCase(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	m, _ := acMatter(t, w)
	id := gid("Case", acCase(t, w, u, m))
	return accessProbe{query: `mutation($in: SubscribeInput!) { subscribe(input: $in) { subscription { id target } } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"targetId": id}}}
}

func probeUnsubscribe(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acSubscription(t, w, u)
	return accessProbe{query: `mutation($in: UnsubscribeInput!) { unsubscribe(input: $in) { removed } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"subscriptionId": id}}}
}

func probeMarkRead(t *testing.T, w *accessWorld) accessProbe {
	u := acCitizen(t, w)
	id := acMessage(t, w, u)
	return accessProbe{query: `mutation($in: MarkMessagesReadInput!) { markMessagesRead(input: $in) { marked unreadCount } }`, owner: u.ticket,
		vars: map[string]any{"in": map[string]any{"messageIds": []string{id}}},
		ownerCheck: func(t *testing.T, r *gqlResponse) {
			var out struct{ MarkMessagesRead struct{ Marked int } }
			if r.decode(t, &out); out.MarkMessagesRead.Marked != 1 {
				t.Errorf("the owner's message was not marked read: %s", r.Raw)
			}
		}}
}

// probePayOrder: an order the case's agency issued, paid through the
// sandbox channel.
func probePayOrder(t *testing.T, w *accessWorld) accessProbe {
	connectSandbox(t, w.b)
	u := acCitizen(t, w)
	m, _ := acMatter(t, w)
	ctx := context.Background()
	caseID := acCase(t, w, u, m, cases.Accept)
	item, err := w.b.app.Payments.SaveFeeItem(ctx, m.ID, payment.FeeItemInput{Code: "GB", Name: "工本费", AmountFen: 2000, Basis: "《居民身份证法》第二十条", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	o, err := w.b.app.Payments.Issue(ctx, m.AgencyID, 1, caseID, []payment.LineInput{{FeeItemID: item.ID, Quantity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return accessProbe{query: `mutation($o: ID!) { payOrder(orderId: $o) { payUrl } }`, vars: map[string]any{"o": gid("PaymentOrder", o.ID)}, owner: u.ticket}
}
