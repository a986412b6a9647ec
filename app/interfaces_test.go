package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"govmobile/models"
)

// sourceServer is an app's source interface, on loopback.
func sourceServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/query", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{ "process_response": { "result_code": "100", "date": "2018-04-25", "items": [{ "id": "15485", "name": "张*" }] } }`))
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"result_code":"102","error_code":"E01","error_msg":"业务代码无效","date":"2026-11-27"}`))
	})
	mux.HandleFunc("/words", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"result_code":"100","msg":"教你翻墙"}`))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2<<20)) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>维护中</html>")) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type ifaceOut struct {
	ID, Status, Protocol string
	Flagged              bool
	FlaggedWords         []string
}

func TestSourceInterfaces(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		src := sourceServer(t)
		var app models.App
		if err := b.app.DB.Order("id").First(&app).Error; err != nil {
			t.Fatal(err)
		}
		registrant, reviewer := b.adminTicket(t), b.adminTicketOf(t, 0, true)
		register := `mutation($in: RegisterInterfaceInput!) { registerInterface(input: $in) { interface { id status protocol flagged flaggedWords } } }`
		def := func(name, path string) map[string]any {
			return map[string]any{"name": name, "address": src.URL + path, "format": "json", "method": "get", "remark": "示例7",
				"requestParams": []map[string]any{
					{"name": "region", "required": true, "type": "string"}, {"name": "pf", "required": true, "type": "string"},
					{"name": "auth_code", "required": true, "type": "string"}, {"name": "name", "required": true, "type": "string", "description": "用户姓名"}},
				"responseParams": []map[string]any{{"name": "result_code", "required": true, "type": "string"}}}
		}
		reg := func(ticket string, in map[string]any) (*ifaceOut, *gqlResponse) {
			r := b.gql(t, ticket, register, map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "interface": in}})
			var out struct{ RegisterInterface struct{ Interface ifaceOut } }
			if len(r.Errors) > 0 {
				return nil, r
			}
			r.decode(t, &out)
			return &out.RegisterInterface.Interface, r
		}
		x, r := reg(registrant, def("查询接口"+b.name, "/query"))
		if x == nil || x.Status != "DRAFT" || x.Protocol != "HTTP" {
			t.Fatalf("registered: %s", r.Raw)
		}
		_, r = reg(registrant, def("查询接口"+b.name, "/query"))
		expectCode(t, r, models.ECodeConflict)
		for name, in := range map[string]map[string]any{
			"metadata address": {"name": "元数据", "address": "http://169.254.169.254/latest", "format": "JSON", "method": "GET"},
			"ftp":              {"name": "ftp", "address": "ftp://example.com/x", "format": "JSON", "method": "GET"},
			"PUT":              {"name": "put", "address": src.URL + "/query", "format": "JSON", "method": "PUT"},
			"XML":              {"name": "xml", "address": src.URL + "/query", "format": "XML", "method": "GET"},
			"bad param":        {"name": "bad", "address": src.URL + "/query", "format": "JSON", "method": "GET", "requestParams": []map[string]any{{"name": "1x", "required": true, "type": "string"}}},
			"bad type":         {"name": "bad2", "address": src.URL + "/query", "format": "JSON", "method": "GET", "requestParams": []map[string]any{{"name": "x", "required": true, "type": "date"}}},
		} {
			if _, r := reg(registrant, in); len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != models.ECodeBadUserInput {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		expectCode(t, b.gql(t, b.staffTicket(t, 1), register, map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "interface": def("越权", "/query")}}), models.ECodeForbidden)

		// The connectivity test: the request sent (standard parameters
		// filled in) and the raw response, its envelope read.
		testQ := `mutation($in: TestInterfaceInput!) { testInterface(input: $in) { request { method url body } status body resultCode resultMeaning errorCode errorMsg date failure flaggedWords } }`
		type result struct {
			Request                                                             struct{ Method, URL, Body string }
			Status                                                              int
			Body, ResultCode, ResultMeaning, ErrorCode, ErrorMsg, Date, Failure string
			FlaggedWords                                                        []string
		}
		test := func(id string, params ...map[string]any) (result, *gqlResponse) {
			r := b.gql(t, registrant, testQ, map[string]any{"in": map[string]any{"interfaceId": id, "params": params}})
			var out struct{ TestInterface result }
			if len(r.Errors) == 0 {
				r.decode(t, &out)
			}
			return out.TestInterface, r
		}
		_, r = test(x.ID)
		expectCode(t, r, models.ECodeBadUserInput) // name is required
		res, r := test(x.ID, map[string]any{"name": "name", "value": "张三"})
		if res.Status != 200 || res.ResultCode != "100" || res.ResultMeaning != "处理成功" || res.Date != "2018-04-25" ||
			!strings.Contains(res.Request.URL, "region=100000") || !strings.Contains(res.Request.URL, "pf=gov") || !strings.Contains(res.Request.URL, "auth_code=") {
			t.Fatalf("test: %s", r.Raw)
		}
		for path, want := range map[string]string{"/big": "过大", "/loop": "重定向"} {
			y, _ := reg(registrant, def("接口"+path+b.name, path))
			if res, r := test(y.ID, map[string]any{"name": "name", "value": "x"}); !strings.Contains(res.Failure, want) {
				t.Errorf("%s: %s", path, r.Raw)
			}
		}
		fail, _ := reg(registrant, def("失败接口"+b.name, "/fail"))
		if res, r := test(fail.ID, map[string]any{"name": "name", "value": "x"}); res.ResultCode != "102" || res.ErrorCode != "E01" || res.ErrorMsg != "业务代码无效" {
			t.Errorf("fail: %s", r.Raw)
		}
		html, _ := reg(registrant, def("网页"+b.name, "/html"))
		if res, r := test(html.ID, map[string]any{"name": "name", "value": "x"}); res.Status != 200 || res.ResultCode != "" || res.Body == "" {
			t.Errorf("html: %s", r.Raw)
		}

		// Sensitive words flag the interface for its reviewer.
		b.gql(t, reviewer, `mutation { addSensitiveWords(input: {words: ["翻墙", " 翻墙 ", ""]}) { added } }`, nil).decode(t, &struct{}{})
		words, _ := reg(registrant, def("敏感"+b.name, "/words"))
		if res, r := test(words.ID, map[string]any{"name": "name", "value": "x"}, map[string]any{"name": "token", "value": "s3cr3t-value"}); len(res.FlaggedWords) != 1 || res.FlaggedWords[0] != "翻墙" {
			t.Fatalf("words: %s", r.Raw)
		}
		var audit struct {
			AuditLogs struct {
				Edges []struct{ Node struct{ Arguments string } }
			}
		}
		b.gql(t, registrant, `{ auditLogs(operation: "testInterface", first: 1) { edges { node { arguments } } } }`, nil).decode(t, &audit)
		if len(audit.AuditLogs.Edges) != 1 || strings.Contains(audit.AuditLogs.Edges[0].Node.Arguments, "s3cr3t-value") {
			t.Fatalf("a secret test parameter in the audit log: %+v", audit)
		}

		// Review: not by the registrant; a rejection says why; an approved
		// interface that changes is reviewed again.
		step := func(ticket, m, in string, vars map[string]any) *gqlResponse {
			return b.gql(t, ticket, `mutation($in: `+in+`!) { `+m+`(input: $in) { interface { status flagged flaggedWords } } }`, map[string]any{"in": vars})
		}
		var st struct {
			ReviewInterface struct{ Interface ifaceOut }
		}
		// Submitted by another registrant, it is still not the author's to
		// approve.
		step(b.adminTicketOf(t, 0, true), "submitInterface", "InterfaceInput", map[string]any{"interfaceId": words.ID}).decode(t, &struct{}{})
		expectCode(t, step(registrant, "reviewInterface", "ReviewInterfaceInput", map[string]any{"interfaceId": words.ID, "approve": true}), models.ECodeForbidden)
		expectCode(t, step(reviewer, "reviewInterface", "ReviewInterfaceInput", map[string]any{"interfaceId": words.ID, "approve": false}), models.ECodeBadUserInput)
		step(reviewer, "reviewInterface", "ReviewInterfaceInput", map[string]any{"interfaceId": words.ID, "approve": true}).decode(t, &st)
		if i := st.ReviewInterface.Interface; i.Status != "APPROVED" || !i.Flagged || len(i.FlaggedWords) != 1 {
			t.Fatalf("reviewed: %+v", i)
		}
		expectCode(t, step(registrant, "submitInterface", "InterfaceInput", map[string]any{"interfaceId": words.ID}), models.ECodeConflict)
		var up struct{ UpdateInterface struct{ Interface ifaceOut } }
		step(registrant, "updateInterface", "UpdateInterfaceInput", map[string]any{"interfaceId": words.ID, "interface": def("敏感"+b.name, "/query")}).decode(t, &up)
		if up.UpdateInterface.Interface.Status != "DRAFT" {
			t.Fatalf("an approved interface changed: %+v", up)
		}
	})
}
