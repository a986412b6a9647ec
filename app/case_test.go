package app_test

import (
	"context"
	"sync"
	"testing"

	"govmobile/cases"
	"govmobile/models"
)

func TestCaseLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		svc := b.app.Cases
		var m models.Matter
		if err := b.app.DB.Order("id").First(&m).Error; err != nil {
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
		if _, err := svc.Withdraw(ctx, other, c.ID, ""); models.ErrorCode(err) != models.ECodeNotFound {
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
		if _, err := svc.Withdraw(ctx, user, c.ID, ""); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("withdrawing an accepted case: %v", err)
		}
		if _, err := svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.RequestSupplement, ""); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Fatalf("asking for supplements without saying which: %v", err)
		}
		steps := []func() (*models.Case, error){
			func() (*models.Case, error) {
				return svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.RequestSupplement, "请补充身份证复印件")
			},
			func() (*models.Case, error) { return svc.Supply(ctx, user, c.ID, complete) },
			func() (*models.Case, error) { return svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Accept, "") },
			func() (*models.Case, error) { return svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Process, "") },
			func() (*models.Case, error) { return svc.Handle(ctx, m.AgencyID, 1, c.ID, cases.Complete, "已办结") },
		}
		for i, f := range steps {
			if _, err := f(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
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
		if w, err := svc.Withdraw(ctx, user, direct.ID, "不办了"); err != nil || w.Status != string(cases.Withdrawn) {
			t.Fatalf("withdraw: %+v %v", w, err)
		}
	})
}
