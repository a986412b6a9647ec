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
	"fmt"
	"strings"
	"testing"
	"time"
)

func BenchmarkCaseStatusDelivery(b *testing.B) {
	be, m := benchBackend(b)
	ticket := be.register(b, person(b)).Ticket
	user := userOf(b, be, ticket)
	staff := be.staffTicket(b, m.AgencyID)
	ws, err := be.ws(b, ticket)
	if err != nil {
		b.Fatal(err)
	}
	ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription { messageReceived { id targetId } }`}})
	// The protocol does not acknowledge a subscription: warm-up steps (the
	// last cases) run until one is delivered, which shows it is live.
	const warmups = 20
	ids := make([]string, b.N+warmups)
	for i := range ids {
		c, err := be.app.Cases.Submit(context.Background(), user, 0, m.ID, map[string][]string{
			"reason": {"首次申领"}, "contactPhone": {"13900001111"}, "delivery": {"邮寄送达"}, "copies": {"1"}}, "")
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = gid("Case", c.ID)
	}
	accept := `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`
	send := func(i int) {
		if r := be.gql(b, staff, accept, map[string]any{"in": map[string]any{"caseId": ids[i], "action": "ACCEPT"}}); len(r.Errors) > 0 {
			b.Fatal(string(r.Raw))
		}
	}
	live := ws.stream()
	live.warmUp(b, warmups, func(i int) { send(b.N + i) })
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		send(i)
		msg, ok := live.wait(time.Second)
		if !ok || msg["type"] != "next" || !strings.Contains(fmt.Sprint(msg["payload"]), ids[i]) {
			b.Fatalf("no live message about case %d within 1 s: %v", i, msg)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, took)
}
