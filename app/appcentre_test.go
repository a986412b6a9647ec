package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"govmobile/gm"
	"govmobile/models"
	"govmobile/permission"
)

// regionalAdmin makes an administrator of a region holding the given
// permissions, and logs them in.
func (b *backend) regionalAdmin(t *testing.T, region string, perms ...string) string {
	t.Helper()
	return b.scopedAdmin(t, region, 0, perms...)
}

// scopedAdmin makes an administrator of a region and a department (0:
// none) holding the given permissions, and logs them in.
func (b *backend) scopedAdmin(t *testing.T, region string, agencyID uint64, perms ...string) string {
	t.Helper()
	n := seq.Add(1)
	hash, _ := gm.PasswordHash("Region-Test-123")
	role := &models.Role{Name: fmt.Sprintf("区域角色%d", n), Permissions: perms, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	admin := &models.Admin{Username: fmt.Sprintf("region%s_%d", region, n), PasswordHash: hash, RegionCode: region, AgencyID: agencyID, CreatedAt: time.Now().UTC()}
	if err := b.app.DB.Create(role).Error; err != nil {
		t.Fatal(err)
	}
	if err := b.app.DB.Create(admin).Error; err != nil {
		t.Fatal(err)
	}
	if err := b.app.DB.Create(&models.AdminRole{AdminID: admin.ID, RoleID: role.ID}).Error; err != nil {
		t.Fatal(err)
	}
	var out struct{ AdminLogin struct{ Ticket string } }
	b.gql(t, "", `mutation($in: AdminLoginInput!) { adminLogin(input: $in) { ticket } }`,
		map[string]any{"in": map[string]any{"username": admin.Username, "password": "Region-Test-123"}}).decode(t, &out)
	return out.AdminLogin.Ticket
}

// uploadAppFile posts an app's file.
func (b *backend) uploadAppFile(t *testing.T, ticket, appID, kind, name string, content []byte) uploadResult {
	t.Helper()
	return b.postFile(t, ticket, "/app-files", [][2]string{{"appId", appID}, {"kind", kind}}, name, content)
}

func zipOf(t *testing.T, files ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, _ := zw.Create(f)
		w.Write([]byte("content of " + f))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pngIcon() []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	return buf.Bytes()
}

type appOut struct {
	ID, Status, Kind, OfflineReason string
	Grade, Version, TestedVersion   int
	OfflineAuto                     bool
}

const appFields = `id status kind grade version testedVersion offlineReason offlineAuto`

// TestAppLifeCycle: an app is created, bound to an interface, given files,
// function-tested, submitted, reviewed (not by its owner), published to
// halls with its display settings, opened (usage counted), taken offline
// with a reason, reviewed again before going back online, taken offline
// automatically when its interface keeps failing and when it fails a
// pressure test (its owner told), and given optimisation feedback.
func TestAppLifeCycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var failing atomic.Bool
		src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`{"result_code":"100","date":"2026-11-27"}`))
		}))
		defer src.Close()
		owner, reviewer := b.adminTicketOf(t, 0, true), b.adminTicketOf(t, 0, true)
		op := func(ticket, field, input string, in map[string]any) (appOut, *gqlResponse) {
			r := b.gql(t, ticket, fmt.Sprintf(`mutation($in: %s!) { %s(input: $in) { app { %s } } }`, input, field, appFields), map[string]any{"in": in})
			var out map[string]struct{ App appOut }
			if len(r.Errors) == 0 {
				r.decode(t, &out)
			}
			return out[field].App, r
		}
		code := "shebao-" + b.name
		def := map[string]any{"code": code, "name": "社保待遇资格认证", "summary": "刷脸认证", "category": "社保就业", "kind": "IDENTITY",
			"regionCode": "440000", "url": "https://shebao.example.gov.cn/h5/", "serviceObjects": []string{"NATURAL_PERSON"}}
		app, r := op(owner, "createApp", "CreateAppInput", map[string]any{"app": def})
		if app.Status != "DRAFT" || app.Kind != "IDENTITY" || app.Version != 1 {
			t.Fatalf("create: %s", r.Raw)
		}
		// Bad input.
		_, r = op(owner, "createApp", "CreateAppInput", map[string]any{"app": def})
		expectCode(t, r, models.ECodeConflict)
		for name, change := range map[string]map[string]any{
			"code":    {"code": "社保"},
			"url":     {"url": "ftp://x.example/"},
			"region":  {"regionCode": "999999"},
			"kind":    {"kind": "NATIVE"},
			"no name": {"name": "  "},
		} {
			in := map[string]any{}
			for k, v := range def {
				in[k] = v
			}
			in["code"] = "bad-" + strings.ReplaceAll(name, " ", "-") + b.name
			for k, v := range change {
				in[k] = v
			}
			_, r := op(owner, "createApp", "CreateAppInput", map[string]any{"app": in})
			if len(r.Errors) == 0 || (r.code() != models.ECodeBadUserInput) {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		// A provincial administrator works within their province only.
		sh := b.regionalAdmin(t, "310000", permission.ManageApps, permission.ReviewApps)
		in := map[string]any{}
		for k, v := range def {
			in[k] = v
		}
		in["code"], in["regionCode"] = "national-"+b.name, nil
		_, r = op(sh, "createApp", "CreateAppInput", map[string]any{"app": in})
		expectCode(t, r, models.ECodeBadUserInput)
		expectCode(t, b.gql(t, sh, `query($id: ID!) { adminApp(id: $id) { id } }`, map[string]any{"id": app.ID}), models.ECodeNotFound)
		if r := b.gql(t, sh, `{ adminApps(first: 100) { edges { node { id } } } }`, nil); strings.Contains(string(r.Raw), app.ID) {
			t.Fatalf("another province's app listed: %s", r.Raw)
		}
		_, r = op(sh, "submitApp", "AppActionInput", map[string]any{"appId": app.ID})
		expectCode(t, r, models.ECodeNotFound)
		staff := b.staffTicket(t, 1)
		expectCode(t, b.gql(t, staff, `mutation($in: CreateAppInput!) { createApp(input: $in) { app { id } } }`, map[string]any{"in": map[string]any{"app": def}}), models.ECodeForbidden)
		expectCode(t, b.gql(t, staff, `query($id: ID!) { adminApp(id: $id) { interfaces { address } } }`, map[string]any{"id": app.ID}), models.ECodeForbidden)
		expectCode(t, b.gql(t, staff, `{ adminApps { totalCount } }`, nil), models.ECodeForbidden)

		// Only approved interfaces are bound; submit needs a function test.
		var draftIface struct {
			RegisterInterface struct{ Interface struct{ ID string } }
		}
		b.gql(t, owner, `mutation($in: RegisterInterfaceInput!) { registerInterface(input: $in) { interface { id } } }`,
			map[string]any{"in": map[string]any{"appId": app.ID, "interface": map[string]any{"name": "草稿接口" + b.name, "address": src.URL + "/d", "format": "JSON", "method": "GET"}}}).decode(t, &draftIface)
		_, r = op(owner, "bindAppInterfaces", "BindAppInterfacesInput", map[string]any{"appId": app.ID, "interfaceIds": []string{draftIface.RegisterInterface.Interface.ID}})
		expectCode(t, r, models.ECodeConflict)
		ifaceID := approvedInterface(t, b, owner, reviewer, map[string]any{"name": "资格认证接口" + b.name, "address": src.URL + "/auth"})
		app, r = op(owner, "bindAppInterfaces", "BindAppInterfacesInput", map[string]any{"appId": app.ID, "interfaceIds": []string{ifaceID, ifaceID}})
		if app.Version != 2 || app.Status != "DRAFT" {
			t.Fatalf("bind: %s", r.Raw)
		}
		_, r = op(owner, "submitApp", "AppActionInput", map[string]any{"appId": app.ID})
		expectCode(t, r, models.ECodeConflict)
		var tested struct {
			TestApp struct {
				Passed  bool
				Version int
				Results []struct {
					Outcome   string
					Interface struct{ Name string }
				}
			}
		}
		b.gql(t, owner, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed version results { outcome interface { name } } } }`, map[string]any{"id": app.ID}).decode(t, &tested)
		if !tested.TestApp.Passed || tested.TestApp.Version != 2 || len(tested.TestApp.Results) != 1 || tested.TestApp.Results[0].Outcome != "OK" {
			t.Fatalf("function test: %+v", tested)
		}
		// Files: a package must be a real one; an icon is display only.
		if res := b.uploadAppFile(t, owner, app.ID, "PACKAGE", "app.apk", []byte("not a zip at all")); res.Status != 400 {
			t.Fatalf("a non-zip package: %+v", res)
		}
		if res := b.uploadAppFile(t, owner, app.ID, "PACKAGE", "app.apk", zipOf(t, "classes.dex")); res.Status != 400 || !hasHan(res.Errors[0].Message) {
			t.Fatalf("an APK without a manifest: %+v", res)
		}
		bundle := b.uploadAppFile(t, owner, app.ID, "H5_BUNDLE", "h5.zip", zipOf(t, "dist/index.html", "dist/app.js"))
		if bundle.Status != 200 || len(bundle.SM3) != 64 {
			t.Fatalf("an H5 bundle: %+v", bundle)
		}
		if res := b.uploadAppFile(t, sh, app.ID, "ICON", "icon.png", pngIcon()); res.Status != 404 {
			t.Fatalf("another province's upload: %+v", res)
		}
		icon := b.uploadAppFile(t, owner, app.ID, "ICON", "icon.png", pngIcon())
		if icon.Status != 200 || icon.Type != "image/png" {
			t.Fatalf("icon: %+v", icon)
		}
		// The bundle changed the app: test again, then submit.
		_, r = op(owner, "submitApp", "AppActionInput", map[string]any{"appId": app.ID})
		expectCode(t, r, models.ECodeConflict)
		b.gql(t, owner, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`, map[string]any{"id": app.ID}).decode(t, &tested)
		app, r = op(owner, "submitApp", "AppActionInput", map[string]any{"appId": app.ID})
		if app.Status != "PENDING" {
			t.Fatalf("submit: %s", r.Raw)
		}
		// Not published without review; not reviewed by its owner.
		publish := map[string]any{"appId": app.ID, "halls": []map[string]any{
			{"hall": "NATIONAL", "displayName": "资格认证", "iconFileId": icon.ID, "sortOrder": 5},
			{"hall": "region:440000", "category": "社保"}}}
		_, r = op(reviewer, "publishApp", "PublishAppInput", publish)
		expectCode(t, r, models.ECodeConflict)
		_, r = op(owner, "reviewApp", "ReviewAppInput", map[string]any{"appId": app.ID, "approve": true})
		expectCode(t, r, models.ECodeForbidden)
		_, r = op(reviewer, "reviewApp", "ReviewAppInput", map[string]any{"appId": app.ID, "approve": false})
		expectCode(t, r, models.ECodeBadUserInput)
		app, r = op(reviewer, "reviewApp", "ReviewAppInput", map[string]any{"appId": app.ID, "approve": true, "grade": 2})
		if app.Status != "APPROVED" || app.Grade != 2 {
			t.Fatalf("review: %s", r.Raw)
		}
		// A provincial reviewer cannot publish to the national hall.
		_, r = op(sh, "publishApp", "PublishAppInput", publish)
		expectCode(t, r, models.ECodeNotFound)
		app, r = op(reviewer, "publishApp", "PublishAppInput", publish)
		if app.Status != "ONLINE" {
			t.Fatalf("publish: %s", r.Raw)
		}
		hall := func(h string) string {
			return string(b.gql(t, "", `query($h: String!) { hallApps(hall: $h) { displayName iconUrl category sortOrder app { id name } } }`, map[string]any{"h": h}).Raw)
		}
		if raw := hall("NATIONAL"); !strings.Contains(raw, `"displayName":"资格认证"`) || !strings.Contains(raw, "/app-files/") {
			t.Fatalf("national hall: %s", raw)
		}
		if raw := hall("REGION:440000"); !strings.Contains(raw, `"category":"社保"`) || !strings.Contains(raw, `"displayName":"社保待遇资格认证"`) {
			t.Fatalf("province hall: %s", raw)
		}
		expectCode(t, b.gql(t, "", `{ hallApps(hall: "MOON") { displayName } }`, nil), models.ECodeBadUserInput)
		// The icon of an online app is public; the bundle is not.
		if res, _ := b.downloadPath(t, "", "/app-files/"+icon.ID); res.StatusCode != 200 {
			t.Fatalf("public icon: %d", res.StatusCode)
		}
		if res, _ := b.downloadPath(t, "", "/app-files/"+bundle.ID); res.StatusCode != 404 {
			t.Fatalf("public bundle: %d", res.StatusCode)
		}
		if res, body := b.downloadPath(t, reviewer, "/app-files/"+bundle.ID); res.StatusCode != 200 || len(body) == 0 {
			t.Fatalf("the reviewer downloads the bundle: %d", res.StatusCode)
		}
		// An icon in use stays.
		expectCode(t, b.gql(t, owner, `mutation($id: ID!) { removeAppFile(input: {fileId: $id}) { app { id } } }`, map[string]any{"id": icon.ID}), models.ECodeConflict)
		// Usage: opens and distinct users by day.
		user := b.register(t, person(t)).Ticket
		for _, ticket := range []string{user, user, ""} {
			r := b.gql(t, ticket, `mutation($id: ID!) { openApp(appId: $id) { url } }`, map[string]any{"id": app.ID})
			if !strings.Contains(string(r.Raw), "https://shebao.example.gov.cn/h5/") {
				t.Fatalf("open: %s", r.Raw)
			}
		}
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		usage := b.gql(t, reviewer, `query($id: ID!, $d: String!) { adminApp(id: $id) { usage(from: $d, to: $d) { day opens users } } }`, map[string]any{"id": app.ID, "d": today})
		if !strings.Contains(string(usage.Raw), `"opens":3,"users":1`) {
			t.Fatalf("usage: %s", usage.Raw)
		}
		expectCode(t, b.gql(t, reviewer, `query($id: ID!) { adminApp(id: $id) { usage(from: "2026-13-01", to: "2026-01-01") { day } } }`, map[string]any{"id": app.ID}), models.ECodeBadUserInput)
		// Not changed while online.
		_, r = op(owner, "updateApp", "UpdateAppInput", map[string]any{"appId": app.ID, "app": def})
		expectCode(t, r, models.ECodeConflict)

		// Take offline with a reason; back online only through review.
		_, r = op(reviewer, "takeAppOffline", "TakeAppOfflineInput", map[string]any{"appId": app.ID, "reason": " "})
		expectCode(t, r, models.ECodeBadUserInput)
		app, r = op(reviewer, "takeAppOffline", "TakeAppOfflineInput", map[string]any{"appId": app.ID, "reason": "页面适配问题"})
		if app.Status != "OFFLINE" || app.OfflineReason != "页面适配问题" || app.OfflineAuto {
			t.Fatalf("offline: %s", r.Raw)
		}
		if raw := hall("NATIONAL"); strings.Contains(raw, app.ID) {
			t.Fatalf("an offline app in its hall: %s", raw)
		}
		expectCode(t, b.gql(t, user, `mutation($id: ID!) { openApp(appId: $id) { url } }`, map[string]any{"id": app.ID}), models.ECodeNotFound)
		_, r = op(reviewer, "publishApp", "PublishAppInput", publish)
		expectCode(t, r, models.ECodeConflict)
		// Tested and reviewed again before going back online.
		_, r = op(owner, "submitApp", "AppActionInput", map[string]any{"appId": app.ID})
		expectCode(t, r, models.ECodeConflict)
		backOnline := func() {
			t.Helper()
			b.gql(t, owner, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`, map[string]any{"id": app.ID}).decode(t, &tested)
			if !tested.TestApp.Passed {
				t.Fatalf("function test failed")
			}
			for _, step := range []struct {
				ticket, field, input string
				in                   map[string]any
				want                 string
			}{
				{owner, "submitApp", "AppActionInput", map[string]any{"appId": app.ID}, "PENDING"},
				{reviewer, "reviewApp", "ReviewAppInput", map[string]any{"appId": app.ID, "approve": true}, "APPROVED"},
				{reviewer, "publishApp", "PublishAppInput", publish, "ONLINE"},
			} {
				if got, r := op(step.ticket, step.field, step.input, step.in); got.Status != step.want {
					t.Fatalf("%s: %s", step.field, r.Raw)
				}
			}
		}
		backOnline()

		// A pressure test of a healthy app passes; bounds are checked.
		pressure := `mutation($in: PressureTestAppInput!) { pressureTestApp(input: $in) { requests failures poor takenOffline p95Ms } }`
		if r := b.gql(t, reviewer, pressure, map[string]any{"in": map[string]any{"appId": app.ID, "concurrency": 4, "requests": 40}}); !strings.Contains(string(r.Raw), `"failures":0,"poor":false,"takenOffline":false`) {
			t.Fatalf("pressure: %s", r.Raw)
		}
		expectCode(t, b.gql(t, reviewer, pressure, map[string]any{"in": map[string]any{"appId": app.ID, "concurrency": 100, "requests": 100}}), models.ECodeBadUserInput)

		// The interface keeps failing its health checks: the app goes
		// offline by itself and its owner is told.
		failing.Store(true)
		b.app.DB.Model(&models.SourceInterface{}).Where("address NOT LIKE ?", src.URL+"%").Update("next_check_at", time.Now().Add(24*time.Hour))
		cfg := b.app.HealthConfig()
		cfg.Interval = time.Minute
		for i := range 5 {
			if _, err := b.app.Interfaces.CheckDue(context.Background(), time.Now().UTC().Add(time.Duration(i)*(time.Minute+time.Second)), cfg); err != nil {
				t.Fatal(err)
			}
		}
		var got struct{ AdminApp appOut }
		b.gql(t, owner, `query($id: ID!) { adminApp(id: $id) { `+appFields+` } }`, map[string]any{"id": app.ID}).decode(t, &got)
		if got.AdminApp.Status != "OFFLINE" || !got.AdminApp.OfflineAuto || !strings.Contains(got.AdminApp.OfflineReason, "连续5次") {
			t.Fatalf("auto offline: %+v", got.AdminApp)
		}
		var notices struct {
			AdminNotices []struct {
				ID, Title string
				Read      bool
				App       struct{ ID string }
			}
		}
		b.gql(t, owner, `{ adminNotices(unreadOnly: true) { id title read app { id } } }`, nil).decode(t, &notices)
		if len(notices.AdminNotices) != 1 || notices.AdminNotices[0].App.ID != app.ID || !strings.Contains(notices.AdminNotices[0].Title, "自动下线") {
			t.Fatalf("notices: %+v", notices)
		}
		expectCode(t, b.gql(t, reviewer, `mutation($id: ID!) { markAdminNoticeRead(id: $id) }`, map[string]any{"id": notices.AdminNotices[0].ID}), models.ECodeNotFound)
		b.gql(t, owner, `mutation($id: ID!) { markAdminNoticeRead(id: $id) }`, map[string]any{"id": notices.AdminNotices[0].ID}).decode(t, &struct{}{})
		if r := b.gql(t, owner, `{ adminNotices(unreadOnly: true) { id } }`, nil); !strings.Contains(string(r.Raw), `"adminNotices":[]`) {
			t.Fatalf("read notice still unread: %s", r.Raw)
		}

		// Back online once fixed; then a failing pressure test takes it
		// offline.
		failing.Store(false)
		backOnline()
		failing.Store(true)
		if r := b.gql(t, reviewer, pressure, map[string]any{"in": map[string]any{"appId": app.ID, "concurrency": 2, "requests": 10}}); !strings.Contains(string(r.Raw), `"poor":true,"takenOffline":true`) {
			t.Fatalf("failing pressure test: %s", r.Raw)
		}

		// Optimisation feedback, archived once.
		var fb struct{ AddAppFeedback struct{ ID, Status string } }
		b.gql(t, reviewer, `mutation($id: ID!) { addAppFeedback(input: {appId: $id, content: "首页加载偏慢，建议压缩图片"}) { id status } }`, map[string]any{"id": app.ID}).decode(t, &fb)
		archive := `mutation($id: ID!) { archiveAppFeedback(input: {feedbackId: $id, resolution: "已压缩图片"}) { status resolution } }`
		if r := b.gql(t, owner, archive, map[string]any{"id": fb.AddAppFeedback.ID}); !strings.Contains(string(r.Raw), `"ARCHIVED"`) {
			t.Fatalf("archive: %s", r.Raw)
		}
		expectCode(t, b.gql(t, owner, archive, map[string]any{"id": fb.AddAppFeedback.ID}), models.ECodeConflict)

		// The audit log keeps each change's before and after.
		var logs struct {
			AuditLogs struct {
				Edges []struct {
					Node struct{ Before, After *string }
				}
			}
		}
		b.gql(t, reviewer, `{ auditLogs(operation: "takeAppOffline", first: 1) { edges { node { before after } } } }`, nil).decode(t, &logs)
		if e := logs.AuditLogs.Edges; len(e) != 1 || e[0].Node.Before == nil || e[0].Node.After == nil ||
			!strings.Contains(*e[0].Node.Before, `"Status":"ONLINE"`) || !strings.Contains(*e[0].Node.After, `"Status":"OFFLINE"`) {
			t.Fatalf("before/after: %+v", logs)
		}
		b.gql(t, reviewer, `{ auditLogs(operation: "bindAppInterfaces", first: 100) { edges { node { before after } } } }`, nil).decode(t, &logs)
		bound := false
		for _, e := range logs.AuditLogs.Edges {
			if e.Node.Before != nil && e.Node.After != nil && (strings.Contains(*e.Node.Before, `"InterfaceIDs":null`) || strings.Contains(*e.Node.Before, `"InterfaceIDs":[]`)) && strings.Contains(*e.Node.After, `"InterfaceIDs":[`) && !strings.Contains(*e.Node.After, `"InterfaceIDs":[]`) {
				bound = true
			}
		}
		if !bound {
			t.Fatalf("a binding's before and after: %+v", logs)
		}
		// A mutation naming no managed object keeps no snapshot.
		b.gql(t, reviewer, `{ auditLogs(operation: "createApp", first: 100) { edges { node { before after } } } }`, nil).decode(t, &logs)
		for _, e := range logs.AuditLogs.Edges {
			if e.Node.Before != nil || e.Node.After != nil {
				t.Fatalf("a creation with a snapshot: %+v", logs)
			}
		}

		// The record of every step.
		var ev struct {
			AdminApp struct {
				Events []struct {
					Action        string
					AdminUsername *string
				}
			}
		}
		b.gql(t, owner, `query($id: ID!) { adminApp(id: $id) { events { action adminUsername } } }`, map[string]any{"id": app.ID}).decode(t, &ev)
		seen := map[string]bool{}
		for _, e := range ev.AdminApp.Events {
			seen[e.Action] = true
			if e.Action == "AUTO_OFFLINE" && e.AdminUsername != nil {
				t.Errorf("an automatic step with an administrator: %+v", e)
			}
		}
		for _, a := range []string{"CREATE", "BIND", "UPLOAD", "FUNCTION_TEST", "SUBMIT", "APPROVE", "PUBLISH", "TAKE_OFFLINE", "AUTO_OFFLINE", "PRESSURE_TEST"} {
			if !seen[a] {
				t.Errorf("no %s event: %v", a, seen)
			}
		}
	})
}

func (b *backend) downloadPath(t *testing.T, ticket, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	res := send(t, req, ticket)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// TestAppScopes: a province's reviewer publishes only to halls of the
// province, and never takes an app out of the national hall; a department's
// administrator connects and sees only the department's apps.
func TestAppScopes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		gdOwner := b.regionalAdmin(t, "440000", permission.ManageApps)
		gdReviewer := b.regionalAdmin(t, "440000", permission.ReviewApps)
		national := b.adminTicketOf(t, 0, true)
		op := func(ticket, field, input string, in map[string]any) (appOut, *gqlResponse) {
			r := b.gql(t, ticket, fmt.Sprintf(`mutation($in: %s!) { %s(input: $in) { app { %s } } }`, input, field, appFields), map[string]any{"in": in})
			var out map[string]struct{ App appOut }
			if len(r.Errors) == 0 {
				r.decode(t, &out)
			}
			return out[field].App, r
		}
		app, r := op(gdOwner, "createApp", "CreateAppInput", map[string]any{"app": map[string]any{"code": "yss-" + b.name, "name": "粤省事",
			"category": "综合", "regionCode": "440100", "url": "https://yss.example.gov.cn/"}})
		if app.ID == "" {
			t.Fatalf("create: %s", r.Raw)
		}
		b.gql(t, gdOwner, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`, map[string]any{"id": app.ID}).decode(t, &struct{}{})
		if app, r = op(gdOwner, "submitApp", "AppActionInput", map[string]any{"appId": app.ID}); app.Status != "PENDING" {
			t.Fatalf("submit: %s", r.Raw)
		}
		if app, r = op(gdReviewer, "reviewApp", "ReviewAppInput", map[string]any{"appId": app.ID, "approve": true}); app.Status != "APPROVED" {
			t.Fatalf("review: %s", r.Raw)
		}
		halls := func(hs ...string) map[string]any {
			var list []map[string]any
			for _, h := range hs {
				list = append(list, map[string]any{"hall": h})
			}
			return map[string]any{"appId": app.ID, "halls": list}
		}
		for _, h := range []string{"NATIONAL", "REGION:310000"} {
			_, r = op(gdReviewer, "publishApp", "PublishAppInput", halls(h))
			expectCode(t, r, models.ECodeForbidden)
		}
		if app, r = op(gdReviewer, "publishApp", "PublishAppInput", halls("REGION:440000", "REGION:440100")); app.Status != "ONLINE" {
			t.Fatalf("publish in the province: %s", r.Raw)
		}
		if app, r = op(national, "publishApp", "PublishAppInput", halls("REGION:440000", "NATIONAL")); app.Status != "ONLINE" {
			t.Fatalf("national hall added: %s", r.Raw)
		}
		// The province replaces its own placements; the national one stays.
		if app, r = op(gdReviewer, "publishApp", "PublishAppInput", halls("REGION:440000")); app.Status != "ONLINE" {
			t.Fatalf("republish in the province: %s", r.Raw)
		}
		var placed struct {
			AdminApp struct{ Placements []struct{ Hall string } }
		}
		b.gql(t, national, `query($id: ID!) { adminApp(id: $id) { placements { hall } } }`, map[string]any{"id": app.ID}).decode(t, &placed)
		if got := fmt.Sprint(placed.AdminApp.Placements); got != "[{NATIONAL} {REGION:440000}]" {
			t.Fatalf("placements after the province republished: %s", got)
		}

		// Departments.
		dept1 := b.scopedAdmin(t, "", 1, permission.ManageApps, permission.ReviewApps)
		dept2 := b.scopedAdmin(t, "", 2, permission.ManageApps, permission.ReviewApps)
		d, r := op(dept1, "createApp", "CreateAppInput", map[string]any{"app": map[string]any{"code": "dept-" + b.name, "name": "部门应用",
			"category": "综合", "url": "https://dept.example.gov.cn/", "agencyId": gid("Agency", 2)}})
		if d.ID == "" {
			t.Fatalf("department app: %s", r.Raw)
		}
		var got struct {
			AdminApp struct{ Agency struct{ ID string } }
		}
		b.gql(t, dept1, `query($id: ID!) { adminApp(id: $id) { agency { id } } }`, map[string]any{"id": d.ID}).decode(t, &got)
		if got.AdminApp.Agency.ID != gid("Agency", 1) {
			t.Fatalf("a department's app belongs to the department: %+v", got)
		}
		expectCode(t, b.gql(t, dept2, `query($id: ID!) { adminApp(id: $id) { id } }`, map[string]any{"id": d.ID}), models.ECodeNotFound)
		_, r = op(dept2, "updateApp", "UpdateAppInput", map[string]any{"appId": d.ID, "app": map[string]any{"code": "dept-" + b.name, "name": "改名",
			"category": "综合", "url": "https://dept.example.gov.cn/"}})
		expectCode(t, r, models.ECodeNotFound)
		if r := b.gql(t, dept2, `{ adminApps(first: 100) { edges { node { id } } } }`, nil); len(r.Errors) > 0 || strings.Contains(string(r.Raw), d.ID) {
			t.Fatalf("another department's app listed: %s", r.Raw)
		}
		// A department publishes to its own hall only.
		b.gql(t, dept1, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`, map[string]any{"id": d.ID}).decode(t, &struct{}{})
		op(dept1, "submitApp", "AppActionInput", map[string]any{"appId": d.ID})
		if d, r = op(national, "reviewApp", "ReviewAppInput", map[string]any{"appId": d.ID, "approve": true}); d.Status != "APPROVED" {
			t.Fatalf("review: %s", r.Raw)
		}
		for _, h := range []string{"NATIONAL", "REGION:440000", "AGENCY:2"} {
			_, r = op(dept1, "publishApp", "PublishAppInput", map[string]any{"appId": d.ID, "halls": []map[string]any{{"hall": h}}})
			expectCode(t, r, models.ECodeForbidden)
		}
		if d, r = op(dept1, "publishApp", "PublishAppInput", map[string]any{"appId": d.ID, "halls": []map[string]any{{"hall": "AGENCY:1"}}}); d.Status != "ONLINE" {
			t.Fatalf("own hall: %s", r.Raw)
		}
	})
}
