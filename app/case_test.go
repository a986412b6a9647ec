package app_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"

	"gorm.io/gorm"

	"govmobile/cases"
	"govmobile/models"
)

// hookReader calls hook before the first read.
type hookReader struct {
	r    io.Reader
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.hook != nil {
		h.hook()
		h.hook = nil
	}
	return h.r.Read(p)
}

// onlineMatters keeps the matters that can be applied for online.
func onlineMatters(db *gorm.DB) *gorm.DB {
	return db.Where("online_depth >= ?", models.OnlineAvailableDepth)
}

func TestCaseLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		svc := b.app.Cases
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id").First(&m).Error; err != nil {
			t.Fatal(err)
		}
		applicant := b.register(t, person(t)).Ticket
		user := userOf(t, b, applicant)
		complete := map[string][]string{"reason": {"首次申领"}, "contactPhone": {"13900001111"}, "delivery": {"邮寄送达"}, "copies": {"1"}}

		// A draft may be partial; submitting it may not.
		draft, err := svc.SaveDraft(ctx, user, 0, m.ID, map[string][]string{"reason": {"首次申领"}})
		if err != nil || draft.Status != string(cases.Draft) {
			t.Fatalf("draft: %+v %v", draft, err)
		}
		if _, err := svc.Submit(ctx, user, draft.ID, 0, nil, ""); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Fatalf("submitting an incomplete draft: %v", err)
		}
		if got, _ := svc.Mine(ctx, user, draft.ID); got.Status != string(cases.Draft) {
			t.Fatalf("a refused submission changed the draft: %s", got.Status)
		}
		if _, err := svc.SaveDraft(ctx, user, draft.ID, 0, map[string][]string{"colour": {"红"}}); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Fatalf("unknown field: %v", err)
		}
		if _, err := svc.SaveDraft(ctx, user, draft.ID, 0, complete); err != nil {
			t.Fatal(err)
		}
		c, err := svc.Submit(ctx, user, draft.ID, 0, nil, "submit-1")
		if err != nil || c.Status != string(cases.Submitted) || len(c.Number) != len("BJ2026112700000001") || c.SubmittedAt == nil {
			t.Fatalf("submit: %+v %v", c, err)
		}
		// The response was lost: the same key returns the same case.
		again, err := svc.Submit(ctx, user, draft.ID, 0, nil, "submit-1")
		if err != nil || again.ID != c.ID {
			t.Fatalf("replay: %+v %v", again, err)
		}
		if _, err := svc.SaveDraft(ctx, user, c.ID, 0, complete); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("editing a submitted case as a draft: %v", err)
		}

		// Other users and other agencies see nothing.
		other := userOf(t, b, b.register(t, person(t)).Ticket)
		if _, err := svc.Mine(ctx, other, c.ID); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("another user reads the case: %v", err)
		}
		if _, err := svc.Withdraw(ctx, other, c.ID, "", ""); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("another user withdraws the case: %v", err)
		}
		if _, err := svc.Handle(ctx, m.AgencyID+1_000_000, 1, c.ID, cases.Accept, ""); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("another agency accepts the case: %v", err)
		}

		// Ten staff accept at once: one step.
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Handle(ctx, m.AgencyID, uint64(i+1), c.ID, cases.Accept, "")
				code := "OK"
				if err != nil {
					code = models.ErrorCode(err)
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes["OK"] != 1 || codes[models.ECodeConflict] != 9 {
			t.Fatalf("ten accepts at once: %v", codes)
		}
		if _, err := svc.Withdraw(ctx, user, c.ID, "", ""); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("withdrawing an accepted case: %v", err)
		}
		if _, err := svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.RequestSupplement, ""); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Fatalf("asking for supplements without saying which: %v", err)
		}
		steps := []func() (*models.Case, error){
			func() (*models.Case, error) {
				return svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.RequestSupplement, "请补充身份证复印件")
			},
			func() (*models.Case, error) { return svc.Supply(ctx, user, c.ID, complete, "") },
			func() (*models.Case, error) { return svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Accept, "") },
			func() (*models.Case, error) { return svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Process, "") },
		}
		for i, f := range steps {
			if _, err := f(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		// Completing takes a result document from the agency's staff.
		if _, err := svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Complete, "已办结"); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("completing without a result document: %v", err)
		}
		staff := cases.Viewer{AgencyID: m.AgencyID, StaffID: 1}
		if _, err := b.app.Files.Store(ctx, cases.Viewer{AgencyID: m.AgencyID + 1_000_000, StaffID: 2}, c.ID, "结果.pdf", bytes.NewReader(pdfBytes)); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("another agency uploads a result: %v", err)
		}
		// The agency has an electronic seal: its result documents are
		// sealed as they are stored (8.3.2 b).
		ag, _ := b.app.Catalogue.Agency(ctx, m.AgencyID)
		if _, err := b.app.Seals.Create(ctx, 1, ag, ag.Name+"行政审批专用章", true); err != nil {
			t.Fatal(err)
		}
		res, err := b.app.Files.Store(ctx, staff, c.ID, "准予登记决定书.pdf", bytes.NewReader(pdfBytes))
		if err != nil || res.Kind != models.CaseFileResult || res.UserID != user || res.StaffID != 1 {
			t.Fatalf("result document: %+v %v", res, err)
		}
		if rec, err := b.app.Seals.RecordOfFile(ctx, res.ID); err != nil || rec == nil {
			t.Fatalf("the result was not sealed: %v", err)
		} else if v, err := b.app.Seals.Verify(ctx, rec.ID, res.SM3); err != nil || !v.Genuine || v.DocumentChanged || v.Cert.AgencyID != m.AgencyID {
			t.Fatalf("the result's seal: %+v %v", v, err)
		}
		if _, err := svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Complete, "已办结"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.app.Files.Store(ctx, staff, c.ID, "迟到.pdf", bytes.NewReader(pdfBytes)); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("a result after completion: %v", err)
		}
		if _, err := b.app.Files.Store(ctx, cases.Viewer{UserID: user}, c.ID, "迟到.pdf", bytes.NewReader(pdfBytes)); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("a material after completion: %v", err)
		}
		tl, err := svc.Timeline(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var path []string
		for _, e := range tl {
			path = append(path, e.ToStatus)
		}
		want := []string{"SUBMITTED", "ACCEPTED", "NEEDS_SUPPLEMENT", "SUBMITTED", "ACCEPTED", "PROCESSING", "COMPLETED"}
		if len(path) != len(want) {
			t.Fatalf("timeline %v, want %v", path, want)
		}
		for i := range want {
			if path[i] != want[i] {
				t.Fatalf("timeline %v, want %v", path, want)
			}
		}
		if _, err := svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Reject, "迟到的拒绝"); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("rejecting a completed case: %v", err)
		}

		// Submitting in one step, and withdrawing before acceptance.
		before := countRows(t, b, &models.Case{})
		if _, err := svc.Submit(ctx, user, 0, m.ID, map[string][]string{"reason": {"缺电话"}}, ""); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Fatalf("incomplete application: %v", err)
		}
		if _, err := svc.Submit(ctx, user, 0, 1<<40, complete, ""); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("unknown matter: %v", err)
		}
		if n := countRows(t, b, &models.Case{}); n != before {
			t.Fatalf("refused applications wrote %d cases", n-before)
		}
		direct, err := svc.Submit(ctx, user, 0, m.ID, complete, "")
		if err != nil {
			t.Fatal(err)
		}
		if w, err := svc.Withdraw(ctx, user, direct.ID, "不办了", "withdraw-1"); err != nil || w.Status != string(cases.Withdrawn) {
			t.Fatalf("withdraw: %+v %v", w, err)
		}
		// The response was lost: the same key answers the case, not CONFLICT;
		// the key with another reason is refused.
		if w, err := svc.Withdraw(ctx, user, direct.ID, "不办了", "withdraw-1"); err != nil || w.Status != string(cases.Withdrawn) {
			t.Fatalf("withdraw replayed: %+v %v", w, err)
		}
		if _, err := svc.Withdraw(ctx, user, direct.ID, "换个理由", "withdraw-1"); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Fatalf("withdraw key reused for another request: %v", err)
		}
		if n := countRows(t, b, &models.CaseEvent{}, "case_id = ?", direct.ID); n != 2 {
			t.Fatalf("a replayed withdrawal wrote steps: %d", n)
		}
	})
}

func TestCaseSupplyReplayAndDrafts(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		svc := b.app.Cases
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id").Offset(1).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		user := userOf(t, b, b.register(t, person(t)).Ticket)
		complete := map[string][]string{"reason": {"首次申领"}, "contactPhone": {"13900001111"}, "delivery": {"邮寄送达"}, "copies": {"1"}}
		c, err := svc.Submit(ctx, user, 0, m.ID, complete, "")
		if err != nil {
			t.Fatal(err)
		}
		// Supplying before being asked is CONFLICT, even with a bad form.
		if _, err := svc.Supply(ctx, user, c.ID, map[string][]string{"colour": {"红"}}, ""); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("supplying unasked: %v", err)
		}
		if _, err := svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Accept, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.RequestSupplement, "请补充身份证复印件"); err != nil {
			t.Fatal(err)
		}
		complete["copies"] = []string{"2"}
		for i := 0; i < 3; i++ {
			s, err := svc.Supply(ctx, user, c.ID, complete, "supply-1")
			if err != nil || s.Status != string(cases.Submitted) || s.Values["copies"] != float64(2) {
				t.Fatalf("supply %d: %+v %v", i, s, err)
			}
		}
		if n := countRows(t, b, &models.CaseEvent{}, "case_id = ? AND action = ?", c.ID, string(cases.Supply)); n != 1 {
			t.Fatalf("supply replayed wrote %d steps", n)
		}

		// Matters that cannot be applied for online take no application.
		var offline models.Matter
		if err := b.app.DB.Where("online_depth < ?", models.OnlineAvailableDepth).Order("id").First(&offline).Error; err != nil {
			t.Fatal(err)
		}
		before := countRows(t, b, &models.Case{})
		if _, err := svc.SaveDraft(ctx, user, 0, offline.ID, nil); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("a draft for an offline matter: %v", err)
		}
		if _, err := svc.Submit(ctx, user, 0, offline.ID, complete, ""); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("applying for an offline matter: %v", err)
		}

		// Drafts are bounded per user, and deleting one makes room.
		var last *models.Case
		for i := 0; i < cases.MaxDrafts; i++ {
			if last, err = svc.SaveDraft(ctx, user, 0, m.ID, nil); err != nil {
				t.Fatalf("draft %d: %v", i, err)
			}
		}
		if _, err := svc.SaveDraft(ctx, user, 0, m.ID, nil); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("draft over the limit: %v", err)
		}
		if _, err := b.app.Files.Store(ctx, cases.Viewer{UserID: user}, last.ID, "a.pdf", bytes.NewReader(pdfBytes)); err != nil {
			t.Fatal(err)
		}
		other := userOf(t, b, b.register(t, person(t)).Ticket)
		if err := svc.DeleteDraft(ctx, other, last.ID); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("another user deletes the draft: %v", err)
		}
		if err := svc.DeleteDraft(ctx, user, c.ID); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("deleting a submitted case: %v", err)
		}
		if err := svc.DeleteDraft(ctx, user, last.ID); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, b, &models.CaseFile{}, "case_id = ?", last.ID); n != 0 {
			t.Fatalf("a deleted draft left %d files", n)
		}
		if _, err := svc.Mine(ctx, user, last.ID); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("a deleted draft: %v", err)
		}
		fresh, err := svc.SaveDraft(ctx, user, 0, m.ID, nil)
		if err != nil {
			t.Fatalf("a draft after deleting one: %v", err)
		}
		// Deleting a draft ends following it; a file arriving for a draft
		// deleted meanwhile is NOT_FOUND, and nothing is kept for it.
		if _, err := b.app.Messages.Subscribe(ctx, user, models.TargetCase, fresh.ID); err != nil {
			t.Fatal(err)
		}
		body := &hookReader{r: bytes.NewReader(pdfBytes), hook: func() {
			if err := svc.DeleteDraft(ctx, user, fresh.ID); err != nil {
				t.Error(err)
			}
		}}
		if _, err := b.app.Files.Store(ctx, cases.Viewer{UserID: user}, fresh.ID, "a.pdf", body); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("a file for a draft deleted meanwhile: %v", err)
		}
		if n := countRows(t, b, &models.Subscription{}, "target = ? AND target_id = ?", models.TargetCase, fresh.ID); n != 0 {
			t.Fatalf("a deleted draft is still followed: %d", n)
		}
		if n := countRows(t, b, &models.CaseFile{}, "case_id = ?", fresh.ID); n != 0 {
			t.Fatalf("a deleted draft got %d files", n)
		}
		if _, err := svc.SaveDraft(ctx, user, 0, m.ID, nil); err != nil {
			t.Fatal(err)
		}

		// A draft whose matter stops taking online applications is kept, but
		// cannot be submitted.
		var later models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id").Offset(5).First(&later).Error; err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteDraft(ctx, user, last.ID-1); err != nil {
			t.Fatal(err)
		}
		kept, err := svc.SaveDraft(ctx, user, 0, later.ID, complete)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.app.DB.Model(&models.Matter{}).Where("id = ?", later.ID).UpdateColumn("online_depth", 1).Error; err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			b.app.DB.Model(&models.Matter{}).Where("id = ?", later.ID).UpdateColumn("online_depth", later.OnlineDepth)
		})
		if _, err := svc.Submit(ctx, user, kept.ID, 0, nil, ""); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("submitting a draft of a matter taken offline: %v", err)
		}
		if n := countRows(t, b, &models.Case{}) - before; n != cases.MaxDrafts {
			t.Fatalf("%d cases written, want %d", n, cases.MaxDrafts)
		}
	})
}
