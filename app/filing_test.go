package app_test

import (
	"strings"
	"testing"

	"govmobile/models"
	"govmobile/permission"
)

// TestFilings: a province files its terminal (clause 10); the filing is
// checked for completeness field by field, its package uploaded, its
// contact phones kept sealed and shown masked, reviewed item by item by
// the national platform (never by the filer), and only then goes online.
func TestFilings(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		gd := b.regionalAdmin(t, "440000", permission.ManageFilings, permission.ReviewFilings)
		sh := b.regionalAdmin(t, "310000", permission.ManageFilings, permission.ReviewFilings)
		national := b.adminTicketOf(t, 0, true)
		type filingOut struct {
			ID, Status, TechPhone string
			Missing               []struct{ Field, Label string }
			Checklist             []struct {
				Key    string
				Passed *bool
			}
			PackageFile *struct{ SM3 string }
		}
		const fields = `id status techPhone missing { field label } checklist { key passed } packageFile { sm3 }`
		op := func(ticket, mutation, input string, in map[string]any) (filingOut, *gqlResponse) {
			r := b.gql(t, ticket, `mutation($in: `+input+`!) { `+mutation+`(input: $in) { filing { `+fields+` } } }`, map[string]any{"in": in})
			var out map[string]struct{ Filing filingOut }
			if len(r.Errors) == 0 {
				r.decode(t, &out)
			}
			return out[mutation].Filing, r
		}
		draft := map[string]any{"kind": "PROVINCIAL", "regionCode": "440000", "name": "粤省事", "marketName": "粤省事",
			"packageName": "cn.gov.gd.yss", "version": "3.2.1", "techPhone": "13912345678"}
		f, r := op(gd, "createFiling", "FilingInput", draft)
		if f.Status != "DRAFT" || len(f.Missing) != 8 || f.TechPhone != "1391*****" {
			t.Fatalf("create: %s", r.Raw)
		}
		// Another province's administrator neither files for it nor sees it.
		_, r = op(sh, "createFiling", "FilingInput", draft)
		expectCode(t, r, models.ECodeForbidden)
		expectCode(t, b.gql(t, sh, `query($id: ID!) { filing(id: $id) { id } }`, map[string]any{"id": f.ID}), models.ECodeNotFound)
		if r := b.gql(t, sh, `{ filings(first: 100) { edges { node { id } } } }`, nil); strings.Contains(string(r.Raw), f.ID) {
			t.Fatalf("listed to another province: %s", r.Raw)
		}
		// Bad input.
		for name, change := range map[string]map[string]any{
			"phone":   {"techPhone": "12345"},
			"package": {"packageName": "粤省事"},
			"version": {"version": "v3"},
			"region":  {"regionCode": "440300"},
			"kind":    {"kind": "CITY"},
		} {
			in := map[string]any{}
			for k, v := range draft {
				in[k] = v
			}
			for k, v := range change {
				in[k] = v
			}
			if _, r := op(gd, "createFiling", "FilingInput", in); len(r.Errors) == 0 || (r.code() != models.ECodeBadUserInput && name != "kind") {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		// Incomplete: every missing field named.
		_, r = op(gd, "submitFiling", "FilingActionInput", map[string]any{"filingId": f.ID})
		expectCode(t, r, models.ECodeBadUserInput)
		for _, label := range []string{"安装包", "负责部门", "主管部门联系电话", "技术联系单位"} {
			if !strings.Contains(r.Errors[0].Message, label) {
				t.Errorf("missing %s not named: %s", label, r.Errors[0].Message)
			}
		}
		full := map[string]any{}
		for k, v := range draft {
			full[k] = v
		}
		for k, v := range map[string]any{"responsibleDept": "广东省政务服务数据管理局", "authority": "广东省人民政府办公厅", "authorityPhone": "020-83133333",
			"supervisor": "李四", "supervisorPhone": "13800138000", "techUnit": "数字广东网络建设有限公司", "techContact": "王五"} {
			full[k] = v
		}
		f, r = op(gd, "updateFiling", "UpdateFilingInput", map[string]any{"filingId": f.ID, "filing": full})
		if len(f.Missing) != 1 || f.Missing[0].Field != "packageFile" {
			t.Fatalf("only the package missing: %s", r.Raw)
		}
		// Phones left out of an update are kept (clients see them masked).
		delete(full, "techPhone")
		if f, r = op(gd, "updateFiling", "UpdateFilingInput", map[string]any{"filingId": f.ID, "filing": full}); f.TechPhone != "1391*****" || len(f.Missing) != 1 {
			t.Fatalf("an update dropped a phone: %s", r.Raw)
		}
		// The audit log keeps no clear phone.
		if logs := b.gql(t, national, `{ auditLogs(operation: "updateFiling", first: 5) { edges { node { arguments before after } } } }`, nil); strings.Contains(string(logs.Raw), "13800138000") || strings.Contains(string(logs.Raw), "020-83133333") {
			t.Fatalf("a clear phone in the audit log: %.1500s", logs.Raw)
		}
		if res := b.postFile(t, sh, "/app-files", [][2]string{{"filingId", f.ID}, {"kind", "PACKAGE"}}, "yss.apk", zipOf(t, "AndroidManifest.xml")); res.Status != 404 {
			t.Fatalf("another province's upload: %+v", res)
		}
		pkg := b.postFile(t, gd, "/app-files", [][2]string{{"filingId", f.ID}, {"kind", "PACKAGE"}}, "yss.apk", zipOf(t, "AndroidManifest.xml", "classes.dex"))
		if pkg.Status != 200 || len(pkg.SM3) != 64 {
			t.Fatalf("package: %+v", pkg)
		}
		if res, _ := b.downloadPath(t, sh, "/app-files/"+pkg.ID); res.StatusCode != 404 {
			t.Fatalf("another province downloads the package: %d", res.StatusCode)
		}
		if res, body := b.downloadPath(t, national, "/app-files/"+pkg.ID); res.StatusCode != 200 || len(body) == 0 {
			t.Fatalf("the reviewer downloads the package: %d", res.StatusCode)
		}
		f, r = op(gd, "submitFiling", "FilingActionInput", map[string]any{"filingId": f.ID})
		if f.Status != "PENDING" || len(f.Missing) != 0 || f.PackageFile == nil || f.PackageFile.SM3 != pkg.SM3 {
			t.Fatalf("submit: %s", r.Raw)
		}
		// Phones are sealed in the database.
		var row models.Filing
		b.app.DB.Take(&row, "name = ?", "粤省事")
		if strings.Contains(row.TechPhone+row.SupervisorPhone+row.AuthorityPhone, "13912345678") || row.TechPhone == "" {
			t.Fatalf("clear phone stored: %+v", row)
		}
		// Review: by the national platform, every item of 10.3 b–i.
		checks := func(pass bool) []map[string]any {
			var out []map[string]any
			for _, k := range []string{"network", "upgrade", "messages", "screens", "loginMessage", "inputErrors", "privacyTransfer", "privacyPolicy"} {
				out = append(out, map[string]any{"key": k, "passed": pass})
			}
			return out
		}
		_, r = op(gd, "reviewFiling", "ReviewFilingInput", map[string]any{"filingId": f.ID, "approve": true, "checks": checks(true)})
		expectCode(t, r, models.ECodeForbidden)
		_, r = op(national, "reviewFiling", "ReviewFilingInput", map[string]any{"filingId": f.ID, "approve": true, "checks": checks(true)[:7]})
		expectCode(t, r, models.ECodeBadUserInput)
		_, r = op(national, "reviewFiling", "ReviewFilingInput", map[string]any{"filingId": f.ID, "approve": true, "checks": append(checks(true), map[string]any{"key": "colour", "passed": true})})
		expectCode(t, r, models.ECodeBadUserInput)
		_, r = op(national, "reviewFiling", "ReviewFilingInput", map[string]any{"filingId": f.ID, "approve": false, "checks": checks(false)})
		expectCode(t, r, models.ECodeBadUserInput) // a rejection says why
		_, r = op(gd, "markFilingOnline", "FilingActionInput", map[string]any{"filingId": f.ID})
		expectCode(t, r, models.ECodeConflict)
		f, r = op(national, "reviewFiling", "ReviewFilingInput", map[string]any{"filingId": f.ID, "approve": true, "checks": checks(true)})
		if f.Status != "APPROVED" || len(f.Checklist) != 8 || f.Checklist[0].Passed == nil || !*f.Checklist[0].Passed {
			t.Fatalf("approve: %s", r.Raw)
		}
		if f, r = op(gd, "markFilingOnline", "FilingActionInput", map[string]any{"filingId": f.ID}); f.Status != "ONLINE" {
			t.Fatalf("online: %s", r.Raw)
		}
		// A new version is filed again.
		full["version"] = "3.3.0"
		if f, r = op(gd, "updateFiling", "UpdateFilingInput", map[string]any{"filingId": f.ID, "filing": full}); f.Status != "DRAFT" {
			t.Fatalf("new version: %s", r.Raw)
		}
		// A nationwide administrator who edited a filing does not review it.
		editor := b.adminTicketOf(t, 0, true)
		full["version"] = "3.3.1"
		op(editor, "updateFiling", "UpdateFilingInput", map[string]any{"filingId": f.ID, "filing": full})
		if f, r = op(gd, "submitFiling", "FilingActionInput", map[string]any{"filingId": f.ID}); f.Status != "PENDING" {
			t.Fatalf("resubmit: %s", r.Raw)
		}
		_, r = op(editor, "reviewFiling", "ReviewFilingInput", map[string]any{"filingId": f.ID, "approve": true, "checks": checks(true)})
		expectCode(t, r, models.ECodeForbidden)
		// Nobody reviews their own filing.
		dept := map[string]any{"kind": "DEPARTMENTAL", "agencyId": gid("Agency", 1), "name": "国家医保服务平台", "marketName": "国家医保服务平台",
			"packageName": "cn.gov.nhsa", "version": "1.0", "responsibleDept": "国家医保局", "authority": "国家医保局", "authorityPhone": "010-89061111",
			"supervisor": "赵六", "supervisorPhone": "13700137000", "techUnit": "某科技公司", "techContact": "钱七", "techPhone": "13600136000"}
		d, r := op(national, "createFiling", "FilingInput", dept)
		if d.ID == "" {
			t.Fatalf("departmental filing: %s", r.Raw)
		}
		b.postFile(t, national, "/app-files", [][2]string{{"filingId", d.ID}, {"kind", "PACKAGE"}}, "nhsa.ipa", zipOf(t, "Payload/NHSA.app/Info.plist"))
		op(national, "submitFiling", "FilingActionInput", map[string]any{"filingId": d.ID})
		_, r = op(national, "reviewFiling", "ReviewFilingInput", map[string]any{"filingId": d.ID, "approve": true, "checks": checks(true)})
		expectCode(t, r, models.ECodeForbidden)
		expectCode(t, b.gql(t, gd, `query($id: ID!) { filing(id: $id) { id } }`, map[string]any{"id": d.ID}), models.ECodeNotFound)
		// A department's filing has no region, whatever was sent, and is not
		// listed to a province.
		dept["regionCode"], dept["name"] = "440000", "部门二"
		d2, _ := op(national, "createFiling", "FilingInput", dept)
		r = b.gql(t, gd, `{ filings(first: 100) { edges { node { id } } } }`, nil)
		if len(r.Errors) > 0 || strings.Contains(string(r.Raw), d2.ID) || strings.Contains(string(r.Raw), d.ID) || !strings.Contains(string(r.Raw), f.ID) {
			t.Fatalf("a province's list: %s", r.Raw)
		}
	})
}
