package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"govmobile/gm"
	"govmobile/models"
	"govmobile/permission"
)

const caseFields = `id number status submittedAt matter { id name } agency { name } values { key values } lastStep { action toStatus actor note } timeline { action fromStatus toStatus }`

type caseOut struct {
	ID     string
	Number string
	Status string
	Matter struct{ ID, Name string }
	Values []struct {
		Key    string
		Values []string
	}
	LastStep  *struct{ Action, ToStatus, Actor, Note string }
	Timeline  []struct{ Action, FromStatus, ToStatus string }
	Materials []struct{ ID, Name string }
	Results   []struct{ ID, Name string }
}

func formValues(kv ...string) []map[string]any {
	var out []map[string]any
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]any{"key": kv[i], "values": []string{kv[i+1]}})
	}
	return out
}

var completeForm = formValues("reason", "首次申领", "contactPhone", "13900001111", "delivery", "窗口领取")

func TestCasesOverGraphQL(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id").First(&m).Error; err != nil {
			t.Fatal(err)
		}
		matter := gid("Matter", m.ID)
		alice := b.register(t, person(t)).Ticket

		var form struct {
			Matter struct {
				ApplicationForm []struct {
					Key, Label, Type string
					Required         bool
					Options          []string
				}
			}
		}
		b.gql(t, "", `query($id: ID!) { matter(id: $id) { applicationForm { key label type required options } } }`, map[string]any{"id": matter}).decode(t, &form)
		if len(form.Matter.ApplicationForm) == 0 || form.Matter.ApplicationForm[0].Label == "" {
			t.Fatalf("application form: %+v", form)
		}

		submit := `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { ` + caseFields + ` } } }`
		var out struct{ SubmitApplication struct{ Case caseOut } }
		b.gql(t, alice, submit, map[string]any{"in": map[string]any{"matterId": matter, "values": completeForm, "idempotencyKey": "first"}}).decode(t, &out)
		c := out.SubmitApplication.Case
		if c.Status != "SUBMITTED" || c.Matter.ID != matter || c.LastStep == nil || c.LastStep.ToStatus != "SUBMITTED" || len(c.Timeline) != 1 || len(c.Values) != 3 {
			t.Fatalf("submitted case: %+v", c)
		}
		b.gql(t, alice, submit, map[string]any{"in": map[string]any{"matterId": matter, "values": completeForm, "idempotencyKey": "first"}}).decode(t, &out)
		if out.SubmitApplication.Case.ID != c.ID {
			t.Fatalf("a replayed submission made another case: %s", out.SubmitApplication.Case.ID)
		}

		// Bad input writes nothing.
		before := countRows(t, b, &models.Case{})
		for _, in := range []map[string]any{
			{"matterId": matter, "values": formValues("reason", "缺电话")},
			{"matterId": matter, "values": append(formValues("colour", "红"), completeForm...)},
			{"matterId": matter, "values": append(formValues("reason", "两次"), completeForm...)},
			{"matterId": matter, "caseId": c.ID, "values": completeForm},
			{"matterId": matter},
			{"matterId": "bad", "values": completeForm},
		} {
			expectCode(t, b.gql(t, alice, submit, map[string]any{"in": in}), models.ECodeBadUserInput)
		}
		expectCode(t, b.gql(t, "", submit, map[string]any{"in": map[string]any{"matterId": matter, "values": completeForm}}), models.ECodeUnauthenticated)
		if n := countRows(t, b, &models.Case{}); n != before {
			t.Fatalf("refused submissions wrote %d cases", n-before)
		}

		// A draft, completed and submitted.
		var d struct{ SaveApplicationDraft struct{ Case caseOut } }
		b.gql(t, alice, `mutation($in: SaveApplicationDraftInput!) { saveApplicationDraft(input: $in) { case { `+caseFields+` } } }`,
			map[string]any{"in": map[string]any{"matterId": matter, "values": formValues("reason", "先存草稿")}}).decode(t, &d)
		if d.SaveApplicationDraft.Case.Status != "DRAFT" || d.SaveApplicationDraft.Case.LastStep != nil {
			t.Fatalf("draft: %+v", d.SaveApplicationDraft.Case)
		}
		expectCode(t, b.gql(t, alice, submit, map[string]any{"in": map[string]any{"caseId": d.SaveApplicationDraft.Case.ID}}), models.ECodeBadUserInput)

		// Withdraw before acceptance; not twice.
		withdraw := `mutation($in: WithdrawCaseInput!) { withdrawCase(input: $in) { case { status lastStep { note } } } }`
		var w struct{ WithdrawCase struct{ Case caseOut } }
		for i := 0; i < 2; i++ { // the second time as after a lost response
			b.gql(t, alice, withdraw, map[string]any{"in": map[string]any{"caseId": c.ID, "reason": "材料不全，改日再办", "idempotencyKey": "w-1"}}).decode(t, &w)
			if w.WithdrawCase.Case.Status != "WITHDRAWN" || w.WithdrawCase.Case.LastStep.Note != "材料不全，改日再办" {
				t.Fatalf("withdrawn: %+v", w.WithdrawCase.Case)
			}
		}
		expectCode(t, b.gql(t, alice, withdraw, map[string]any{"in": map[string]any{"caseId": c.ID}}), models.ECodeConflict)

		// A draft is deleted by its owner only; a submitted case is not.
		del := `mutation($in: DeleteApplicationDraftInput!) { deleteApplicationDraft(input: $in) { deletedCaseId } }`
		draftID := d.SaveApplicationDraft.Case.ID
		expectCode(t, b.gql(t, b.register(t, person(t)).Ticket, del, map[string]any{"in": map[string]any{"caseId": draftID}}), models.ECodeNotFound)
		expectCode(t, b.gql(t, alice, del, map[string]any{"in": map[string]any{"caseId": c.ID}}), models.ECodeConflict)
		var deleted struct {
			DeleteApplicationDraft struct{ DeletedCaseID string }
		}
		b.gql(t, alice, del, map[string]any{"in": map[string]any{"caseId": draftID}}).decode(t, &deleted)
		if deleted.DeleteApplicationDraft.DeletedCaseID != draftID {
			t.Fatalf("deleted: %+v", deleted)
		}
		expectCode(t, b.gql(t, alice, del, map[string]any{"in": map[string]any{"caseId": draftID}}), models.ECodeNotFound)

		// Bob sees none of it.
		bob := b.register(t, person(t)).Ticket
		expectCode(t, b.gql(t, bob, withdraw, map[string]any{"in": map[string]any{"caseId": c.ID}}), models.ECodeNotFound)
		var node struct{ Node *struct{ ID string } }
		b.gql(t, bob, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": c.ID}).decode(t, &node)
		if node.Node != nil {
			t.Fatal("another user's case is visible through node()")
		}
		var mine struct {
			MyCases struct {
				TotalCount int
				Edges      []struct{ Node caseOut }
			}
		}
		b.gql(t, bob, `{ myCases { totalCount } }`, nil).decode(t, &mine)
		if mine.MyCases.TotalCount != 0 {
			t.Fatalf("bob sees %d cases", mine.MyCases.TotalCount)
		}
		b.gql(t, alice, `{ myCases(status: WITHDRAWN) { totalCount edges { node { id status } } } }`, nil).decode(t, &mine)
		if mine.MyCases.TotalCount != 1 || mine.MyCases.Edges[0].Node.ID != c.ID {
			t.Fatalf("alice's withdrawn cases: %+v", mine.MyCases)
		}
	})
}

// myCases with each case's matter, agency and last step costs a fixed
// number of SQL statements, whatever the page size.
func TestMyCasesStatementCount(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var ms []models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id").Limit(60).Find(&ms).Error; err != nil || len(ms) < 60 {
			t.Fatalf("matters: %v", err)
		}
		carol := b.register(t, person(t)).Ticket
		for _, m := range ms {
			r := b.gql(t, carol, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
				map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}})
			if len(r.Errors) > 0 {
				t.Fatal(string(r.Raw))
			}
		}
		q := `query($first: Int) { myCases(first: $first) { totalCount edges { node { number status matter { name } agency { name } lastStep { action at } materials { name } } } } }`
		counts := map[int]float64{}
		for _, first := range []int{5, 50} {
			counts[first] = statementsOf(t, func() *gqlResponse { return b.gql(t, carol, q, map[string]any{"first": first}) })
		}
		if counts[5] != counts[50] || counts[50] > 8 {
			t.Fatalf("statements: first:5 → %v, first:50 → %v (want equal and ≤ 8)", counts[5], counts[50])
		}
		t.Logf("statements per page: %v", counts[50])
	})
}

// staffTicket makes an admin on an agency's staff and logs them in.
func (b *backend) staffTicket(t testing.TB, agencyID uint64) string {
	t.Helper()
	return b.adminTicketOf(t, agencyID, false)
}

// adminTicketOf creates an administrator — of an agency's staff, or a
// platform super-admin (agencyID 0, super) — and logs them in.
func (b *backend) adminTicketOf(t testing.TB, agencyID uint64, super bool) string {
	t.Helper()
	hash, err := gm.PasswordHash("Staff-Test-123")
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("staff%d_%d", agencyID, seq.Add(1))
	admin := &models.Admin{Username: name, PasswordHash: hash, AgencyID: agencyID, SuperAdmin: super, CreatedAt: time.Now().UTC()}
	if err := b.app.DB.Create(admin).Error; err != nil {
		t.Fatal(err)
	}
	if agencyID != 0 {
		// Agency staff hold the built-in staff role.
		var role models.Role
		if err := b.app.DB.Where("name = ?", permission.StaffRole).Take(&role).Error; err != nil {
			t.Fatal(err)
		}
		if err := b.app.DB.Create(&models.AdminRole{AdminID: admin.ID, RoleID: role.ID}).Error; err != nil {
			t.Fatal(err)
		}
	}
	var out struct{ AdminLogin struct{ Ticket string } }
	b.gql(t, "", `mutation($in: AdminLoginInput!) { adminLogin(input: $in) { ticket } }`,
		map[string]any{"in": map[string]any{"username": name, "password": "Staff-Test-123"}}).decode(t, &out)
	return out.AdminLogin.Ticket
}

// TestStaffReadsOfFormsAreAudited (SPEC §4): an administrator shown
// applicants' forms in clear leaves one audit row per operation naming the
// cases read; the applicant reading their own leaves none.
func TestStaffReadsOfFormsAreAudited(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id DESC").First(&m).Error; err != nil {
			t.Fatal(err)
		}
		var ids []string
		for range 2 {
			citizen := b.register(t, person(t)).Ticket
			var out struct{ SubmitApplication struct{ Case caseOut } }
			b.gql(t, citizen, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
				map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &out)
			ids = append(ids, out.SubmitApplication.Case.ID)
			b.gql(t, citizen, `query MyOwnForms { myCases(first: 5) { edges { node { values { key } } } } }`, nil).decode(t, &struct{}{})
		}
		staff := b.staffTicket(t, m.AgencyID)
		b.gql(t, staff, `query ReadForms { agencyCases(status: SUBMITTED, first: 100) { edges { node { id values { key values } } } } }`, nil).decode(t, &struct{}{})
		b.gql(t, staff, `query ListOnly { agencyCases(status: SUBMITTED, first: 100) { edges { node { id } } } }`, nil).decode(t, &struct{}{})
		var logs struct {
			AuditLogs struct {
				Edges []struct {
					Node struct{ Operation, Arguments string }
				}
			}
		}
		for _, op := range []string{"read:MyOwnForms", "read:ListOnly"} {
			b.gql(t, b.adminTicket(t), `query($op: String!) { auditLogs(operation: $op, first: 10) { edges { node { operation arguments } } } }`,
				map[string]any{"op": op}).decode(t, &logs)
			if len(logs.AuditLogs.Edges) != 0 {
				t.Fatalf("%s was audited: %+v", op, logs)
			}
		}
		b.gql(t, b.adminTicket(t), `{ auditLogs(operation: "read:ReadForms", first: 10) { edges { node { operation arguments } } } }`, nil).decode(t, &logs)
		if len(logs.AuditLogs.Edges) != 1 {
			t.Fatalf("want one audit row for the staff's read, got %+v", logs)
		}
		var args struct{ Case []uint64 }
		if err := json.Unmarshal([]byte(logs.AuditLogs.Edges[0].Node.Arguments), &args); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if !slices.Contains(args.Case, mustKey(t, id)) {
				t.Fatalf("case %s read but not audited: %s", id, logs.AuditLogs.Edges[0].Node.Arguments)
			}
		}
	})
}

func TestAgencyStaffHandleCases(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id DESC").First(&m).Error; err != nil {
			t.Fatal(err)
		}
		dave := b.register(t, person(t)).Ticket
		var out struct{ SubmitApplication struct{ Case caseOut } }
		b.gql(t, dave, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
			map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &out)
		caseID := out.SubmitApplication.Case.ID

		staff := b.staffTicket(t, m.AgencyID)
		stranger := b.staffTicket(t, m.AgencyID+1_000_000)
		handle := `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status lastStep { action actor note } } } }`
		act := func(ticket, action, note string) *gqlResponse {
			in := map[string]any{"caseId": caseID, "action": action}
			if note != "" {
				in["note"] = note
			}
			return b.gql(t, ticket, handle, map[string]any{"in": in})
		}

		var list struct {
			AgencyCases struct {
				TotalCount int
				Edges      []struct{ Node caseOut }
			}
		}
		b.gql(t, staff, `{ agencyCases(status: SUBMITTED, first: 100) { totalCount edges { node { id } } } }`, nil).decode(t, &list)
		found := false
		for _, e := range list.AgencyCases.Edges {
			found = found || e.Node.ID == caseID
		}
		if !found {
			t.Fatalf("the agency's staff do not see the case: %+v", list.AgencyCases)
		}
		b.gql(t, stranger, `{ agencyCases { totalCount edges { node { id } } } }`, nil).decode(t, &list)
		for _, e := range list.AgencyCases.Edges {
			if e.Node.ID == caseID {
				t.Fatal("another agency's staff see the case")
			}
		}

		expectCode(t, act(stranger, "ACCEPT", ""), models.ECodeNotFound)
		expectCode(t, act(b.adminTicket(t), "ACCEPT", ""), models.ECodeForbidden)
		expectCode(t, act(dave, "ACCEPT", ""), models.ECodeUnauthenticated)
		expectCode(t, act(staff, "COMPLETE", ""), models.ECodeConflict)
		expectCode(t, act(staff, "REJECT", ""), models.ECodeBadUserInput)

		// Result documents come from the agency's staff while they handle the
		// case, and completing needs one.
		if r := b.upload(t, staff, caseID, "决定书.pdf", pdfBytes); r.Status != 409 {
			t.Fatalf("a result before acceptance: %+v", r)
		}
		var h struct{ HandleCase struct{ Case caseOut } }
		for _, step := range [][2]string{{"ACCEPT", ""}, {"PROCESS", ""}} {
			act(staff, step[0], step[1]).decode(t, &h)
		}
		expectCode(t, act(staff, "COMPLETE", "准予登记，证件已寄出"), models.ECodeConflict)
		if r := b.upload(t, stranger, caseID, "决定书.pdf", pdfBytes); r.Status != 404 {
			t.Fatalf("another agency uploads a result: %+v", r)
		}
		if r := b.upload(t, b.adminTicket(t), caseID, "决定书.pdf", pdfBytes); r.Status != 404 {
			t.Fatalf("an admin of no agency uploads a result: %+v", r)
		}
		result := b.upload(t, staff, caseID, "准予登记决定书.pdf", pdfBytes)
		if result.Status != 200 {
			t.Fatalf("result document: %+v", result)
		}
		act(staff, "COMPLETE", "准予登记，证件已寄出").decode(t, &h)
		c := h.HandleCase.Case
		if c.Status != "COMPLETED" || c.LastStep.Actor != "STAFF" || c.LastStep.Note != "准予登记，证件已寄出" {
			t.Fatalf("completed: %+v", c)
		}
		var mine struct {
			MyCases struct{ Edges []struct{ Node caseOut } }
		}
		b.gql(t, dave, `{ myCases(status: COMPLETED) { edges { node { id status timeline { action toStatus } materials { id } results { id name } } } } }`, nil).decode(t, &mine)
		if e := mine.MyCases.Edges; len(e) != 1 || len(e[0].Node.Timeline) != 4 || len(e[0].Node.Materials) != 0 ||
			len(e[0].Node.Results) != 1 || e[0].Node.Results[0].ID != result.ID || e[0].Node.Results[0].Name != "准予登记决定书.pdf" {
			t.Fatalf("the applicant's view: %+v", mine.MyCases)
		}
		if res, body := b.download(t, dave, result.ID); res.StatusCode != 200 || !bytes.Equal(body, pdfBytes) {
			t.Fatalf("the applicant downloads the result: %d", res.StatusCode)
		}
		for who, ticket := range map[string]string{"another user": b.register(t, person(t)).Ticket, "another agency": stranger, "an admin of no agency": b.adminTicket(t)} {
			if res, _ := b.download(t, ticket, result.ID); res.StatusCode != 404 {
				t.Fatalf("%s downloads the result: %d", who, res.StatusCode)
			}
		}
	})
}
