package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"govmobile/cases"
	"govmobile/evaluation"
	"govmobile/models"
)

// finishedCase submits a case for the ticket's user and has the matter's
// agency complete it; it returns the case's global ID.
func finishedCase(t *testing.T, b *backend, ticket string, m models.Matter) string {
	t.Helper()
	ctx := context.Background()
	user := userOf(t, b, ticket)
	c, err := b.app.Cases.Submit(ctx, user, 0, m.ID, map[string][]string{
		"reason": {"首次申领"}, "contactPhone": {"13900001111"}, "delivery": {"邮寄送达"}, "copies": {"1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []cases.Action{cases.Accept, cases.Process} {
		if _, err := b.app.Cases.Handle(ctx, m.AgencyID, 1, c.ID, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.app.Files.Store(ctx, cases.Viewer{AgencyID: m.AgencyID, StaffID: 1}, c.ID, "结果.pdf", bytes.NewReader(pdfBytes)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.app.Cases.Handle(ctx, m.AgencyID, 1, c.ID, cases.Complete, "已办结"); err != nil {
		t.Fatal(err)
	}
	return gid("Case", c.ID)
}

type evaluationOut struct {
	ID, Level, LevelName, Comment string
	Tags                          []string
	Round                         int
	Current                       bool
	Rectification                 *rectificationOut
}

type rectificationOut struct {
	ID, Status, Deadline, Reply string
	Overdue                     bool
}

const evaluateCase = `mutation($in: EvaluateCaseInput!) { evaluateCase(input: $in) { evaluation {
  id level levelName comment tags round current rectification { id status deadline reply overdue } } } }`

func (b *backend) evaluate(t *testing.T, ticket, caseID string, ev map[string]any) (*evaluationOut, *gqlResponse) {
	t.Helper()
	r := b.gql(t, ticket, evaluateCase, map[string]any{"in": map[string]any{"caseId": caseID, "evaluation": ev}})
	if len(r.Errors) > 0 {
		return nil, r
	}
	var out struct {
		EvaluateCase struct{ Evaluation evaluationOut }
	}
	r.decode(t, &out)
	return &out.EvaluateCase.Evaluation, r
}

func (b *backend) rectificationStep(t *testing.T, ticket, mutation string, in map[string]any) (*rectificationOut, *gqlResponse) {
	t.Helper()
	r := b.gql(t, ticket, `mutation($in: `+mutationInput[mutation]+`!) { `+mutation+`(input: $in) { rectification { id status reply overdue } } }`, map[string]any{"in": in})
	if len(r.Errors) > 0 {
		return nil, r
	}
	var out map[string]struct{ Rectification rectificationOut }
	r.decode(t, &out)
	rec := out[mutation].Rectification
	return &rec, r
}

var mutationInput = map[string]string{"rectify": "RectifyInput", "appealEvaluation": "AppealEvaluationInput", "reviewEvaluationAppeal": "ReviewAppealInput"}

func TestEvaluationsAndRectification(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id").Offset(7).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		ivy := b.register(t, person(t)).Ticket
		// Not before the case is finished; not another's case.
		user := userOf(t, b, ivy)
		open, err := b.app.Cases.Submit(context.Background(), user, 0, m.ID, map[string][]string{
			"reason": {"首次申领"}, "contactPhone": {"13900001111"}, "delivery": {"邮寄送达"}, "copies": {"1"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		good := map[string]any{"level": "SATISFIED", "tags": []string{"办事快"}}
		_, r := b.evaluate(t, ivy, gid("Case", open.ID), good)
		expectCode(t, r, models.ECodeConflict)
		caseID := finishedCase(t, b, ivy, m)
		_, r = b.evaluate(t, b.register(t, person(t)).Ticket, caseID, good)
		expectCode(t, r, models.ECodeNotFound)
		_, r = b.evaluate(t, "", caseID, good)
		expectCode(t, r, models.ECodeUnauthenticated)

		// Bad input writes nothing.
		before := countRows(t, b, &models.Evaluation{})
		for name, ev := range map[string]map[string]any{
			"unknown level":         {"level": "GOOD"},
			"bad rating, no reason": {"level": "VERY_DISSATISFIED", "comment": "  "},
			"comment too long":      {"level": "SATISFIED", "comment": strings.Repeat("好", 501)},
			"too many tags":         {"level": "SATISFIED", "tags": strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")},
			"tag too long":          {"level": "SATISFIED", "tags": []string{strings.Repeat("快", 21)}},
			"empty tag":             {"level": "SATISFIED", "tags": []string{" "}},
			"control characters":    {"level": "SATISFIED", "comment": "好\x00"},
		} {
			_, r := b.evaluate(t, ivy, caseID, ev)
			if len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != models.ECodeBadUserInput {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		if n := countRows(t, b, &models.Evaluation{}); n != before {
			t.Fatalf("refused ratings wrote %d rows", n-before)
		}

		// A bad rating opens a rectification, due in 15 working days.
		bad := map[string]any{"level": "VERY_DISSATISFIED", "tags": []string{"等待时间长", "等待时间长", "态度差"}, "comment": "窗口排队两小时", "idempotencyKey": "ev-1"}
		e, r := b.evaluate(t, ivy, caseID, bad)
		if e == nil || e.Round != 1 || !e.Current || e.LevelName != "非常不满意" || len(e.Tags) != 2 || e.Rectification == nil || e.Rectification.Status != "OPEN" {
			t.Fatalf("bad rating: %s", r.Raw)
		}
		deadline, _ := time.Parse(time.RFC3339, e.Rectification.Deadline)
		if want := evaluation.AddWorkingDays(time.Now(), 15); deadline.Sub(want).Abs() > time.Minute || deadline.Sub(time.Now()) < 19*24*time.Hour {
			t.Fatalf("deadline %v, want about %v", deadline, want)
		}
		if again, _ := b.evaluate(t, ivy, caseID, bad); again == nil || again.ID != e.ID {
			t.Fatal("a replayed rating made another")
		}
		_, r = b.evaluate(t, ivy, caseID, good)
		expectCode(t, r, models.ECodeConflict)

		// Only the case agency's staff rectify, once, with measures and a reply.
		staff, stranger := b.staffTicket(t, m.AgencyID), b.staffTicket(t, m.AgencyID+1_000_000)
		rect := e.Rectification.ID
		_, r = b.rectificationStep(t, stranger, "rectify", map[string]any{"rectificationId": rect, "measures": "增开窗口", "reply": "抱歉"})
		expectCode(t, r, models.ECodeNotFound)
		_, r = b.rectificationStep(t, staff, "rectify", map[string]any{"rectificationId": rect, "measures": " ", "reply": "抱歉"})
		expectCode(t, r, models.ECodeBadUserInput)
		var list struct {
			Rectifications struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						ID         string
						Evaluation struct {
							Comment  string
							TargetID *string
						}
					}
				}
			}
		}
		b.gql(t, staff, `{ rectifications(status: OPEN) { totalCount edges { node { id evaluation { comment targetId } } } } }`, nil).decode(t, &list)
		if list.Rectifications.TotalCount != 1 || list.Rectifications.Edges[0].Node.Evaluation.Comment != "窗口排队两小时" ||
			list.Rectifications.Edges[0].Node.Evaluation.TargetID != nil {
			t.Fatalf("the agency's open rectifications (the case must not show): %+v", list)
		}
		b.gql(t, stranger, `{ rectifications { totalCount edges { node { id evaluation { comment } } } } }`, nil).decode(t, &list)
		if list.Rectifications.TotalCount != 0 {
			t.Fatal("another agency sees the rectification")
		}
		done, r := b.rectificationStep(t, staff, "rectify", map[string]any{"rectificationId": rect, "measures": "高峰期增开两个窗口", "reply": "已增开窗口，欢迎再来办理"})
		if done == nil || done.Status != "RECTIFIED" || done.Reply != "已增开窗口，欢迎再来办理" {
			t.Fatalf("rectified: %s", r.Raw)
		}
		_, r = b.rectificationStep(t, staff, "appealEvaluation", map[string]any{"rectificationId": rect, "reason": "恶意"})
		expectCode(t, r, models.ECodeConflict)
		var msgs struct {
			MyMessages struct {
				Edges []struct {
					Node struct{ Title, Target, TargetID string }
				}
			}
		}
		b.gql(t, ivy, `{ myMessages(first: 5) { edges { node { title target targetId } } } }`, nil).decode(t, &msgs)
		if len(msgs.MyMessages.Edges) == 0 || msgs.MyMessages.Edges[0].Node.Target != "EVALUATION" || msgs.MyMessages.Edges[0].Node.TargetID != e.ID {
			t.Fatalf("the citizen is not told: %+v", msgs)
		}

		// The citizen rates again, once; only the new rating counts.
		e2, r := b.evaluate(t, ivy, caseID, map[string]any{"level": "SATISFIED", "comment": "改进明显"})
		if e2 == nil || e2.Round != 2 || !e2.Current || e2.Rectification != nil {
			t.Fatalf("second rating: %s", r.Raw)
		}
		_, r = b.evaluate(t, ivy, caseID, good)
		expectCode(t, r, models.ECodeConflict)
		var mine struct {
			MyEvaluations struct {
				TotalCount int
				Edges      []struct{ Node evaluationOut }
			}
		}
		b.gql(t, ivy, `{ myEvaluations { totalCount edges { node { id round current rectification { status } } } } }`, nil).decode(t, &mine)
		if mine.MyEvaluations.TotalCount != 2 || mine.MyEvaluations.Edges[1].Node.Current || mine.MyEvaluations.Edges[1].Node.Rectification.Status != "CLOSED" {
			t.Fatalf("my evaluations: %+v", mine)
		}

		// A malicious rating: the agency appeals, the platform upholds it, and
		// the rating stops counting.
		other := b.register(t, person(t)).Ticket
		c2 := finishedCase(t, b, other, m)
		e3, _ := b.evaluate(t, other, c2, map[string]any{"level": "DISSATISFIED", "comment": "就是不满意"})
		_, r = b.rectificationStep(t, staff, "appealEvaluation", map[string]any{"rectificationId": e3.Rectification.ID, "reason": " "})
		expectCode(t, r, models.ECodeBadUserInput)
		ap, r := b.rectificationStep(t, staff, "appealEvaluation", map[string]any{"rectificationId": e3.Rectification.ID, "reason": "评价与办理无关，系恶意差评"})
		if ap == nil || ap.Status != "APPEALED" {
			t.Fatalf("appeal: %s", r.Raw)
		}
		review := map[string]any{"rectificationId": e3.Rectification.ID, "uphold": true, "note": "经核实属恶意差评"}
		_, r = b.rectificationStep(t, staff, "reviewEvaluationAppeal", review)
		expectCode(t, r, models.ECodeForbidden)
		admin := b.adminTicket(t)
		var appeals struct{ EvaluationAppeals struct{ TotalCount int } }
		b.gql(t, admin, `{ evaluationAppeals { totalCount } }`, nil).decode(t, &appeals)
		if appeals.EvaluationAppeals.TotalCount != 1 {
			t.Fatalf("appeals to review: %+v", appeals)
		}
		if v, r := b.rectificationStep(t, admin, "reviewEvaluationAppeal", review); v == nil || v.Status != "VOIDED" {
			t.Fatalf("upheld: %s", r.Raw)
		}

		// An agency appeals once: after a rejected appeal it must rectify.
		mo := b.register(t, person(t)).Ticket
		c3 := finishedCase(t, b, mo, m)
		e4, _ := b.evaluate(t, mo, c3, map[string]any{"level": "DISSATISFIED", "comment": "材料被退回两次"})
		appeal := map[string]any{"rectificationId": e4.Rectification.ID, "reason": "材料确有问题"}
		b.rectificationStep(t, staff, "appealEvaluation", appeal)
		if v, r := b.rectificationStep(t, admin, "reviewEvaluationAppeal", map[string]any{"rectificationId": e4.Rectification.ID, "uphold": false, "note": "申诉理由不足"}); v == nil || v.Status != "OPEN" {
			t.Fatalf("rejected appeal: %s", r.Raw)
		}
		_, r = b.rectificationStep(t, staff, "appealEvaluation", appeal)
		expectCode(t, r, models.ECodeConflict)

		// Statistics: the agency has Ivy's current SATISFIED and the
		// DISSATISFIED whose appeal failed; the voided rating and Ivy's first
		// do not count.
		var stats struct {
			EvaluationStats []struct {
				Key, Name                      string
				Total, Satisfied, Dissatisfied int
				VeryDissatisfied               int
				SatisfactionRate               float64
			}
		}
		b.gql(t, admin, `query($g: EvaluationGroupBy!) { evaluationStats(groupBy: $g) { key name total satisfied dissatisfied veryDissatisfied satisfactionRate } }`,
			map[string]any{"g": "AGENCY"}).decode(t, &stats)
		found := false
		for _, s := range stats.EvaluationStats {
			if s.Key == gid("Agency", m.AgencyID) {
				found = true
				if s.Total != 2 || s.Satisfied != 1 || s.Dissatisfied != 1 || s.VeryDissatisfied != 0 || s.SatisfactionRate != 0.5 || s.Name == "" {
					t.Fatalf("the agency's statistics: %+v", s)
				}
			}
		}
		if !found {
			t.Fatalf("no statistics for the agency: %+v", stats)
		}
		expectCode(t, b.gql(t, ivy, `{ evaluationStats(groupBy: MATTER) { total } }`, nil), models.ECodeUnauthenticated)
		expectCode(t, b.gql(t, admin, `{ evaluationStats(groupBy: REGION, regionCode: "999999") { total } }`, nil), models.ECodeBadUserInput)
	})
}

func TestEvaluateApps(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var app models.App
		if err := b.app.DB.Where("online = ?", true).Order("id").First(&app).Error; err != nil {
			t.Fatal(err)
		}
		q := `mutation($in: EvaluateAppInput!) { evaluateApp(input: $in) { evaluation { id round rectification { id status } } } }`
		jo := b.register(t, person(t)).Ticket
		var out struct {
			EvaluateApp struct {
				Evaluation struct {
					ID            string
					Rectification *struct{ ID, Status string }
				}
			}
		}
		b.gql(t, jo, q, map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "evaluation": map[string]any{"level": "DISSATISFIED", "comment": "经常打不开"}}}).decode(t, &out)
		rec := out.EvaluateApp.Evaluation.Rectification
		if rec == nil || rec.Status != "OPEN" {
			t.Fatalf("app rating: %+v", out)
		}
		expectCode(t, b.gql(t, jo, q, map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "evaluation": map[string]any{"level": "SATISFIED"}}}), models.ECodeConflict)
		expectCode(t, b.gql(t, jo, q, map[string]any{"in": map[string]any{"appId": gid("App", 1<<40), "evaluation": map[string]any{"level": "SATISFIED"}}}), models.ECodeNotFound)
		// An app's rectification is the platform's, not an agency's.
		in := map[string]any{"rectificationId": rec.ID, "measures": "扩容服务器", "reply": "已修复"}
		_, r := b.rectificationStep(t, b.staffTicket(t, 1), "rectify", in)
		expectCode(t, r, models.ECodeNotFound)
		// A platform admin who appeals an app's rating does not review the
		// appeal; another does.
		other := b.register(t, person(t)).Ticket
		b.gql(t, other, q, map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "evaluation": map[string]any{"level": "VERY_DISSATISFIED", "comment": "垃圾"}}}).decode(t, &out)
		first, second := b.adminTicketOf(t, 0, true), b.adminTicketOf(t, 0, true)
		appealed := out.EvaluateApp.Evaluation.Rectification.ID
		b.rectificationStep(t, first, "appealEvaluation", map[string]any{"rectificationId": appealed, "reason": "与应用无关的辱骂"})
		review := map[string]any{"rectificationId": appealed, "uphold": true, "note": "属实"}
		_, r = b.rectificationStep(t, first, "reviewEvaluationAppeal", review)
		expectCode(t, r, models.ECodeForbidden)
		if v, r := b.rectificationStep(t, second, "reviewEvaluationAppeal", review); v == nil || v.Status != "VOIDED" {
			t.Fatalf("another admin reviews: %s", r.Raw)
		}
		if v, r := b.rectificationStep(t, b.adminTicket(t), "rectify", in); v == nil || v.Status != "RECTIFIED" {
			t.Fatalf("platform rectifies: %s", r.Raw)
		}
	})
}

func TestAddWorkingDays(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	friday := time.Date(2026, 11, 27, 10, 0, 0, 0, cst)
	for n, want := range map[int]time.Time{
		1:  time.Date(2026, 11, 30, 10, 0, 0, 0, cst), // Monday
		5:  time.Date(2026, 12, 4, 10, 0, 0, 0, cst),
		15: time.Date(2026, 12, 18, 10, 0, 0, 0, cst),
	} {
		if got := evaluation.AddWorkingDays(friday, n); !got.Equal(want) {
			t.Errorf("%d working days after Friday: %v, want %v", n, got, want)
		}
	}
}
