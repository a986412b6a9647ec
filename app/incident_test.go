package app_test

import (
	"testing"
	"time"

	"govmobile/models"
	"govmobile/permission"
)

type incidentOut struct {
	ID, Title, Kind, Severity, Status string
	Owner                             *string
	Runbook                           *struct{ Title, URL string }
	Alert                             *struct{ ID string }
	Timeline                          []struct{ Action, ToStatus, Note, By string }
}

const incidentFields = `id title kind severity status owner runbook { title url } alert { id } timeline { action toStatus note by }`

// TestIncidents (8.6): incidents opened by hand or from an alert (once per
// alert), owned, moved through their statuses with every step on the
// timeline, and linked to their kind's runbook.
func TestIncidents(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ops := b.scopedAdmin(t, "", 0, permission.ManageIncidents)
		var names []string // the administrator just made
		if err := b.app.DB.Model(&models.Admin{}).Order("id DESC").Limit(1).Pluck("username", &names).Error; err != nil || len(names) != 1 {
			t.Fatal(err)
		}
		opsName := names[0]
		stranger := b.scopedAdmin(t, "", 0, permission.ReadStatistics)

		setRunbook := `mutation($in: SetRunbookInput!) { setRunbook(input: $in) { kind title url } }`
		expectCode(t, b.gql(t, ops, setRunbook, map[string]any{"in": map[string]any{"kind": "INTERFACE_FAILED", "title": "接口故障", "url": "javascript:alert(1)"}}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, ops, setRunbook, map[string]any{"in": map[string]any{"kind": "NOPE", "title": "接口故障", "url": "https://ops.example.gov.cn/x"}}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, stranger, setRunbook, map[string]any{"in": map[string]any{"kind": "INTERFACE_FAILED", "title": "接口故障", "url": "https://ops.example.gov.cn/x"}}), models.ECodeForbidden)
		b.gql(t, ops, setRunbook, map[string]any{"in": map[string]any{"kind": "INTERFACE_FAILED", "title": "接口故障处置手册",
			"url": "https://ops.example.gov.cn/runbooks/interface-failed"}}).decode(t, &struct{}{})

		open := `mutation($in: OpenIncidentInput!) { openIncident(input: $in) { ` + incidentFields + ` } }`
		expectCode(t, b.gql(t, ops, open, map[string]any{"in": map[string]any{"title": "", "kind": "DATABASE", "severity": "MAJOR"}}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, ops, open, map[string]any{"in": map[string]any{"title": "数据库主库切换", "kind": "DATABASE", "severity": "HUGE"}}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, ops, open, map[string]any{"in": map[string]any{"title": "数据库主库切换", "kind": "DATABASE", "severity": "MAJOR", "owner": "nobody-here"}}), models.ECodeBadUserInput)
		var opened struct{ OpenIncident incidentOut }
		b.gql(t, ops, open, map[string]any{"in": map[string]any{"title": "数据库主库切换", "kind": "DATABASE", "severity": "MAJOR",
			"summary": "主库磁盘告警，计划切换。", "owner": opsName}}).decode(t, &opened)
		inc := opened.OpenIncident
		if inc.Status != "OPEN" || inc.Owner == nil || *inc.Owner != opsName || len(inc.Timeline) != 1 || inc.Runbook != nil {
			t.Fatalf("opened: %+v", inc)
		}

		act := `mutation($in: IncidentActionInput!) { actOnIncident(input: $in) { ` + incidentFields + ` } }`
		step := func(action, note string) *gqlResponse {
			in := map[string]any{"incidentId": inc.ID, "action": action}
			if note != "" {
				in["note"] = note
			}
			return b.gql(t, ops, act, map[string]any{"in": in})
		}
		var moved struct{ ActOnIncident incidentOut }
		step("INVESTIGATE", "").decode(t, &moved)
		expectCode(t, step("RESOLVE", ""), models.ECodeBadUserInput)
		expectCode(t, step("REOPEN", "x"), models.ECodeConflict)
		step("RESOLVE", "已切换到备库，磁盘已扩容。").decode(t, &moved)
		expectCode(t, step("MITIGATE", "x"), models.ECodeConflict)
		step("COMMENT", "复盘安排在周五。").decode(t, &moved)
		step("REOPEN", "切换后仍有慢查询。").decode(t, &moved)
		got := moved.ActOnIncident
		if got.Status != "OPEN" || len(got.Timeline) != 5 || got.Timeline[2].ToStatus != "RESOLVED" || got.Timeline[3].Action != "COMMENT" ||
			got.Timeline[4].By != opsName {
			t.Fatalf("timeline: %+v", got)
		}

		// From an interface alert: its kind, its runbook; only once.
		now := time.Now().UTC()
		alert := models.InterfaceAlert{InterfaceID: 1, Kind: "FAILED", Status: "OPEN", Message: "连续2次调用失败", Count: 2, FirstAt: now, LastAt: now}
		if err := b.app.DB.Create(&alert).Error; err != nil {
			t.Fatal(err)
		}
		fromAlert := map[string]any{"in": map[string]any{"title": "社保查询接口不可用", "severity": "CRITICAL", "alertId": gid("InterfaceAlert", alert.ID)}}
		b.gql(t, ops, open, fromAlert).decode(t, &opened)
		if o := opened.OpenIncident; o.Kind != "INTERFACE_FAILED" || o.Runbook == nil || o.Runbook.URL != "https://ops.example.gov.cn/runbooks/interface-failed" || o.Alert == nil {
			t.Fatalf("from an alert: %+v", o)
		}
		expectCode(t, b.gql(t, ops, open, fromAlert), models.ECodeConflict)

		var list struct {
			Incidents struct{ TotalCount int }
		}
		b.gql(t, ops, `{ incidents(status: OPEN) { totalCount } }`, nil).decode(t, &list)
		if list.Incidents.TotalCount < 2 {
			t.Fatalf("open incidents: %+v", list)
		}
		expectCode(t, b.gql(t, stranger, `{ incidents { totalCount } }`, nil), models.ECodeForbidden)
		regional := b.scopedAdmin(t, "330000", 0, permission.ManageIncidents)
		expectCode(t, b.gql(t, regional, `{ incidents { totalCount } }`, nil), models.ECodeForbidden)
		expectCode(t, b.gql(t, regional, open, fromAlert), models.ECodeForbidden)
		expectCode(t, b.gql(t, ops, `mutation($in: AssignIncidentInput!) { assignIncident(input: $in) { owner } }`,
			map[string]any{"in": map[string]any{"incidentId": inc.ID, "owner": "nobody-here"}}), models.ECodeBadUserInput)
	})
}
