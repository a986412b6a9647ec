package app_test

// BenchmarkCaseStatusDelivery (issue 4, "Numbers": a status change reaches
// a subscribed websocket client within 1 s): an agency's staff member
// accepts a case over HTTP; the applicant's graphql-transport-ws
// subscription receives the message. Each iteration is timed from sending
// handleCase to the message arriving; p50, p95 and max are reported.
//
//	go test -run '^$' -bench CaseStatusDelivery -benchtime 300x ./app/
//	TEST_MYSQL_DSN=… go test -run '^$' -bench CaseStatusDelivery -benchtime 300x ./app/

import (
	"context"
	"slices"
	"testing"
	"time"
)

func BenchmarkCaseStatusDelivery(b *testing.B) {
	be, m := benchBackend(b)
	ticket := be.register(b, person(b)).Ticket
	user := userOf(b, be, ticket)
	staff := be.staffTicket(b, m.AgencyID)
	live, err := be.ws(b, ticket)
	if err != nil {
		b.Fatal(err)
	}
	live.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription { messageReceived { id targetId } }`}})
	time.Sleep(100 * time.Millisecond) // the subscription is registered
	ids := make([]string, b.N)
	for i := range ids {
		c, err := be.app.Cases.Submit(context.Background(), user, 0, m.ID, map[string][]string{
			"reason": {"首次申领"}, "contactPhone": {"13900001111"}, "delivery": {"邮寄送达"}, "copies": {"1"}}, "")
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = gid("Case", c.ID)
	}
	accept := `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if r := be.gql(b, staff, accept, map[string]any{"in": map[string]any{"caseId": ids[i], "action": "ACCEPT"}}); len(r.Errors) > 0 {
			b.Fatal(string(r.Raw))
		}
		msg, err := live.read(time.Second)
		if err != nil || msg["type"] != "next" {
			b.Fatalf("no live message within 1 s of step %d: %v %v", i, msg, err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[(len(took)*95)/100]), "p95-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}
