package app_test

import (
	"testing"

	"govmobile/models"
)

// TestTimeScalarNamesTheField: a time that is not RFC 3339 is the client's
// error (BAD_USER_INPUT, a Chinese sentence) and names the argument or
// input field at fault in extensions.field, written inline or sent as a
// variable.
func TestTimeScalarNamesTheField(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		admin := b.adminTicket(t)
		citizen := b.register(t, person(t)).Ticket
		cases := []struct {
			name, ticket, query string
			vars                map[string]any
			field               string
		}{
			{"argument inline", admin, `{ analyticsSeries(metric: ACTIVE_USERS, from: "2026-13-40T00:00:00Z", to: "2026-11-27T00:00:00Z") { value } }`, nil, "from"},
			{"argument variable", admin, `query($to: Time!) { analyticsSeries(metric: ACTIVE_USERS, from: "2026-11-01T00:00:00Z", to: $to) { value } }`,
				map[string]any{"to": ""}, "to"},
			{"input field", citizen, `mutation($in: TrackEventsInput!) { trackEvents(input: $in) { accepted } }`,
				map[string]any{"in": map[string]any{"channel": "APP", "events": []map[string]any{{"kind": "PAGE_VIEW", "term": "首页", "occurredAt": "昨天"}}}}, "occurredAt"},
		}
		for _, c := range cases {
			r := b.gql(t, c.ticket, c.query, c.vars)
			if r.code() != models.ECodeBadUserInput || len(r.Errors) == 0 {
				t.Fatalf("%s: %s", c.name, r.Raw)
			}
			e := r.Errors[0]
			if got, _ := e.Extensions["field"].(string); got != c.field || !hasHan(e.Message) {
				t.Fatalf("%s: field %q, message %q (want field %q and a Chinese message): %s", c.name, got, e.Message, c.field, r.Raw)
			}
		}
	})
}
