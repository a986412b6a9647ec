package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"govmobile/models"
	"govmobile/permission"
)

// TestAnalytics (8.3.1 c, 8.3.3 c): frontends report behaviour events in
// batches (bad ones refused one by one, good ones kept), the server
// records its own (logins, searches, submissions, evaluations, app opens),
// and the console reads series, top lists and CSV within the
// administrator's region.
func TestAnalytics(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id").Offset(13).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		track := `mutation($in: TrackEventsInput!) { trackEvents(input: $in) { accepted rejected { index code message } } }`
		batch := map[string]any{"in": map[string]any{"channel": "MINI_PROGRAM", "events": []map[string]any{
			{"kind": "MATTER_VIEW", "occurredAt": now, "subjectId": gid("Matter", m.ID)},
			{"kind": "LOGIN", "occurredAt": now},
			{"kind": "PAGE_VIEW", "occurredAt": now.Add(time.Hour), "term": "首页"},
			{"kind": "TELEPORT", "occurredAt": now},
			{"kind": "PAGE_VIEW", "occurredAt": now.Add(-8 * 24 * time.Hour), "term": "首页"},
			{"kind": "MATTER_VIEW", "occurredAt": now, "subjectId": gid("Matter", m.ID)},
			{"kind": "MATTER_VIEW", "occurredAt": now, "subjectId": gid("Matter", 999999999)},
			{"kind": "MATTER_VIEW", "occurredAt": now, "subjectId": "not-an-id"},
		}}}
		var rep struct {
			TrackEvents struct {
				Accepted int
				Rejected []struct {
					Index         int
					Code, Message string
				}
			}
		}
		b.gql(t, "", track, batch).decode(t, &rep)
		codes := map[int]string{}
		for _, r := range rep.TrackEvents.Rejected {
			codes[r.Index] = r.Code
			if !hasHan(r.Message) {
				t.Errorf("rejection %d without a Chinese message: %+v", r.Index, r)
			}
		}
		if rep.TrackEvents.Accepted != 2 || codes[1] != "SERVER_ONLY_KIND" || codes[2] != "IN_FUTURE" || codes[3] != "UNKNOWN_KIND" || codes[4] != "TOO_OLD" ||
			codes[6] != "BAD_SUBJECT" || codes[7] != "BAD_SUBJECT" {
			t.Fatalf("batch: %+v", rep.TrackEvents)
		}
		expectCode(t, b.gql(t, "", track, map[string]any{"in": map[string]any{"channel": "SERVER", "events": []map[string]any{}}}), models.ECodeBadUserInput)
		many := make([]map[string]any, 101)
		for i := range many {
			many[i] = map[string]any{"kind": "PAGE_VIEW", "occurredAt": now, "term": "首页"}
		}
		expectCode(t, b.gql(t, "", track, map[string]any{"in": map[string]any{"channel": "APP", "events": many}}), models.ECodeBadUserInput)

		// The server's own events: a search that finds nothing, one that
		// finds something, a submission.
		user := b.register(t, person(t)).Ticket
		term := "查无此项" + strings.Repeat("喵", 3)
		b.gql(t, user, `query($q: String!) { search(query: $q) { totalCount } }`, map[string]any{"q": term}).decode(t, &struct{}{})
		b.gql(t, user, `query($q: String!) { search(query: $q) { totalCount } }`, map[string]any{"q": m.Name}).decode(t, &struct{}{})
		// A retried submission (same key) is one submission.
		for range 2 {
			b.gql(t, user, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
				map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm, "idempotencyKey": "analytics-" + b.name + "-once"}}).decode(t, &struct{}{})
		}

		// The writer batches off the request path; wait for it, then roll up.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int64
			b.app.DB.Model(&models.Event{}).Where("kind = ? AND term = ?", models.EventSearchNoResult, term).Count(&n)
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the no-result search never reached the events table")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // the rest of the writer's batch
		if _, err := b.app.Analytics.Rollup(context.Background(), now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		var submits int64
		b.app.DB.Model(&models.Event{}).Where("kind = ? AND subject_id = ? AND region_code = ?", models.EventSubmitCase, m.ID, m.RegionCode).Count(&submits)
		if submits != 1 {
			t.Fatalf("submission events with the matter's region: %d", submits)
		}

		stats := b.scopedAdmin(t, "", 0, permission.ReadStatistics)
		from, to := now.Add(-48*time.Hour), now.Add(48*time.Hour)
		vars := map[string]any{"from": from, "to": to}
		var top struct {
			AnalyticsTop []struct {
				SubjectID *string
				Name      string
				Count     int
			}
		}
		b.gql(t, stats, `query($from: Time!, $to: Time!) { analyticsTop(list: NO_RESULT_TERMS, from: $from, to: $to, first: 100) { subjectId name count } }`, vars).decode(t, &top)
		found := false
		for _, r := range top.AnalyticsTop {
			found = found || (r.Name == term && r.Count >= 1 && r.SubjectID == nil)
		}
		if !found {
			t.Fatalf("no-result terms: %+v", top.AnalyticsTop)
		}
		b.gql(t, stats, `query($from: Time!, $to: Time!) { analyticsTop(list: TOP_MATTERS, from: $from, to: $to, first: 100) { subjectId name count } }`, vars).decode(t, &top)
		found = false
		for _, r := range top.AnalyticsTop {
			found = found || (r.SubjectID != nil && *r.SubjectID == gid("Matter", m.ID) && r.Name == m.Name && r.Count >= 2)
		}
		if !found {
			t.Fatalf("top matters: %+v", top.AnalyticsTop)
		}
		var series struct {
			AnalyticsSeries []struct {
				Start time.Time
				Value float64
			}
		}
		b.gql(t, stats, `query($from: Time!, $to: Time!) { analyticsSeries(metric: SUBMISSIONS, from: $from, to: $to) { start value } }`, vars).decode(t, &series)
		total := 0.0
		for _, p := range series.AnalyticsSeries {
			total += p.Value
		}
		if len(series.AnalyticsSeries) < 4 || total < 1 {
			t.Fatalf("submissions by day: %+v", series.AnalyticsSeries)
		}
		var csv struct{ AnalyticsTopCsv string }
		b.gql(t, stats, `query($from: Time!, $to: Time!) { analyticsTopCsv(list: NO_RESULT_TERMS, from: $from, to: $to) }`, vars).decode(t, &csv)
		if !strings.HasPrefix(csv.AnalyticsTopCsv, "\ufeff") || !strings.Contains(csv.AnalyticsTopCsv, term) {
			t.Fatalf("csv: %q", csv.AnalyticsTopCsv)
		}

		// Limits and scope.
		expectCode(t, b.gql(t, stats, `query($from: Time!, $to: Time!) { analyticsSeries(metric: SEARCHES, granularity: HOUR, from: $from, to: $to) { value } }`,
			map[string]any{"from": now.Add(-40 * 24 * time.Hour), "to": now}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, stats, `query($from: Time!, $to: Time!) { analyticsTop(list: TOP_APPS, from: $from, to: $to, first: 1000) { count } }`, vars), models.ECodeBadUserInput)
		regional := b.scopedAdmin(t, "310000", 0, permission.ReadStatistics)
		expectCode(t, b.gql(t, regional, `query($from: Time!, $to: Time!) { analyticsSeries(metric: SEARCHES, from: $from, to: $to, filter: {regionCode: "110000"}) { value } }`, vars), models.ECodeForbidden)
		expectCode(t, b.gql(t, user, `query($from: Time!, $to: Time!) { analyticsSeries(metric: SEARCHES, from: $from, to: $to) { value } }`, vars), models.ECodeUnauthenticated)
	})
}
