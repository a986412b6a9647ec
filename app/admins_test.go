package app_test

import (
	"fmt"
	"strings"
	"testing"

	"govmobile/models"
)

func (b *backend) adminLoginAs(t *testing.T, username, password string) (string, *gqlResponse) {
	t.Helper()
	r := b.gql(t, "", `mutation($in: AdminLoginInput!) { adminLogin(input: $in) { ticket } }`,
		map[string]any{"in": map[string]any{"username": username, "password": password}})
	var out struct{ AdminLogin struct{ Ticket string } }
	if len(r.Errors) == 0 {
		r.decode(t, &out)
	}
	return out.AdminLogin.Ticket, r
}

func TestAdminsRolesAndPermissions(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		super := b.adminTicket(t)
		var perms struct {
			AdminPermissions []struct{ Name, Label string }
		}
		b.gql(t, super, `{ adminPermissions { name label } }`, nil).decode(t, &perms)
		if len(perms.AdminPermissions) < 10 {
			t.Fatalf("permissions: %+v", perms)
		}
		createRole := `mutation($in: RoleInput!) { createRole(input: $in) { role { id name permissions } } }`
		role := func(name string, perms ...string) string {
			var out struct {
				CreateRole struct{ Role struct{ ID string } }
			}
			b.gql(t, super, createRole, map[string]any{"in": map[string]any{"name": name, "permissions": perms}}).decode(t, &out)
			return out.CreateRole.Role.ID
		}
		suffix := b.name
		agentRole := role("客服"+suffix, "customer_service")
		provRole := role("省级管理"+suffix, "admins.manage", "customer_service")
		expectCode(t, b.gql(t, super, createRole, map[string]any{"in": map[string]any{"name": "客服" + suffix, "permissions": []string{}}}), models.ECodeConflict)
		expectCode(t, b.gql(t, super, createRole, map[string]any{"in": map[string]any{"name": "坏角色", "permissions": []string{"everything"}}}), models.ECodeBadUserInput)

		createAdmin := `mutation($in: CreateAdminInput!) { createAdmin(input: $in) { admin { id username regionCode roles { name } } } }`
		newAdmin := func(ticket, username, region string, roles ...string) (string, *gqlResponse) {
			in := map[string]any{"username": username, "password": "Admin-Pass-2026", "roleIds": roles}
			if region != "" {
				in["regionCode"] = region
			}
			r := b.gql(t, ticket, createAdmin, map[string]any{"in": in})
			var out struct {
				CreateAdmin struct{ Admin struct{ ID string } }
			}
			if len(r.Errors) == 0 {
				r.decode(t, &out)
			}
			return out.CreateAdmin.Admin.ID, r
		}
		agentName := "agent" + suffix
		agentID, r := newAdmin(super, agentName, "", agentRole)
		if agentID == "" {
			t.Fatal(string(r.Raw))
		}
		_, r = newAdmin(super, agentName, "", agentRole)
		expectCode(t, r, models.ECodeConflict)
		if r2 := b.gql(t, super, createAdmin, map[string]any{"in": map[string]any{"username": "x" + agentName, "password": "123"}}); len(r2.Errors) == 0 {
			t.Fatal("a weak password was accepted")
		}

		// A customer-service agent sees the queue and nothing else.
		agent, r := b.adminLoginAs(t, agentName, "Admin-Pass-2026")
		if agent == "" {
			t.Fatal(string(r.Raw))
		}
		if r := b.gql(t, agent, `{ agentChatQueue { id } }`, nil); len(r.Errors) > 0 {
			t.Fatalf("the agent's queue: %s", r.Raw)
		}
		expectCode(t, b.gql(t, agent, `{ evaluationStats(groupBy: AGENCY) { total } }`, nil), models.ECodeForbidden)
		expectCode(t, b.gql(t, agent, `{ auditLogs { totalCount } }`, nil), models.ECodeForbidden)
		expectCode(t, b.gql(t, agent, createRole, map[string]any{"in": map[string]any{"name": "越权", "permissions": []string{}}}), models.ECodeForbidden)

		// A provincial manager works inside Zhejiang, and grants only what
		// they hold.
		provName := "zj" + agentName
		if id, r := newAdmin(super, provName, "330000", provRole); id == "" {
			t.Fatal(string(r.Raw))
		}
		prov, _ := b.adminLoginAs(t, provName, "Admin-Pass-2026")
		_, r = newAdmin(prov, "bj"+agentName, "110000", agentRole)
		expectCode(t, r, models.ECodeForbidden)
		if id, r := newAdmin(prov, "hz"+agentName, "330100", agentRole); id == "" {
			t.Fatal(string(r.Raw))
		}
		_, r = newAdmin(prov, "hz2"+agentName, "330100", provRole, role("搜索"+suffix, "search.manage"))
		expectCode(t, r, models.ECodeForbidden)
		// Nor write a permission they lack into a role, theirs included.
		updateRole := `mutation($in: UpdateRoleInput!) { updateRole(input: $in) { role { id } } }`
		expectCode(t, b.gql(t, prov, updateRole, map[string]any{"in": map[string]any{"roleId": provRole,
			"role": map[string]any{"name": "省级管理" + suffix, "permissions": []string{"admins.manage", "customer_service", "audit.read"}}}}), models.ECodeForbidden)
		expectCode(t, b.gql(t, prov, createRole, map[string]any{"in": map[string]any{"name": "审计员", "permissions": []string{"audit.read"}}}), models.ECodeForbidden)
		var list struct {
			AdminAccounts struct {
				Edges []struct {
					Node struct{ Username, RegionCode string }
				}
			}
		}
		b.gql(t, prov, `{ adminAccounts(first: 100) { edges { node { username regionCode } } } }`, nil).decode(t, &list)
		for _, e := range list.AdminAccounts.Edges {
			if !strings.HasPrefix(e.Node.RegionCode, "33") {
				t.Fatalf("a provincial manager sees %+v", e.Node)
			}
		}
		update := `mutation($in: UpdateAdminInput!) { updateAdmin(input: $in) { admin { disabled } } }`
		expectCode(t, b.gql(t, prov, update, map[string]any{"in": map[string]any{"adminId": agentID, "disabled": true}}), models.ECodeNotFound)

		// Disabling ends the account's use at once; nobody disables
		// themselves or changes the super-admin.
		b.gql(t, super, update, map[string]any{"in": map[string]any{"adminId": agentID, "disabled": true}}).decode(t, &struct{}{})
		expectCode(t, b.gql(t, agent, `{ agentChatQueue { id } }`, nil), models.ECodeUnauthenticated)
		if _, r := b.adminLoginAs(t, agentName, "Admin-Pass-2026"); len(r.Errors) == 0 || r.Errors[0].Message != "用户名或密码不正确" {
			t.Fatalf("a disabled admin logs in: %s", r.Raw)
		}
		var superID string
		for _, e := range adminAccountsOf(t, b, super) {
			if e.SuperAdmin {
				superID = e.ID
			}
		}
		expectCode(t, b.gql(t, super, update, map[string]any{"in": map[string]any{"adminId": superID, "disabled": true}}), models.ECodeForbidden)

		// Account changes are audited, passwords never.
		var audit struct {
			AuditLogs struct {
				Edges []struct{ Node struct{ Arguments string } }
			}
		}
		b.gql(t, super, `{ auditLogs(operation: "createAdmin", first: 100) { edges { node { arguments } } } }`, nil).decode(t, &audit)
		if len(audit.AuditLogs.Edges) == 0 {
			t.Fatal("createAdmin not audited")
		}
		for _, e := range audit.AuditLogs.Edges {
			if strings.Contains(e.Node.Arguments, "Admin-Pass-2026") {
				t.Fatalf("a password in the audit log: %s", e.Node.Arguments)
			}
		}
	})
}

type adminOut struct {
	ID, Username string
	SuperAdmin   bool
}

func adminAccountsOf(t *testing.T, b *backend, ticket string) []adminOut {
	t.Helper()
	var out struct {
		AdminAccounts struct{ Edges []struct{ Node adminOut } }
	}
	b.gql(t, ticket, `{ adminAccounts(first: 100) { edges { node { id username superAdmin } } } }`, nil).decode(t, &out)
	var list []adminOut
	for _, e := range out.AdminAccounts.Edges {
		list = append(list, e.Node)
	}
	return list
}

// TestDepartmentManagersManageTheirDepartmentOnly: an administrator of a
// department who may manage accounts creates, lists and changes accounts of
// their own department only — never of another department of the region.
func TestDepartmentManagersManageTheirDepartmentOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var ags []models.Agency
		if err := b.app.DB.Where("region_code LIKE ?", "3301%").Order("id").Limit(2).Find(&ags).Error; err != nil || len(ags) < 2 {
			t.Fatalf("two agencies of 杭州: %v", err)
		}
		mine, theirs := ags[0], ags[1]
		manager := b.scopedAdmin(t, "330100", mine.ID, "admins.manage", "cases.handle")
		b.scopedAdmin(t, "330100", theirs.ID, "cases.handle")
		var otherID string
		for _, a := range adminAccountsOf(t, b, b.adminTicket(t)) {
			if strings.HasPrefix(a.Username, "region330100_") {
				otherID = a.ID // the newest such account: the other department's
				break
			}
		}
		if otherID == "" {
			t.Fatal("the other department's administrator is not listed")
		}
		create := `mutation($in: CreateAdminInput!) { createAdmin(input: $in) { admin { id agency { id } } } }`
		name := fmt.Sprintf("dept%d", seq.Add(1))
		expectCode(t, b.gql(t, manager, create, map[string]any{"in": map[string]any{"username": name + "x", "password": "Dept-Pass-2026",
			"agencyId": gid("Agency", theirs.ID)}}), models.ECodeForbidden)
		// Without an agency the new account is the manager's department's.
		var made struct {
			CreateAdmin struct {
				Admin struct {
					ID     string
					Agency *struct{ ID string }
				}
			}
		}
		b.gql(t, manager, create, map[string]any{"in": map[string]any{"username": name, "password": "Dept-Pass-2026"}}).decode(t, &made)
		if made.CreateAdmin.Admin.Agency == nil || made.CreateAdmin.Admin.Agency.ID != gid("Agency", mine.ID) {
			t.Fatalf("the new account is not of the manager's department: %+v", made)
		}
		update := `mutation($in: UpdateAdminInput!) { updateAdmin(input: $in) { admin { disabled } } }`
		expectCode(t, b.gql(t, manager, update, map[string]any{"in": map[string]any{"adminId": otherID, "disabled": true}}), models.ECodeNotFound)
		expectCode(t, b.gql(t, manager, update, map[string]any{"in": map[string]any{"adminId": made.CreateAdmin.Admin.ID,
			"agencyId": gid("Agency", theirs.ID)}}), models.ECodeForbidden)
		var list struct {
			AdminAccounts struct {
				Edges []struct {
					Node struct{ Agency *struct{ ID string } }
				}
			}
		}
		b.gql(t, manager, `{ adminAccounts(first: 100) { edges { node { agency { id } } } } }`, nil).decode(t, &list)
		if len(list.AdminAccounts.Edges) == 0 {
			t.Fatal("the manager sees no accounts")
		}
		for _, e := range list.AdminAccounts.Edges {
			if e.Node.Agency == nil || e.Node.Agency.ID != gid("Agency", mine.ID) {
				t.Fatalf("a department's manager sees an account of another department: %+v", e.Node)
			}
		}
	})
}
