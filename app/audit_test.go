package app_test

import (
	"strings"
	"testing"

	"govmobile/models"
)

func TestAuditLog(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		admin := b.adminTicket(t)
		create := `mutation($in: KnowledgeEntryInput!) { createKnowledgeEntry(input: $in) { entry { id } } }`
		b.gql(t, admin, create, map[string]any{"in": map[string]any{"question": "审计测试问题？", "answer": "审计测试解答。"}}).decode(t, &struct{}{})
		expectCode(t, b.gql(t, admin, create, map[string]any{"in": map[string]any{"question": " ", "answer": "答"}}), models.ECodeBadUserInput)
		// Not logged: a citizen's mutation, and an administrator's query.
		b.gql(t, b.register(t, person(t)).Ticket, `mutation { logout }`, nil)
		b.gql(t, admin, `{ evaluationStats(groupBy: AGENCY) { total } }`, nil)

		q := `query($u: String, $o: String) { auditLogs(username: $u, operation: $o, first: 10) { totalCount edges { node { username operation arguments outcome ip at } } } }`
		var out struct {
			AuditLogs struct {
				TotalCount int
				Edges      []struct {
					Node struct{ Username, Operation, Arguments, Outcome, IP, At string }
				}
			}
		}
		b.gql(t, admin, q, map[string]any{"u": "admin", "o": "createKnowledgeEntry"}).decode(t, &out)
		if out.AuditLogs.TotalCount != 2 {
			t.Fatalf("audit: %+v", out.AuditLogs)
		}
		failed, ok := out.AuditLogs.Edges[0].Node, out.AuditLogs.Edges[1].Node
		if ok.Outcome != "OK" || failed.Outcome != models.ECodeBadUserInput || !strings.Contains(ok.Arguments, "审计测试问题") ||
			ok.Username != "admin" || ok.IP == "" || ok.At == "" {
			t.Fatalf("entries: %+v", out.AuditLogs.Edges)
		}
		b.gql(t, admin, q, map[string]any{"o": "logout"}).decode(t, &out)
		if out.AuditLogs.TotalCount != 0 {
			t.Fatal("a citizen's mutation was audited")
		}
		b.gql(t, admin, q, map[string]any{"u": "nobody"}).decode(t, &out)
		if out.AuditLogs.TotalCount != 0 {
			t.Fatal("an unknown admin has entries")
		}
		// A denied mutation is recorded too.
		expectCode(t, b.gql(t, b.adminTicketOf(t, 0, false), create, map[string]any{"in": map[string]any{"question": "越权", "answer": "越权"}}), models.ECodeForbidden)
		b.gql(t, admin, q, map[string]any{"o": "createKnowledgeEntry"}).decode(t, &out)
		if out.AuditLogs.TotalCount != 3 || out.AuditLogs.Edges[0].Node.Outcome != models.ECodeForbidden {
			t.Fatalf("a denied mutation: %+v", out.AuditLogs)
		}
		expectCode(t, b.gql(t, b.staffTicket(t, 1), q, nil), models.ECodeForbidden)
		expectCode(t, b.gql(t, "", q, nil), models.ECodeUnauthenticated)
	})
}
