package app_test

import (
	"bytes"
	"strings"
	"testing"

	"govmobile/models"
)

type consultationOut struct {
	ID, Number, Kind, Status, Title, Content, Reply string
	Rating                                          *string
	Agency                                          *struct{ ID string }
	Timeline                                        []struct{ Action, ToStatus, Actor string }
}

const consultationFields = `id number kind status title content reply rating agency { id } timeline { action toStatus actor }`

func (b *backend) consultationOp(t *testing.T, ticket, mutation, input string, in map[string]any) (*consultationOut, *gqlResponse) {
	t.Helper()
	r := b.gql(t, ticket, `mutation($in: `+input+`!) { `+mutation+`(input: $in) { consultation { `+consultationFields+` } } }`, map[string]any{"in": in})
	if len(r.Errors) > 0 {
		return nil, r
	}
	var out map[string]struct{ Consultation consultationOut }
	r.decode(t, &out)
	c := out[mutation].Consultation
	return &c, r
}

func TestConsultations(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Order("id").Offset(3).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		kim := b.register(t, person(t)).Ticket
		// A draft may be partial, and is edited.
		d, r := b.consultationOp(t, kim, "saveConsultationDraft", "SaveConsultationDraftInput",
			map[string]any{"consultation": map[string]any{"kind": "COMPLAINT", "title": "窗口排队时间长"}})
		if d == nil || d.Status != "DRAFT" || !strings.HasPrefix(d.Number, "ZX") || d.Agency != nil {
			t.Fatalf("draft: %s", r.Raw)
		}
		d, r = b.consultationOp(t, kim, "saveConsultationDraft", "SaveConsultationDraftInput",
			map[string]any{"consultationId": d.ID, "consultation": map[string]any{"kind": "COMPLAINT", "title": "窗口排队时间长",
				"content": "上午九点到十一点只开了一个窗口。", "matterId": gid("Matter", m.ID)}})
		if d == nil || d.Agency == nil || d.Agency.ID != gid("Agency", m.AgencyID) {
			t.Fatalf("edited draft: %s", r.Raw)
		}
		// Before submitting: similar answers and open items.
		var sug struct {
			ConsultationSuggestions struct {
				Answers   []struct{ ID, Question string }
				OpenItems []struct{ ID string }
			}
		}
		b.gql(t, kim, `query($m: ID) { consultationSuggestions(text: "社保卡怎么补办，需要带什么材料？请问在哪里办理", matterId: $m) { answers { id question } openItems { id } } }`,
			map[string]any{"m": gid("Matter", m.ID)}).decode(t, &sug)
		if len(sug.ConsultationSuggestions.Answers) == 0 || len(sug.ConsultationSuggestions.OpenItems) != 0 {
			t.Fatalf("suggestions: %+v", sug)
		}

		// Bad input writes nothing.
		before := countRows(t, b, &models.Consultation{})
		for name, in := range map[string]map[string]any{
			"no title":         {"consultation": map[string]any{"kind": "CONSULTATION", "content": "内容", "matterId": gid("Matter", m.ID)}},
			"no subject":       {"consultation": map[string]any{"kind": "CONSULTATION", "title": "标题", "content": "内容"}},
			"title too long":   {"consultation": map[string]any{"kind": "CONSULTATION", "title": strings.Repeat("长", 61), "content": "内容", "matterId": gid("Matter", m.ID)}},
			"content too long": {"consultation": map[string]any{"kind": "CONSULTATION", "title": "标题", "content": strings.Repeat("长", 2001), "matterId": gid("Matter", m.ID)}},
			"wrong agency":     {"consultation": map[string]any{"kind": "CONSULTATION", "title": "标题", "content": "内容", "matterId": gid("Matter", m.ID), "agencyId": gid("Agency", m.AgencyID+1)}},
			"unknown kind":     {"consultation": map[string]any{"kind": "PRAISE", "title": "标题", "content": "内容", "agencyId": gid("Agency", m.AgencyID)}},
			"both":             {"consultationId": d.ID, "consultation": map[string]any{"kind": "CONSULTATION", "title": "标题", "content": "内容", "agencyId": gid("Agency", m.AgencyID)}},
		} {
			if _, r := b.consultationOp(t, kim, "submitConsultation", "SubmitConsultationInput", in); len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != models.ECodeBadUserInput {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		if _, r := b.consultationOp(t, kim, "submitConsultation", "SubmitConsultationInput",
			map[string]any{"consultation": map[string]any{"kind": "CONSULTATION", "title": "标题", "content": "内容", "agencyId": gid("Agency", 1<<40)}}); len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != models.ECodeNotFound {
			t.Errorf("unknown agency: %s", r.Raw)
		}
		if n := countRows(t, b, &models.Consultation{}); n != before {
			t.Fatalf("refused submissions wrote %d rows", n-before)
		}

		// Attachments follow the upload rules of case materials.
		att := b.uploadTo(t, kim, "consultationId", d.ID, "排队照片.png", pngBytes)
		if att.Status != 200 || att.Type != "image/png" {
			t.Fatalf("attachment: %+v", att)
		}
		if r := b.uploadTo(t, kim, "consultationId", d.ID, "x.pdf", []byte("<html></html>")); r.Status != 400 {
			t.Fatalf("a mistyped attachment: %+v", r)
		}
		if r := b.uploadTo(t, b.register(t, person(t)).Ticket, "consultationId", d.ID, "a.png", pngBytes); r.Status != 404 {
			t.Fatalf("an attachment to another's consultation: %+v", r)
		}
		if r := b.uploadTo(t, b.staffTicket(t, m.AgencyID), "consultationId", d.ID, "a.png", pngBytes); r.Status != 404 {
			t.Fatalf("staff attach to a citizen's consultation: %+v", r)
		}
		if res, _ := b.download(t, b.staffTicket(t, m.AgencyID), att.ID); res.StatusCode != 404 {
			t.Fatalf("staff read a draft's attachment: %d", res.StatusCode)
		}

		// Submit the draft (a replay returns it); others cannot see it.
		var c *consultationOut
		for i := 0; i < 2; i++ {
			c, r = b.consultationOp(t, kim, "submitConsultation", "SubmitConsultationInput", map[string]any{"consultationId": d.ID, "idempotencyKey": "zx-1"})
			if c == nil || c.Status != "SUBMITTED" || len(c.Timeline) != 1 {
				t.Fatalf("submitted: %s", r.Raw)
			}
		}
		_, r = b.consultationOp(t, b.register(t, person(t)).Ticket, "rateConsultationReply", "RateConsultationReplyInput", map[string]any{"consultationId": c.ID, "level": "SATISFIED"})
		expectCode(t, r, models.ECodeNotFound)
		b.gql(t, kim, `query($m: ID) { consultationSuggestions(text: "排队", matterId: $m) { answers { id question } openItems { id } } }`,
			map[string]any{"m": gid("Matter", m.ID)}).decode(t, &sug)
		if len(sug.ConsultationSuggestions.OpenItems) != 1 || sug.ConsultationSuggestions.OpenItems[0].ID != c.ID {
			t.Fatalf("open items: %+v", sug)
		}
		// Found by its words too, through the index (the author's only).
		waitFor(t, func() bool {
			b.gql(t, kim, `{ consultationSuggestions(text: "只开了一个窗口怎么办") { openItems { id } } }`, nil).decode(t, &sug)
			return len(sug.ConsultationSuggestions.OpenItems) == 1 && sug.ConsultationSuggestions.OpenItems[0].ID == c.ID
		})
		b.gql(t, b.register(t, person(t)).Ticket, `{ consultationSuggestions(text: "只开了一个窗口怎么办") { openItems { id } } }`, nil).decode(t, &sug)
		if len(sug.ConsultationSuggestions.OpenItems) != 0 {
			t.Fatalf("another citizen finds the consultation: %+v", sug)
		}
		// Never through public search.
		for _, scope := range []string{"ALL", "GUIDE", "KNOWLEDGE", "HALL", "APP"} {
			var found struct {
				Search struct {
					Edges []struct{ Node struct{ Title string } }
				}
			}
			b.gql(t, "", `query($s: SearchScope) { search(query: "只开了一个窗口", scope: $s) { edges { node { title } } } }`, map[string]any{"s": scope}).decode(t, &found)
			for _, e := range found.Search.Edges {
				if strings.Contains(e.Node.Title, "排队") {
					t.Fatalf("a consultation in public search (%s): %+v", scope, e)
				}
			}
		}

		// The agency assigns, replies and closes; others cannot.
		staff, colleague, stranger := b.staffTicket(t, m.AgencyID), b.staffTicket(t, m.AgencyID), b.staffTicket(t, m.AgencyID+1_000_000)
		_, r = b.consultationOp(t, stranger, "assignConsultation", "AssignConsultationInput", map[string]any{"consultationId": c.ID})
		expectCode(t, r, models.ECodeNotFound)
		_, r = b.consultationOp(t, staff, "replyConsultation", "ReplyConsultationInput", map[string]any{"consultationId": c.ID, "reply": "已增开窗口"})
		expectCode(t, r, models.ECodeConflict)
		_, r = b.consultationOp(t, staff, "assignConsultation", "AssignConsultationInput", map[string]any{"consultationId": c.ID, "assignee": "nobody"})
		expectCode(t, r, models.ECodeBadUserInput)
		var byWord struct {
			AgencyConsultations struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		b.gql(t, staff, `{ agencyConsultations(keyword: "窗口 排队") { edges { node { id } } } }`, nil).decode(t, &byWord)
		if len(byWord.AgencyConsultations.Edges) != 1 || byWord.AgencyConsultations.Edges[0].Node.ID != c.ID {
			t.Fatalf("the agency finds it by its words: %+v", byWord)
		}
		b.gql(t, stranger, `{ agencyConsultations(keyword: "窗口 排队") { edges { node { id } } } }`, nil).decode(t, &byWord)
		if len(byWord.AgencyConsultations.Edges) != 0 {
			t.Fatalf("another agency finds it: %+v", byWord)
		}
		if c, r = b.consultationOp(t, colleague, "assignConsultation", "AssignConsultationInput", map[string]any{"consultationId": c.ID}); c == nil || c.Status != "ASSIGNED" {
			t.Fatalf("assigned: %s", r.Raw)
		}
		if r := b.uploadTo(t, kim, "consultationId", c.ID, "late.png", pngBytes); r.Status != 409 {
			t.Fatalf("an attachment once assigned: %+v", r)
		}
		if res, body := b.download(t, staff, att.ID); res.StatusCode != 200 || !bytes.Equal(body, pngBytes) || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("the agency reads the attachment: %d", res.StatusCode)
		}
		if res, _ := b.download(t, stranger, att.ID); res.StatusCode != 404 {
			t.Fatalf("another agency reads the attachment: %d", res.StatusCode)
		}
		var withFiles struct {
			MyConsultations struct {
				Edges []struct {
					Node struct {
						Attachments []struct{ ID, Name, DownloadURL string }
					}
				}
			}
		}
		b.gql(t, kim, `{ myConsultations { edges { node { attachments { id name downloadUrl } } } } }`, nil).decode(t, &withFiles)
		if a := withFiles.MyConsultations.Edges[0].Node.Attachments; len(a) != 1 || a[0].ID != att.ID || a[0].DownloadURL != "/files/"+att.ID {
			t.Fatalf("attachments: %+v", withFiles)
		}

		// Reassigned to a named colleague of the agency.
		var named models.Admin
		if err := b.app.DB.Where("agency_id = ?", m.AgencyID).Order("id").First(&named).Error; err != nil {
			t.Fatal(err)
		}
		if c, r = b.consultationOp(t, staff, "assignConsultation", "AssignConsultationInput", map[string]any{"consultationId": c.ID, "assignee": strings.ToUpper(named.Username)}); c == nil || c.Status != "ASSIGNED" {
			t.Fatalf("reassigned: %s", r.Raw)
		}
		var assignee uint64
		b.app.DB.Model(&models.Consultation{}).Where("number = ?", c.Number).Pluck("assignee_id", &assignee)
		if assignee != named.ID {
			t.Fatalf("assigned to %d, want %d", assignee, named.ID)
		}
		_, r = b.consultationOp(t, staff, "replyConsultation", "ReplyConsultationInput", map[string]any{"consultationId": c.ID, "reply": "  "})
		expectCode(t, r, models.ECodeBadUserInput)
		_, r = b.consultationOp(t, kim, "rateConsultationReply", "RateConsultationReplyInput", map[string]any{"consultationId": c.ID, "level": "SATISFIED"})
		expectCode(t, r, models.ECodeConflict)
		if c, r = b.consultationOp(t, staff, "replyConsultation", "ReplyConsultationInput", map[string]any{"consultationId": c.ID, "reply": "已在高峰时段增开两个窗口。"}); c == nil || c.Status != "REPLIED" || c.Reply == "" {
			t.Fatalf("replied: %s", r.Raw)
		}
		if c, r = b.consultationOp(t, staff, "closeConsultation", "CloseConsultationInput", map[string]any{"consultationId": c.ID}); c == nil || c.Status != "CLOSED" || len(c.Timeline) != 5 {
			t.Fatalf("closed: %s", r.Raw)
		}
		var msgs struct {
			MyMessages struct {
				Edges []struct {
					Node struct{ Title, Target, TargetID string }
				}
			}
		}
		b.gql(t, kim, `{ myMessages(first: 2) { edges { node { title target targetId } } } }`, nil).decode(t, &msgs)
		if len(msgs.MyMessages.Edges) != 2 || msgs.MyMessages.Edges[1].Node.Target != "CONSULTATION" || msgs.MyMessages.Edges[1].Node.TargetID != c.ID {
			t.Fatalf("the citizen is not told: %+v", msgs)
		}
		// The citizen rates the reply, once.
		if c, r = b.consultationOp(t, kim, "rateConsultationReply", "RateConsultationReplyInput", map[string]any{"consultationId": c.ID, "level": "VERY_SATISFIED", "comment": "处理及时"}); c == nil || c.Rating == nil || *c.Rating != "VERY_SATISFIED" {
			t.Fatalf("rated: %s", r.Raw)
		}
		_, r = b.consultationOp(t, kim, "rateConsultationReply", "RateConsultationReplyInput", map[string]any{"consultationId": c.ID, "level": "SATISFIED"})
		expectCode(t, r, models.ECodeConflict)

		var lists struct {
			MyConsultations     struct{ TotalCount int }
			AgencyConsultations struct{ TotalCount int }
		}
		b.gql(t, kim, `{ myConsultations(status: CLOSED) { totalCount } }`, nil).decode(t, &lists)
		b.gql(t, stranger, `{ agencyConsultations { totalCount } }`, nil).decode(t, &lists)
		if lists.MyConsultations.TotalCount != 1 || lists.AgencyConsultations.TotalCount != 0 {
			t.Fatalf("lists: %+v", lists)
		}
		_, r = b.consultationOp(t, kim, "submitConsultation", "SubmitConsultationInput", map[string]any{"consultationId": c.ID})
		expectCode(t, r, models.ECodeConflict)
		expectCode(t, b.gql(t, kim, `mutation($in: DeleteConsultationDraftInput!) { deleteConsultationDraft(input: $in) { deletedConsultationId } }`,
			map[string]any{"in": map[string]any{"consultationId": c.ID}}), models.ECodeConflict)
	})
}
