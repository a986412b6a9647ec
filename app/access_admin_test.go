package app_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"govmobile/gm"
	"govmobile/models"
	"govmobile/permission"
)

// adminAccessEntries classifies the fields and Node types of the
// administration areas (see accessmatrix_test.go). The objects are those of
// matrixRegion (杭州市): a matter of the demo catalogue there and its
// department, another department of the same city, and apps, interfaces,
// filings, seals and orders made for them. Where a department's staff act
// (cases, consultations, rectifications, licences, seals, fees, apps of a
// department), an administrator of another department of the same region
// is an intruder too.
func adminAccessEntries() (fields, nodes map[string]accessEntry) {
	fields, nodes = map[string]accessEntry{}, map[string]accessEntry{}
	for _, part := range []map[string]accessEntry{amAnalytics(), amAdmins(), amApps(), amInterfaces(), amCases(),
		amService(), amEvaluations(), amFilings(), amIncidents(), amLicensesAndSeals(), amPayments()} {
		for k, v := range part {
			if _, dup := fields[k]; dup {
				panic("admin access entry twice: " + k)
			}
			fields[k] = v
		}
	}
	return fields, nodes
}

// ---- analytics ----

func amAnalytics() map[string]accessEntry {
	// A regional console's statistics, narrowed to one matter of the
	// region: another region's administrator does not name it.
	probe := func(query string) func(t *testing.T, w *accessWorld) accessProbe {
		return func(t *testing.T, w *accessWorld) accessProbe {
			vars := map[string]any{"from": time.Now().Add(-48 * time.Hour).UTC(), "to": time.Now().Add(time.Hour).UTC()}
			if strings.Contains(query, "$m") {
				vars["m"] = gid("Matter", amSceneOf(t, w.b).matter.ID)
			}
			return accessProbe{query: query, owner: w.admin(t, matrixRegion), vars: vars}
		}
	}
	return map[string]accessEntry{
		"Query.analyticsSeries": {class: accessAdmin, probe: probe(
			`query($m: ID!, $from: Time!, $to: Time!) { analyticsSeries(metric: SUBMISSIONS, from: $from, to: $to, filter: {subjectId: $m}) { start value } }`)},
		"Query.analyticsSeriesCsv": {class: accessAdmin, probe: probe(
			`query($m: ID!, $from: Time!, $to: Time!) { analyticsSeriesCsv(metric: SUBMISSIONS, from: $from, to: $to, filter: {subjectId: $m}) }`)},
		// A top list takes no subject (BAD_USER_INPUT for anyone); the
		// region it is narrowed to is the object here.
		"Query.analyticsTop": {class: accessAdmin, probe: probe(
			`query($from: Time!, $to: Time!) { analyticsTop(list: TOP_MATTERS, from: $from, to: $to, filter: {regionCode: "` + matrixRegion + `"}) { name count } }`)},
		"Query.analyticsTopCsv": {class: accessAdmin, probe: probe(
			`query($from: Time!, $to: Time!) { analyticsTopCsv(list: TOP_MATTERS, from: $from, to: $to, filter: {regionCode: "` + matrixRegion + `"}) }`)},
	}
}

// ---- administrators and roles ----

func amAdmins() map[string]accessEntry {
	return map[string]accessEntry{
		"Mutation.updateRole": {class: accessGated,
			why: "roles are named sets of permissions shared by the whole platform's administrators; a role has no region (only the super-admin writes them)",
			probe: func(t *testing.T, w *accessWorld) accessProbe {
				owner := w.b.adminTicket(t)
				name := fmt.Sprintf("矩阵角色%d", seq.Add(1))
				id := amGet(t, w, owner, `mutation($in: RoleInput!) { createRole(input: $in) { role { id } } }`,
					map[string]any{"in": map[string]any{"name": name, "permissions": []string{permission.CustomerService}}}, "createRole", "role", "id")
				return accessProbe{owner: owner, query: `mutation($in: UpdateRoleInput!) { updateRole(input: $in) { role { id } } }`,
					vars:      map[string]any{"in": map[string]any{"roleId": id, "role": map[string]any{"name": name, "permissions": []string{permission.CustomerService}}}},
					intruders: map[string]string{"anonymous": "", "a citizen": w.other.Ticket, "a nationwide administrator holding every permission": w.admin(t, "")}}
			}},
		// The ID is the department the new account belongs to.
		"Mutation.createAdmin": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			return accessProbe{owner: w.admin(t, matrixRegion), query: `mutation($in: CreateAdminInput!) { createAdmin(input: $in) { admin { id } } }`,
				vars: map[string]any{"in": map[string]any{"username": fmt.Sprintf("mx%d_%s", seq.Add(1), w.b.name), "password": "Admin-Pass-2026",
					"regionCode": matrixRegion, "agencyId": gid("Agency", s.matter.AgencyID)}}}
		}},
		"Mutation.updateAdmin": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			owner := w.admin(t, matrixRegion)
			id := amGet(t, w, owner, `mutation($in: CreateAdminInput!) { createAdmin(input: $in) { admin { id } } }`,
				map[string]any{"in": map[string]any{"username": fmt.Sprintf("mx%d_%s", seq.Add(1), w.b.name), "password": "Admin-Pass-2026", "regionCode": matrixRegion}},
				"createAdmin", "admin", "id")
			return accessProbe{owner: owner, query: `mutation($in: UpdateAdminInput!) { updateAdmin(input: $in) { admin { id } } }`,
				vars: map[string]any{"in": map[string]any{"adminId": id, "disabled": false}}}
		}},
	}
}

// ---- the app centre and light apps ----

func amApps() map[string]accessEntry {
	// An app of matrixRegion belonging to a department there: the
	// region's administrators manage it; another department's do not.
	onApp := func(state string, query string, vars func(t *testing.T, w *accessWorld, appID string) map[string]any) func(t *testing.T, w *accessWorld) accessProbe {
		return func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			id := amAppIn(t, w, s, state)
			return accessProbe{owner: w.admin(t, matrixRegion), query: query, vars: vars(t, w, id), intruders: amDeptIntruders(t, w, s)}
		}
	}
	byID := func(_ *testing.T, _ *accessWorld, id string) map[string]any { return map[string]any{"id": id} }
	return map[string]accessEntry{
		"Query.adminApp": {class: accessAdmin, probe: onApp("DRAFT", `query($id: ID!) { adminApp(id: $id) { id } }`, byID)},
		// The ID is the department the app is connected for.
		"Mutation.createApp": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			return accessProbe{owner: w.admin(t, matrixRegion), query: `mutation($in: CreateAppInput!) { createApp(input: $in) { app { id } } }`,
				vars: map[string]any{"in": map[string]any{"app": amAppDef(w, s)}}}
		}},
		"Mutation.updateApp": {class: accessAdmin, probe: onApp("DRAFT", `mutation($in: UpdateAppInput!) { updateApp(input: $in) { app { id } } }`,
			func(t *testing.T, w *accessWorld, id string) map[string]any {
				return map[string]any{"in": map[string]any{"appId": id, "app": amAppDef(w, amSceneOf(t, w.b))}}
			})},
		"Mutation.bindAppInterfaces": {class: accessAdmin, probe: onApp("DRAFT", `mutation($in: BindAppInterfacesInput!) { bindAppInterfaces(input: $in) { app { id } } }`,
			func(t *testing.T, w *accessWorld, id string) map[string]any {
				return map[string]any{"in": map[string]any{"appId": id, "interfaceIds": []string{amApprovedInterface(t, w, id)}}}
			})},
		"Mutation.testApp":   {class: accessAdmin, probe: onApp("DRAFT", `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`, byID)},
		"Mutation.submitApp": {class: accessAdmin, probe: onApp("TESTED", `mutation($id: ID!) { submitApp(input: {appId: $id}) { app { status } } }`, byID)},
		// Submitted by another administrator of the region: nobody reviews
		// their own app.
		"Mutation.reviewApp": {class: accessAdmin, probe: onApp("PENDING", `mutation($id: ID!) { reviewApp(input: {appId: $id, approve: true}) { app { status } } }`, byID)},
		"Mutation.publishApp": {class: accessAdmin, probe: onApp("APPROVED",
			`mutation($id: ID!) { publishApp(input: {appId: $id, halls: [{hall: "REGION:`+matrixRegion+`"}]}) { app { status } } }`, byID)},
		"Mutation.takeAppOffline": {class: accessAdmin, probe: onApp("ONLINE",
			`mutation($id: ID!) { takeAppOffline(input: {appId: $id, reason: "页面适配问题"}) { app { status } } }`, byID)},
		"Mutation.pressureTestApp": {class: accessAdmin, probe: onApp("DRAFT",
			`mutation($id: ID!) { pressureTestApp(input: {appId: $id, concurrency: 1, requests: 2}) { requests } }`,
			func(t *testing.T, w *accessWorld, id string) map[string]any {
				amGet(t, w, w.admin(t, matrixRegion), `mutation($in: BindAppInterfacesInput!) { bindAppInterfaces(input: $in) { app { id } } }`,
					map[string]any{"in": map[string]any{"appId": id, "interfaceIds": []string{amApprovedInterface(t, w, id)}}})
				return map[string]any{"id": id}
			})},
		"Mutation.removeAppFile": {class: accessAdmin, probe: onApp("DRAFT", `mutation($id: ID!) { removeAppFile(input: {fileId: $id}) { app { id } } }`,
			func(t *testing.T, w *accessWorld, id string) map[string]any {
				icon := w.b.uploadAppFile(t, w.admin(t, matrixRegion), id, "ICON", "icon.png", pngIcon())
				if icon.Status != 200 {
					t.Fatalf("icon: %+v", icon)
				}
				return map[string]any{"id": icon.ID}
			})},
		"Mutation.archiveAppFeedback": {class: accessAdmin, probe: onApp("DRAFT",
			`mutation($id: ID!) { archiveAppFeedback(input: {feedbackId: $id, resolution: "已压缩图片"}) { status } }`,
			func(t *testing.T, w *accessWorld, id string) map[string]any {
				fb := amGet(t, w, w.admin(t, matrixRegion), `mutation($id: ID!) { addAppFeedback(input: {appId: $id, content: "首页加载偏慢，建议压缩图片"}) { id } }`,
					map[string]any{"id": id}, "addAppFeedback", "id")
				return map[string]any{"id": fb}
			})},
		// A notice is addressed to one administrator (the owner of an app
		// taken offline): no other, of any region, marks it.
		"Mutation.markAdminNoticeRead": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			owner := w.admin(t, matrixRegion)
			app := amAppIn(t, w, s, "DRAFT")
			n := models.AdminNotice{AdminID: amAdminID(t, w, owner), Title: "应用已自动下线", Body: "接口连续5次调用失败。", AppID: mustKey(t, app), CreatedAt: time.Now().UTC()}
			if err := w.b.app.DB.Create(&n).Error; err != nil {
				t.Fatal(err)
			}
			in := amDeptIntruders(t, w, s)
			in["another administrator of the same region"] = amAdmin(t, w, 0)
			return accessProbe{owner: owner, query: `mutation($id: ID!) { markAdminNoticeRead(id: $id) }`, vars: map[string]any{"id": gid("AdminNotice", n.ID)}, intruders: in}
		}},
		"Mutation.setAppCredentials": {class: accessAdmin, probe: onApp("DRAFT",
			`mutation($in: SetAppCredentialsInput!) { setAppCredentials(input: $in) { publicKeyHex } }`,
			func(t *testing.T, w *accessWorld, id string) map[string]any {
				return map[string]any{"in": map[string]any{"appId": id, "publicKey": amPublicKey(t), "fields": []string{"name"}}}
			})},
		"Mutation.issueAppDataKey": {class: accessAdmin, probe: onApp("DRAFT", `mutation($id: ID!) { issueAppDataKey(input: {appId: $id}) { version } }`,
			func(t *testing.T, w *accessWorld, id string) map[string]any {
				amGet(t, w, w.admin(t, matrixRegion), `mutation($in: SetAppCredentialsInput!) { setAppCredentials(input: $in) { publicKeyHex } }`,
					map[string]any{"in": map[string]any{"appId": id, "publicKey": amPublicKey(t), "fields": []string{"name"}}})
				return map[string]any{"id": id}
			})},
	}
}

// ---- source interfaces ----

func amInterfaces() map[string]accessEntry {
	// An interface of an app of matrixRegion, registered by the region's
	// administrator.
	onIface := func(approved bool, query string, vars func(t *testing.T, w *accessWorld, ifaceID string) map[string]any) func(t *testing.T, w *accessWorld) accessProbe {
		return func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			app := amAppIn(t, w, s, "DRAFT")
			var id string
			if approved {
				id = amApprovedInterface(t, w, app)
			} else {
				id = amInterface(t, w, w.admin(t, matrixRegion), app)
			}
			return accessProbe{owner: w.admin(t, matrixRegion), query: query, vars: vars(t, w, id), intruders: amDeptIntruders(t, w, s)}
		}
	}
	byID := func(_ *testing.T, _ *accessWorld, id string) map[string]any { return map[string]any{"id": id} }
	alert := func(t *testing.T, w *accessWorld, id string) map[string]any {
		return map[string]any{"id": amAlert(t, w, id)}
	}
	return map[string]accessEntry{
		"Query.sourceInterfaces": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			app := amAppIn(t, w, s, "DRAFT")
			amInterface(t, w, w.admin(t, matrixRegion), app)
			return accessProbe{owner: w.admin(t, matrixRegion), query: `query($a: ID!) { sourceInterfaces(appId: $a) { totalCount } }`,
				vars: map[string]any{"a": app}, intruders: amDeptIntruders(t, w, s), ownerCheck: amCount("sourceInterfaces")}
		}},
		"Query.interfaceAlerts": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			p := onIface(false, `query($i: ID!) { interfaceAlerts(interfaceId: $i) { totalCount } }`,
				func(t *testing.T, w *accessWorld, id string) map[string]any {
					amAlert(t, w, id)
					return map[string]any{"i": id}
				})(t, w)
			p.ownerCheck = amCount("interfaceAlerts")
			return p
		}},
		"Mutation.registerInterface": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			app := amAppIn(t, w, s, "DRAFT")
			return accessProbe{owner: w.admin(t, matrixRegion), query: `mutation($in: RegisterInterfaceInput!) { registerInterface(input: $in) { interface { id } } }`,
				vars: map[string]any{"in": map[string]any{"appId": app, "interface": amInterfaceDef(t)}}, intruders: amDeptIntruders(t, w, s)}
		}},
		"Mutation.updateInterface": {class: accessAdmin, probe: onIface(false, `mutation($in: UpdateInterfaceInput!) { updateInterface(input: $in) { interface { id } } }`,
			func(t *testing.T, w *accessWorld, id string) map[string]any {
				return map[string]any{"in": map[string]any{"interfaceId": id, "interface": amInterfaceDef(t)}}
			})},
		"Mutation.submitInterface": {class: accessAdmin, probe: onIface(false, `mutation($id: ID!) { submitInterface(input: {interfaceId: $id}) { interface { status } } }`, byID)},
		// Submitted by another administrator of the region: nobody reviews
		// their own interface.
		"Mutation.reviewInterface": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			app := amAppIn(t, w, s, "DRAFT")
			second := amAdmin(t, w, 0)
			id := amInterface(t, w, second, app)
			amGet(t, w, second, `mutation($id: ID!) { submitInterface(input: {interfaceId: $id}) { interface { status } } }`, map[string]any{"id": id})
			return accessProbe{owner: w.admin(t, matrixRegion), query: `mutation($id: ID!) { reviewInterface(input: {interfaceId: $id, approve: true}) { interface { status } } }`,
				vars: map[string]any{"id": id}, intruders: amDeptIntruders(t, w, s)}
		}},
		"Mutation.testInterface": {class: accessAdmin, probe: onIface(false, `mutation($id: ID!) { testInterface(input: {interfaceId: $id}) { status } }`, byID)},
		"Mutation.acknowledgeInterfaceAlert": {class: accessAdmin, probe: onIface(false,
			`mutation($id: ID!) { acknowledgeInterfaceAlert(input: {alertId: $id}) { status } }`, alert)},
		"Mutation.resolveInterfaceAlert": {class: accessAdmin, probe: onIface(false,
			`mutation($id: ID!) { resolveInterfaceAlert(input: {alertId: $id, note: "已恢复"}) { status } }`, alert)},
	}
}

// ---- cases, consultations and shipments: a department's staff ----

func amCases() map[string]accessEntry {
	// A case of w.owner's for the scene's matter, handled by the staff of
	// its department.
	onCase := func(query string, prepare func(t *testing.T, w *accessWorld, s amScene, staff, caseID string) map[string]any) func(t *testing.T, w *accessWorld) accessProbe {
		return func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			staff := amAdmin(t, w, s.matter.AgencyID)
			caseID := amCase(t, w, w.owner.Ticket, s)
			return accessProbe{owner: staff, query: query, vars: prepare(t, w, s, staff, caseID), intruders: amDeptIntruders(t, w, s)}
		}
	}
	consultation := func(steps ...string) func(t *testing.T, w *accessWorld, s amScene, staff, _ string) map[string]any {
		return func(t *testing.T, w *accessWorld, s amScene, staff, _ string) map[string]any {
			id := amGet(t, w, w.owner.Ticket, `mutation($in: SubmitConsultationInput!) { submitConsultation(input: $in) { consultation { id } } }`,
				map[string]any{"in": map[string]any{"consultation": map[string]any{"kind": "CONSULTATION", "title": "办理时限", "content": "请问这个事项多久能办好？",
					"agencyId": gid("Agency", s.matter.AgencyID)}}}, "submitConsultation", "consultation", "id")
			for _, step := range steps {
				amGet(t, w, staff, step, map[string]any{"id": id})
			}
			return map[string]any{"id": id}
		}
	}
	const (
		assign = `mutation($id: ID!) { assignConsultation(input: {consultationId: $id}) { consultation { status } } }`
		reply  = `mutation($id: ID!) { replyConsultation(input: {consultationId: $id, reply: "一般5个工作日办结。"}) { consultation { status } } }`
	)
	return map[string]accessEntry{
		"Mutation.handleCase": {class: accessAdmin, probe: onCase(`mutation($id: ID!) { handleCase(input: {caseId: $id, action: ACCEPT}) { case { status } } }`,
			func(_ *testing.T, _ *accessWorld, _ amScene, _, caseID string) map[string]any {
				return map[string]any{"id": caseID}
			})},
		"Query.agencyShipments": {class: accessAdmin, probe: onCase(`query($id: ID!) { agencyShipments(caseId: $id) { totalCount } }`,
			func(_ *testing.T, _ *accessWorld, _ amScene, _, caseID string) map[string]any {
				return map[string]any{"id": caseID}
			})},
		"Mutation.mailResult": {class: accessAdmin, probe: onCase(`mutation($in: MailInput!) { mailResult(input: $in) { id } }`,
			func(t *testing.T, w *accessWorld, _ amScene, staff, caseID string) map[string]any {
				amGet(t, w, staff, `mutation($id: ID!) { handleCase(input: {caseId: $id, action: REJECT, note: "材料不齐全，原件退回"}) { case { status } } }`, map[string]any{"id": caseID})
				return map[string]any{"in": map[string]any{"caseId": caseID,
					"sender":   map[string]any{"name": "政务服务中心", "phone": "05718765432", "regionCode": "330106", "address": "西湖区文三路100号政务服务中心一层"},
					"receiver": map[string]any{"name": "张三", "phone": "13912345678", "regionCode": "330106", "address": "西湖区文一西路88号院3号楼2单元501"}}}
			})},
		"Mutation.assignConsultation": {class: accessAdmin, probe: onCase(assign, consultation())},
		"Mutation.replyConsultation":  {class: accessAdmin, probe: onCase(reply, consultation(assign))},
		"Mutation.closeConsultation": {class: accessAdmin, probe: onCase(`mutation($id: ID!) { closeConsultation(input: {consultationId: $id}) { consultation { status } } }`,
			consultation(assign, reply))},
	}
}

// ---- customer service ----

func amService() map[string]accessEntry {
	chat := func(t *testing.T, w *accessWorld) string {
		return amGet(t, w, w.b.register(t, person(t)).Ticket, `mutation { startAgentChat(input: {text: "营业执照地址变更要多久？"}) { chat { id } } }`, nil,
			"startAgentChat", "chat", "id")
	}
	entry := func(t *testing.T, w *accessWorld, owner string) string {
		return amGet(t, w, owner, `mutation($in: KnowledgeEntryInput!) { createKnowledgeEntry(input: $in) { entry { id } } }`,
			map[string]any{"in": map[string]any{"question": fmt.Sprintf("矩阵问题%d：无人机需要登记吗？", seq.Add(1)), "answer": "须在民航局平台实名登记。"}},
			"createKnowledgeEntry", "entry", "id")
	}
	return map[string]accessEntry{
		"Mutation.takeAgentChat": {class: accessGated,
			why: "the agents' queue is one for the whole platform: a chat carries no region, and any agent (customer_service) takes a waiting one",
			probe: func(t *testing.T, w *accessWorld) accessProbe {
				return accessProbe{owner: w.admin(t, ""), query: `mutation($id: ID!) { takeAgentChat(input: {chatId: $id}) { chat { status } } }`,
					vars: map[string]any{"id": chat(t, w)}}
			}},
		// A chat belongs to its citizen and the agent who took it; the
		// citizen may end it too (the citizen's side is in the citizen
		// matrix's chats). This probes the agent's side: another agent — an
		// administrator of another region or of the same — does not end it.
		"Mutation.endAgentChat": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			agent := w.admin(t, matrixRegion)
			id := chat(t, w)
			amGet(t, w, agent, `mutation($id: ID!) { takeAgentChat(input: {chatId: $id}) { chat { status } } }`, map[string]any{"id": id})
			return accessProbe{owner: agent, query: `mutation($id: ID!) { endAgentChat(input: {chatId: $id}) { chat { status } } }`, vars: map[string]any{"id": id},
				intruders: map[string]string{"anonymous": "", "a citizen": w.other.Ticket, "an administrator of another region": w.admin(t, matrixOtherRegion),
					"another agent of the same region": amAdmin(t, w, 0)}}
		}},
		"Mutation.updateKnowledgeEntry": {class: accessGated,
			why: "the knowledge base answers every citizen of the country; an entry has no region",
			probe: func(t *testing.T, w *accessWorld) accessProbe {
				owner := w.admin(t, "")
				return accessProbe{owner: owner, query: `mutation($in: UpdateKnowledgeEntryInput!) { updateKnowledgeEntry(input: $in) { entry { id } } }`,
					vars: map[string]any{"in": map[string]any{"id": entry(t, w, owner), "entry": map[string]any{"question": fmt.Sprintf("矩阵问题%d：无人机要实名吗？", seq.Add(1)), "answer": "要。"}}}}
			}},
		"Mutation.deleteKnowledgeEntry": {class: accessGated,
			why: "the knowledge base answers every citizen of the country; an entry has no region",
			probe: func(t *testing.T, w *accessWorld) accessProbe {
				owner := w.admin(t, "")
				return accessProbe{owner: owner, query: `mutation($id: ID!) { deleteKnowledgeEntry(input: {id: $id}) { deletedId } }`, vars: map[string]any{"id": entry(t, w, owner)}}
			}},
	}
}

// ---- evaluations ----

func amEvaluations() map[string]accessEntry {
	const (
		rectify = `mutation($id: ID!) { rectify(input: {rectificationId: $id, measures: "高峰期增开窗口", reply: "已增开窗口"}) { rectification { status } } }`
		appeal  = `mutation($id: ID!) { appealEvaluation(input: {rectificationId: $id, reason: "评价与办理无关，系恶意差评"}) { rectification { status } } }`
		review  = `mutation($id: ID!) { reviewEvaluationAppeal(input: {rectificationId: $id, uphold: true, note: "经核实属恶意差评"}) { rectification { status } } }`
	)
	// caseRating is the rectification of a bad rating of a finished case
	// of the scene's department.
	caseRating := func(t *testing.T, w *accessWorld, s amScene) string {
		citizen := w.b.register(t, person(t)).Ticket
		caseID := finishedCase(t, w.b, citizen, s.matter)
		return amGet(t, w, citizen, `mutation($in: EvaluateCaseInput!) { evaluateCase(input: $in) { evaluation { rectification { id } } } }`,
			map[string]any{"in": map[string]any{"caseId": caseID, "evaluation": map[string]any{"level": "DISSATISFIED", "comment": "窗口排队两小时"}}},
			"evaluateCase", "evaluation", "rectification", "id")
	}
	return map[string]accessEntry{
		// An app's rating is handled by the administrators of the app's
		// region (the platform's side, no department).
		"Mutation.rectify": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			app := amAppIn(t, w, s, "ONLINE")
			rec := amGet(t, w, w.b.register(t, person(t)).Ticket, `mutation($in: EvaluateAppInput!) { evaluateApp(input: $in) { evaluation { rectification { id } } } }`,
				map[string]any{"in": map[string]any{"appId": app, "evaluation": map[string]any{"level": "DISSATISFIED", "comment": "经常打不开"}}},
				"evaluateApp", "evaluation", "rectification", "id")
			return accessProbe{owner: w.admin(t, matrixRegion), query: rectify, vars: map[string]any{"id": rec}}
		}},
		// A case's rating is the department's to answer.
		"Mutation.appealEvaluation": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			return accessProbe{owner: amAdmin(t, w, s.matter.AgencyID), query: appeal, vars: map[string]any{"id": caseRating(t, w, s)}, intruders: amDeptIntruders(t, w, s)}
		}},
		// The department appeals; the platform's administrators of its
		// region review (not the department's own staff).
		"Mutation.reviewEvaluationAppeal": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			rec := caseRating(t, w, s)
			staff := amAdmin(t, w, s.matter.AgencyID)
			amGet(t, w, staff, appeal, map[string]any{"id": rec})
			in := amDeptIntruders(t, w, s)
			in["the appealing department's own staff"] = staff
			return accessProbe{owner: w.admin(t, matrixRegion), query: review, vars: map[string]any{"id": rec}, intruders: in}
		}},
	}
}

// ---- filings ----

func amFilings() map[string]accessEntry {
	// A provincial terminal's filing is the province's (Zhejiang, the
	// province of matrixRegion): a filing names a province, so its filer is
	// an administrator of 330000; the national platform reviews it.
	const province = "330000"
	onFiling := func(state, query string) func(t *testing.T, w *accessWorld) accessProbe {
		return func(t *testing.T, w *accessWorld) accessProbe {
			id, def := amFiling(t, w, state)
			in := map[string]any{"filingId": id}
			if state == "DRAFT" { // an update: the filing as it is, its version raised
				def["version"] = "1.0.1"
				in["filing"] = def
			}
			return accessProbe{owner: w.admin(t, province), query: query, vars: map[string]any{"in": in}}
		}
	}
	return map[string]accessEntry{
		"Query.filing": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			id, _ := amFiling(t, w, "DRAFT")
			return accessProbe{owner: w.admin(t, province), query: `query($id: ID!) { filing(id: $id) { id } }`, vars: map[string]any{"id": id}}
		}},
		// The ID is the department of a departmental filing (unused in a
		// provincial one); the province is the object here.
		"Mutation.createFiling": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			def := amFilingDef(true)
			def["agencyId"] = gid("Agency", amSceneOf(t, w.b).matter.AgencyID)
			return accessProbe{owner: w.admin(t, province), query: `mutation($in: FilingInput!) { createFiling(input: $in) { filing { id } } }`, vars: map[string]any{"in": def}}
		}},
		"Mutation.updateFiling": {class: accessAdmin, probe: onFiling("DRAFT",
			`mutation($in: UpdateFilingInput!) { updateFiling(input: $in) { filing { id } } }`)},
		"Mutation.submitFiling": {class: accessAdmin, probe: onFiling("COMPLETE",
			`mutation($in: FilingActionInput!) { submitFiling(input: $in) { filing { status } } }`)},
		"Mutation.reviewFiling": {class: accessAdmin, probe: func(t *testing.T, w *accessWorld) accessProbe {
			id, _ := amFiling(t, w, "PENDING")
			return accessProbe{owner: w.admin(t, ""), query: `mutation($in: ReviewFilingInput!) { reviewFiling(input: $in) { filing { status } } }`,
				vars: map[string]any{"in": map[string]any{"filingId": id, "approve": true, "checks": amFilingChecks()}},
				intruders: map[string]string{"anonymous": "", "a citizen": w.other.Ticket, "an administrator of another region": w.admin(t, matrixOtherRegion),
					"the filing province's own administrator (the national platform reviews)": w.admin(t, province)}}
		}},
		"Mutation.markFilingOnline": {class: accessAdmin, probe: onFiling("APPROVED",
			`mutation($in: FilingActionInput!) { markFilingOnline(input: $in) { filing { status } } }`)},
	}
}

// ---- operations incidents ----

func amIncidents() map[string]accessEntry {
	const why = "incidents are the whole platform's operations, handled by its nationwide operators; an incident has no region (an alert opened as one may be any region's)"
	// The nationwide operator owns them; a regional administrator holding
	// every permission is refused too.
	ops := func(t *testing.T, w *accessWorld, query string, vars map[string]any) accessProbe {
		return accessProbe{owner: w.admin(t, ""), query: query, vars: vars,
			intruders: map[string]string{"anonymous": "", "a citizen": w.other.Ticket, "an administrator of a region": w.admin(t, matrixRegion)}}
	}
	incident := func(t *testing.T, w *accessWorld) string {
		return amGet(t, w, w.admin(t, ""), `mutation { openIncident(input: {title: "数据库主库切换", kind: "DATABASE", severity: "MAJOR"}) { id } }`, nil, "openIncident", "id")
	}
	return map[string]accessEntry{
		"Mutation.openIncident": {class: accessGated, why: why, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			alert := amAlert(t, w, amInterface(t, w, w.admin(t, matrixRegion), amAppIn(t, w, s, "DRAFT")))
			return ops(t, w, `mutation($id: ID!) { openIncident(input: {title: "社保查询接口不可用", severity: "CRITICAL", alertId: $id}) { id } }`, map[string]any{"id": alert})
		}},
		"Mutation.actOnIncident": {class: accessGated, why: why, probe: func(t *testing.T, w *accessWorld) accessProbe {
			return ops(t, w, `mutation($id: ID!) { actOnIncident(input: {incidentId: $id, action: INVESTIGATE}) { status } }`, map[string]any{"id": incident(t, w)})
		}},
		"Mutation.assignIncident": {class: accessGated, why: why, probe: func(t *testing.T, w *accessWorld) accessProbe {
			return ops(t, w, `mutation($id: ID!) { assignIncident(input: {incidentId: $id, owner: "admin"}) { owner } }`, map[string]any{"id": incident(t, w)})
		}},
	}
}

// ---- licences and seals: a department's ----

func amLicensesAndSeals() map[string]accessEntry {
	issue := `mutation($in: IssueLicenseInput!) { issueLicense(input: $in) { id } }`
	licence := func(holder map[string]any, caseID string) map[string]any {
		in := map[string]any{"holderIdentity": holder["idNumber"], "kind": "BUSINESS_LICENSE", "title": "营业执照", "number": fmt.Sprintf("MX%012d", seq.Add(1)),
			"fields": []map[string]any{{"name": "经营范围", "value": "餐饮服务"}}}
		if caseID != "" {
			in["caseId"] = caseID
		}
		return map[string]any{"in": in}
	}
	grant := `mutation($s: ID!, $a: ID!, $u: Time!) { grantSeal(input: {sealId: $s, adminId: $a, validUntil: $u}) { id } }`
	return map[string]accessEntry{
		// The ID is the case the licence is the result of.
		"Mutation.issueLicense": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			amSeal(t, w, s, staff)
			p := person(t)
			holder := w.b.register(t, p).Ticket
			caseID := amCase(t, w, holder, s)
			amGet(t, w, staff, `mutation($id: ID!) { handleCase(input: {caseId: $id, action: ACCEPT}) { case { status } } }`, map[string]any{"id": caseID})
			return issue, licence(p, caseID)
		})},
		"Mutation.revokeLicense": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			amSeal(t, w, s, staff)
			p := person(t)
			w.b.register(t, p)
			id := amGet(t, w, staff, issue, licence(p, ""), "issueLicense", "id")
			return `mutation($id: ID!) { revokeLicense(input: {licenseId: $id, reason: "信息有误"}) { status } }`, map[string]any{"id": id}
		})},
		// The ID is the department the seal is made for.
		"Mutation.createSeal": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, _ string) (string, map[string]any) {
			return `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "行政审批专用章"}) { id } }`, map[string]any{"a": gid("Agency", s.matter.AgencyID)}
		})},
		"Mutation.revokeSeal": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			return `mutation($s: ID!) { revokeSeal(input: {sealId: $s}) { revokedAt } }`, map[string]any{"s": amSeal(t, w, s, staff)}
		})},
		"Mutation.setSealImage": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			return `mutation($s: ID!, $png: String!) { setSealImage(input: {sealId: $s, png: $png}) { id } }`,
				map[string]any{"s": amSeal(t, w, s, staff), "png": base64.StdEncoding.EncodeToString(sealPNG(t, 240))}
		})},
		"Mutation.grantSeal": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			return grant, map[string]any{"s": amSeal(t, w, s, staff), "a": gid("AdminAccount", amAdminID(t, w, staff)), "u": time.Now().Add(time.Hour).UTC()}
		})},
		"Mutation.revokeSealGrant": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			g := amGet(t, w, staff, grant, map[string]any{"s": amSeal(t, w, s, staff), "a": gid("AdminAccount", amAdminID(t, w, staff)), "u": time.Now().Add(time.Hour).UTC()}, "grantSeal", "id")
			return `mutation($g: ID!) { revokeSealGrant(grantId: $g) { revokedAt } }`, map[string]any{"g": g}
		})},
		// Only the grantee seals; an administrator of another region or
		// department, whatever their permissions, does not.
		"Mutation.sealDocument": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			seal := amSeal(t, w, s, staff)
			amGet(t, w, staff, grant, map[string]any{"s": seal, "a": gid("AdminAccount", amAdminID(t, w, staff)), "u": time.Now().Add(time.Hour).UTC()})
			return `mutation($s: ID!, $d: String!) { sealDocument(input: {sealId: $s, sm3: $d}) { id } }`,
				map[string]any{"s": seal, "d": gm.SM3Hex([]byte(fmt.Sprintf("准予行政许可决定书 第%d号", seq.Add(1))))}
		})},
	}
}

// ---- payments ----

func amPayments() map[string]accessEntry {
	pay := `mutation($o: ID!) { payOrder(orderId: $o) { payUrl } }`
	return map[string]accessEntry{
		// The ID is the matter the fee item belongs to.
		"Mutation.saveFeeItem": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, _ string) (string, map[string]any) {
			return amSaveFee, amFeeInput(s)
		})},
		"Mutation.issuePaymentOrder": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			fee := amGet(t, w, staff, amSaveFee, amFeeInput(s), "saveFeeItem", "id")
			caseID := amCase(t, w, w.owner.Ticket, s)
			amGet(t, w, staff, `mutation($id: ID!) { handleCase(input: {caseId: $id, action: ACCEPT}) { case { status } } }`, map[string]any{"id": caseID})
			return `mutation($in: IssuePaymentOrderInput!) { issuePaymentOrder(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"caseId": caseID, "lines": []map[string]any{{"feeItemId": fee, "quantity": 1}}}}
		})},
		"Mutation.cancelPaymentOrder": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			connectSandbox(t, w.b)
			id, _ := amOrder(t, w, s, staff)
			amGet(t, w, w.owner.Ticket, pay, map[string]any{"o": id})
			return `mutation($o: ID!) { cancelPaymentOrder(orderId: $o) { status } }`, map[string]any{"o": id}
		})},
		"Mutation.refundPayment": {class: accessAdmin, probe: amDeptProbe(func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any) {
			sb, _, _ := connectSandbox(t, w.b)
			id, number := amOrder(t, w, s, staff)
			amGet(t, w, w.owner.Ticket, pay, map[string]any{"o": id})
			if _, err := sb.MarkPaid(number); err != nil {
				t.Fatal(err)
			}
			amGet(t, w, w.owner.Ticket, `mutation($o: ID!) { syncPaymentOrder(orderId: $o) { status } }`, map[string]any{"o": id})
			return `mutation($in: RefundPaymentInput!) { refundPayment(input: $in) { status } }`,
				map[string]any{"in": map[string]any{"orderId": id, "amountFen": 100, "reason": "加急未能兑现", "idempotencyKey": fmt.Sprintf("mx-refund-%d", seq.Add(1))}}
		})},
		// Asking the channel about an order is the payer's own act (the
		// agency cancels or refunds instead): the order is w.owner's.
		"Mutation.syncPaymentOrder": {class: accessOwner, probe: func(t *testing.T, w *accessWorld) accessProbe {
			s := amSceneOf(t, w.b)
			sb, _, _ := connectSandbox(t, w.b)
			id, number := amOrder(t, w, s, amAdmin(t, w, s.matter.AgencyID))
			amGet(t, w, w.owner.Ticket, pay, map[string]any{"o": id})
			if _, err := sb.MarkPaid(number); err != nil {
				t.Fatal(err)
			}
			p := accessProbe{owner: w.owner.Ticket, query: `mutation($o: ID!) { syncPaymentOrder(orderId: $o) { status } }`, vars: map[string]any{"o": id}}
			p.intruders = map[string]string{"anonymous": "", "another citizen": w.other.Ticket, "an administrator of another region": w.admin(t, matrixOtherRegion),
				"the collecting department's administrator (not the payer)": amAdmin(t, w, s.matter.AgencyID)}
			return p
		}},
	}
}

const amSaveFee = `mutation($in: SaveFeeItemInput!) { saveFeeItem(input: $in) { id } }`

func amFeeInput(s amScene) map[string]any {
	return map[string]any{"in": map[string]any{"matterId": gid("Matter", s.matter.ID), "code": "MXGB", "name": "工本费", "amountFen": 2000, "basis": "《居民身份证法》第二十条"}}
}

// amOrder is an unpaid order of w.owner's accepted case, issued by staff.
func amOrder(t *testing.T, w *accessWorld, s amScene, staff string) (id, number string) {
	t.Helper()
	fee := amGet(t, w, staff, amSaveFee, amFeeInput(s), "saveFeeItem", "id")
	caseID := amCase(t, w, w.owner.Ticket, s)
	amGet(t, w, staff, `mutation($id: ID!) { handleCase(input: {caseId: $id, action: ACCEPT}) { case { status } } }`, map[string]any{"id": caseID})
	var out struct{ IssuePaymentOrder struct{ ID, Number string } }
	w.b.gql(t, staff, `mutation($in: IssuePaymentOrderInput!) { issuePaymentOrder(input: $in) { id number } }`,
		map[string]any{"in": map[string]any{"caseId": caseID, "lines": []map[string]any{{"feeItemId": fee, "quantity": 1}}}}).decode(t, &out)
	return out.IssuePaymentOrder.ID, out.IssuePaymentOrder.Number
}

// ---- the matrix's shared objects ----

// amScene is the catalogue the administration rows work on.
type amScene struct {
	// matter is an online matter of matrixRegion whose department is there too.
	matter models.Matter
	// otherAgency is another department of matrixRegion.
	otherAgency uint64
}

func amSceneOf(t *testing.T, b *backend) amScene {
	t.Helper()
	var s amScene
	agencies := b.app.DB.Model(&models.Agency{}).Select("id").Where("region_code LIKE ?", matrixRegion[:4]+"%")
	if err := b.app.DB.Scopes(onlineMatters).Where("region_code LIKE ? AND agency_id IN (?)", matrixRegion[:4]+"%", agencies).Order("id").First(&s.matter).Error; err != nil {
		t.Fatal(err)
	}
	var other models.Agency
	if err := b.app.DB.Where("region_code LIKE ? AND id <> ?", matrixRegion[:4]+"%", s.matter.AgencyID).Order("id").First(&other).Error; err != nil {
		t.Fatal(err)
	}
	s.otherAgency = other.ID
	return s
}

var amAdminTickets sync.Map // amAdminKey → ticket

type amAdminKey struct {
	w      *accessWorld
	agency uint64
}

// amAdmin is an administrator of matrixRegion holding every permission, of
// the department agencyID — or, for 0, a second regional administrator
// besides w.admin(t, matrixRegion) (one made once per world and
// department).
func amAdmin(t *testing.T, w *accessWorld, agencyID uint64) string {
	t.Helper()
	k := amAdminKey{w, agencyID}
	if tk, ok := amAdminTickets.Load(k); ok {
		return tk.(string)
	}
	var all []string
	for _, p := range permission.All {
		all = append(all, p.Name)
	}
	tk := w.b.scopedAdmin(t, matrixRegion, agencyID, all...)
	amAdminTickets.Store(k, tk)
	return tk
}

// amAdminID is the account behind an administrator's ticket.
func amAdminID(t *testing.T, w *accessWorld, ticket string) uint64 {
	t.Helper()
	a, err := w.b.app.Identity.AuthenticateAdmin(context.Background(), ticket)
	if err != nil || a == nil {
		t.Fatalf("admin of ticket: %v", err)
	}
	return a.ID
}

// amDeptProbe is a probe whose owner is the scene department's
// administrator, with amDeptIntruders.
func amDeptProbe(build func(t *testing.T, w *accessWorld, s amScene, staff string) (string, map[string]any)) func(t *testing.T, w *accessWorld) accessProbe {
	return func(t *testing.T, w *accessWorld) accessProbe {
		s := amSceneOf(t, w.b)
		staff := amAdmin(t, w, s.matter.AgencyID)
		q, vars := build(t, w, s, staff)
		return accessProbe{owner: staff, query: q, vars: vars, intruders: amDeptIntruders(t, w, s)}
	}
}

// amDeptIntruders are the intruders of an object of the scene's department:
// the defaults of accessAdmin, and an administrator of another department
// of the same region holding every permission.
func amDeptIntruders(t *testing.T, w *accessWorld, s amScene) map[string]string {
	return map[string]string{"anonymous": "", "a citizen": w.other.Ticket, "an administrator of another region": w.admin(t, matrixOtherRegion),
		"an administrator of another department of the same region": amAdmin(t, w, s.otherAgency)}
}

// amCount checks the owner's connection lists the one object made.
func amCount(field string) func(t *testing.T, r *gqlResponse) {
	return func(t *testing.T, r *gqlResponse) {
		var out map[string]struct{ TotalCount int }
		r.decode(t, &out)
		if out[field].TotalCount != 1 {
			t.Errorf("%s: the owner sees %d, want 1", field, out[field].TotalCount)
		}
	}
}

// amGet sends a request that must succeed and returns the string at path
// in its data ("" for no path).
func amGet(t *testing.T, w *accessWorld, ticket, query string, vars map[string]any, path ...string) string {
	t.Helper()
	var out any
	w.b.gql(t, ticket, query, vars).decode(t, &out)
	v := out
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %s in %v", p, out)
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// amCase is a case submitted by the citizen for the scene's matter.
func amCase(t *testing.T, w *accessWorld, citizen string, s amScene) string {
	t.Helper()
	return amGet(t, w, citizen, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
		map[string]any{"in": map[string]any{"matterId": gid("Matter", s.matter.ID), "values": completeForm}}, "submitApplication", "case", "id")
}

func amAppDef(w *accessWorld, s amScene) map[string]any {
	n := seq.Add(1)
	return map[string]any{"code": fmt.Sprintf("mx-%s-%d", w.b.name, n), "name": fmt.Sprintf("矩阵应用%d", n), "category": "综合",
		"regionCode": matrixRegion, "url": "https://mx.example.gov.cn/", "agencyId": gid("Agency", s.matter.AgencyID)}
}

// amAppIn is an app of the scene's department in matrixRegion, brought to
// a state: DRAFT, TESTED (function-tested), PENDING (submitted by a second
// administrator of the region, for w.admin to review), APPROVED or ONLINE
// (in the region's hall).
func amAppIn(t *testing.T, w *accessWorld, s amScene, state string) string {
	t.Helper()
	owner, second := w.admin(t, matrixRegion), amAdmin(t, w, 0)
	creator := owner
	if state != "DRAFT" && state != "TESTED" {
		creator = second
	}
	id := amGet(t, w, creator, `mutation($in: CreateAppInput!) { createApp(input: $in) { app { id } } }`,
		map[string]any{"in": map[string]any{"app": amAppDef(w, s)}}, "createApp", "app", "id")
	steps := map[string][]struct{ ticket, q string }{
		"DRAFT":    nil,
		"TESTED":   {{owner, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`}},
		"PENDING":  {{second, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`}, {second, `mutation($id: ID!) { submitApp(input: {appId: $id}) { app { status } } }`}},
		"APPROVED": {{second, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`}, {second, `mutation($id: ID!) { submitApp(input: {appId: $id}) { app { status } } }`}, {owner, `mutation($id: ID!) { reviewApp(input: {appId: $id, approve: true}) { app { status } } }`}},
	}
	steps["ONLINE"] = append(steps["APPROVED"], struct{ ticket, q string }{owner,
		`mutation($id: ID!) { publishApp(input: {appId: $id, halls: [{hall: "REGION:` + matrixRegion + `"}]}) { app { status } } }`})
	list, ok := steps[state]
	if !ok {
		t.Fatalf("no app state %s", state)
	}
	for _, step := range list {
		amGet(t, w, step.ticket, step.q, map[string]any{"id": id})
	}
	return id
}

func amInterfaceDef(t *testing.T) map[string]any {
	return map[string]any{"name": fmt.Sprintf("矩阵接口%d", seq.Add(1)), "address": sourceServer(t).URL + "/query", "format": "JSON", "method": "GET"}
}

// amInterface is a draft interface of the app, registered by registrant.
func amInterface(t *testing.T, w *accessWorld, registrant, appID string) string {
	t.Helper()
	return amGet(t, w, registrant, `mutation($in: RegisterInterfaceInput!) { registerInterface(input: $in) { interface { id } } }`,
		map[string]any{"in": map[string]any{"appId": appID, "interface": amInterfaceDef(t)}}, "registerInterface", "interface", "id")
}

// amApprovedInterface is an interface of the app registered and submitted
// by a second administrator of the region and approved by w.admin.
func amApprovedInterface(t *testing.T, w *accessWorld, appID string) string {
	t.Helper()
	second := amAdmin(t, w, 0)
	id := amInterface(t, w, second, appID)
	amGet(t, w, second, `mutation($id: ID!) { submitInterface(input: {interfaceId: $id}) { interface { status } } }`, map[string]any{"id": id})
	amGet(t, w, w.admin(t, matrixRegion), `mutation($id: ID!) { reviewInterface(input: {interfaceId: $id, approve: true}) { interface { status } } }`, map[string]any{"id": id})
	return id
}

// amAlert is an open alert on the interface (as the health checks raise).
func amAlert(t *testing.T, w *accessWorld, ifaceID string) string {
	t.Helper()
	now := time.Now().UTC()
	a := models.InterfaceAlert{InterfaceID: mustKey(t, ifaceID), Kind: "FAILED", Status: "OPEN", Message: "连续2次调用失败", Count: 2, FirstAt: now, LastAt: now}
	if err := w.b.app.DB.Create(&a).Error; err != nil {
		t.Fatal(err)
	}
	return gid("InterfaceAlert", a.ID)
}

func amPublicKey(t *testing.T) string {
	key, err := gm.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := gm.SM2PublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pemKey
}

// amSeal is a document seal of the scene's department, made by staff.
func amSeal(t *testing.T, w *accessWorld, s amScene, staff string) string {
	t.Helper()
	return amGet(t, w, staff, `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "证照专用章", forDocuments: true}) { id } }`,
		map[string]any{"a": gid("Agency", s.matter.AgencyID)}, "createSeal", "id")
}

func amFilingDef(full bool) map[string]any {
	n := seq.Add(1)
	def := map[string]any{"kind": "PROVINCIAL", "regionCode": "330000", "name": fmt.Sprintf("浙里办%d", n), "marketName": fmt.Sprintf("浙里办%d", n),
		"packageName": fmt.Sprintf("cn.gov.zj.mx%d", n), "version": "1.0.0", "techPhone": "13912345678"}
	if full {
		for k, v := range map[string]any{"responsibleDept": "浙江省大数据发展管理局", "authority": "浙江省人民政府办公厅", "authorityPhone": "0571-87051234",
			"supervisor": "李四", "supervisorPhone": "13800138000", "techUnit": "某科技有限公司", "techContact": "王五"} {
			def[k] = v
		}
	}
	return def
}

func amFilingChecks() []map[string]any {
	var out []map[string]any
	for _, k := range []string{"network", "upgrade", "messages", "screens", "loginMessage", "inputErrors", "privacyTransfer", "privacyPolicy"} {
		out = append(out, map[string]any{"key": k, "passed": true})
	}
	return out
}

// amFiling is a provincial filing of Zhejiang by its administrator, in a
// state: DRAFT, COMPLETE (every field and the package, not submitted),
// PENDING or APPROVED (by a nationwide administrator). It returns the
// filing's ID and its full input.
func amFiling(t *testing.T, w *accessWorld, state string) (string, map[string]any) {
	t.Helper()
	filer := w.admin(t, "330000")
	def := amFilingDef(true)
	id := amGet(t, w, filer, `mutation($in: FilingInput!) { createFiling(input: $in) { filing { id } } }`, map[string]any{"in": def}, "createFiling", "filing", "id")
	if state == "DRAFT" {
		return id, def
	}
	if pkg := w.b.postFile(t, filer, "/app-files", [][2]string{{"filingId", id}, {"kind", "PACKAGE"}}, "zlb.apk", zipOf(t, "AndroidManifest.xml", "classes.dex")); pkg.Status != 200 {
		t.Fatalf("package: %+v", pkg)
	}
	if state == "COMPLETE" {
		return id, def
	}
	amGet(t, w, filer, `mutation($id: ID!) { submitFiling(input: {filingId: $id}) { filing { status } } }`, map[string]any{"id": id})
	if state == "PENDING" {
		return id, def
	}
	amGet(t, w, w.admin(t, ""), `mutation($in: ReviewFilingInput!) { reviewFiling(input: $in) { filing { status } } }`,
		map[string]any{"in": map[string]any{"filingId": id, "approve": true, "checks": amFilingChecks()}})
	return id, def
}

// TestInterfaceListsKeepToTheDepartment: lists without an ID filter are
// narrowed as the rows are — an administrator of another department of
// the region neither lists a department's interfaces nor their alerts.
func TestInterfaceListsKeepToTheDepartment(t *testing.T) {
	eachIsolated(t, "matrix", nil, func(t *testing.T, b *backend) {
		w := &accessWorld{b: b, owner: b.register(t, person(t)), other: b.register(t, person(t)), admins: map[string]string{}}
		s := amSceneOf(t, b)
		app := amAppIn(t, w, s, "DRAFT")
		ifc := amInterface(t, w, w.admin(t, matrixRegion), app)
		alert := amAlert(t, w, ifc)
		lists := `{ sourceInterfaces(first: 100) { edges { node { id } } } interfaceAlerts(first: 100) { edges { node { id } } } }`
		listed := func(ticket string) (ifaces, alerts []string) {
			var out struct {
				SourceInterfaces, InterfaceAlerts struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			b.gql(t, ticket, lists, nil).decode(t, &out)
			for _, e := range out.SourceInterfaces.Edges {
				ifaces = append(ifaces, e.Node.ID)
			}
			for _, e := range out.InterfaceAlerts.Edges {
				alerts = append(alerts, e.Node.ID)
			}
			return ifaces, alerts
		}
		if ifaces, alerts := listed(amAdmin(t, w, s.matter.AgencyID)); !slices.Contains(ifaces, ifc) || !slices.Contains(alerts, alert) {
			t.Fatalf("the department's administrator does not list its interface and alert: %v %v", ifaces, alerts)
		}
		if ifaces, alerts := listed(amAdmin(t, w, s.otherAgency)); slices.Contains(ifaces, ifc) || slices.Contains(alerts, alert) {
			t.Fatalf("another department's administrator lists them: %v %v", ifaces, alerts)
		}
	})
}
