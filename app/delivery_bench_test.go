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
	"slices"
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
	// Reads run in their own goroutine: a read that times out closes the
	// websocket, so waiting with a deadline is done on the channel.
	msgs := make(chan map[string]any, 64)
	go func() {
		defer close(msgs)
		for {
			m, err := ws.read(time.Minute)
			if err != nil {
				return
			}
			msgs <- m
		}
	}()
	wait := func(d time.Duration) (map[string]any, bool) {
		select {
		case m, ok := <-msgs:
			return m, ok
		case <-time.After(d):
			return nil, false
		}
	}
	live := false
	for i := b.N; i < len(ids) && !live; i++ {
		send(i)
		_, live = wait(500 * time.Millisecond)
	}
	if !live {
		b.Fatal("the subscription never received a message")
	}
	for { // a late warm-up message must not be taken for a timed one
		if _, ok := wait(100 * time.Millisecond); !ok {
			break
		}
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		send(i)
		msg, ok := wait(time.Second)
		if !ok || msg["type"] != "next" || !strings.Contains(fmt.Sprint(msg["payload"]), ids[i]) {
			b.Fatalf("no live message about case %d within 1 s: %v", i, msg)
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
