package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"govmobile/models"
	"govmobile/permission"
)

// exchangeCall sends a catalogue exchange request with an admin ticket.
func (b *backend) exchangeCall(t *testing.T, ticket, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ticket != "" {
		req.Header.Set("Authorization", "Bearer "+ticket)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

type importReport struct {
	Applied                        bool
	Total, Valid, Created, Updated int
	Unchanged                      int
	Errors                         []struct {
		Row            int
		Field, Message string
	}
}

// TestCatalogueExchange (8.3.3 a, b): a province exports its matters and
// imports an edited file; a dry run reports and writes nothing; a file with
// a bad row applies nothing and names the row; the exchange stays within
// the administrator's region and is audit-logged.
func TestCatalogueExchange(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		zj := b.scopedAdmin(t, "330000", 0, permission.ManageCatalogue)
		sh := b.scopedAdmin(t, "310000", 0, permission.ManageCatalogue)
		noPerm := b.scopedAdmin(t, "330000", 0, permission.ReadStatistics)

		st, raw := b.exchangeCall(t, zj, "GET", "/catalogue/export?kind=MATTER&format=JSON", nil)
		if st != 200 {
			t.Fatalf("export: %d %s", st, raw)
		}
		var file struct {
			Kind    string           `json:"kind"`
			Version int              `json:"version"`
			Items   []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(raw, &file); err != nil || file.Kind != "MATTER" || len(file.Items) == 0 {
			t.Fatalf("exported file: %v %s", err, raw[:min(len(raw), 300)])
		}
		for _, it := range file.Items {
			if rc, _ := it["regionCode"].(string); !strings.HasPrefix(rc, "33") {
				t.Fatalf("an item outside the region: %v", it)
			}
		}
		if st, raw := b.exchangeCall(t, zj, "GET", "/catalogue/export?kind=MATTER&format=CSV", nil); st != 200 || !strings.HasPrefix(string(raw), "\ufeff") {
			t.Fatalf("csv export: %d %.200s", st, raw)
		}
		if st, _ := b.exchangeCall(t, sh, "GET", "/catalogue/export?kind=MATTER&format=JSON&regionCode=330100", nil); st != 403 {
			t.Fatalf("another province's export: %d", st)
		}
		if st, _ := b.exchangeCall(t, noPerm, "GET", "/catalogue/export?kind=MATTER&format=JSON", nil); st != 403 {
			t.Fatalf("export without the permission: %d", st)
		}
		if st, _ := b.exchangeCall(t, "", "GET", "/catalogue/export?kind=MATTER&format=JSON", nil); st != 401 {
			t.Fatalf("anonymous export: %d", st)
		}
		if st, _ := b.exchangeCall(t, zj, "GET", "/catalogue/export?kind=CATS&format=JSON", nil); st != 400 {
			t.Fatalf("unknown kind: %d", st)
		}

		// Edit one matter's summary; the unchanged rest is a no-op.
		code, _ := file.Items[0]["code"].(string)
		file.Items[0]["summary"] = "本省同步后的事项概述：全程网办，一次不用跑。"
		edited, _ := json.Marshal(file)
		importAs := func(ticket string, body []byte, dry bool) (int, importReport) {
			path := "/catalogue/import?kind=MATTER&format=JSON"
			if dry {
				path += "&dryRun=true"
			}
			st, raw := b.exchangeCall(t, ticket, "POST", path, body)
			var rep importReport
			if st == 200 {
				if err := json.Unmarshal(raw, &rep); err != nil {
					t.Fatalf("report: %v %s", err, raw)
				}
			}
			return st, rep
		}
		summary := func() string {
			var m models.Matter
			if err := b.app.DB.Where("code = ?", code).Take(&m).Error; err != nil {
				t.Fatal(err)
			}
			return m.Summary
		}
		before := summary()
		st, rep := importAs(zj, edited, true)
		if st != 200 || rep.Applied || rep.Updated != 1 || rep.Unchanged != len(file.Items)-1 || summary() != before {
			t.Fatalf("dry run: %d %+v", st, rep)
		}
		st, rep = importAs(zj, edited, false)
		if st != 200 || !rep.Applied || rep.Updated != 1 || summary() != "本省同步后的事项概述：全程网办，一次不用跑。" {
			t.Fatalf("apply: %d %+v", st, rep)
		}
		// Another province cannot take the matter over by its code.
		if st, rep = importAs(sh, edited, false); st != 200 || rep.Applied || len(rep.Errors) == 0 {
			t.Fatalf("another province's import: %d %+v", st, rep)
		}

		// One bad row: nothing applied, the row and field named.
		file.Items[0]["summary"] = "又一次修改"
		file.Items[len(file.Items)-1]["nature"] = "不存在的事项类型"
		bad, _ := json.Marshal(file)
		st, rep = importAs(zj, bad, false)
		if st != 200 || rep.Applied || len(rep.Errors) != 1 || rep.Errors[0].Row != len(file.Items) || rep.Errors[0].Field != "nature" ||
			summary() == "又一次修改" {
			t.Fatalf("a bad row: %d %+v", st, rep)
		}
		// A department's administrator exchanges only the department's
		// matters and guides, never agencies (their own included).
		var ag models.Agency
		if err := b.app.DB.Where("region_code LIKE ?", "33%").Order("id").First(&ag).Error; err != nil {
			t.Fatal(err)
		}
		dept := b.scopedAdmin(t, "", ag.ID, permission.ManageCatalogue)
		moved, _ := json.Marshal(map[string]any{"kind": "AGENCY", "version": 1, "items": []map[string]any{{"code": ag.Code, "name": ag.Name, "level": "NATIONAL", "regionCode": "110101"}}})
		if st, _ := b.exchangeCall(t, dept, "POST", "/catalogue/import?kind=AGENCY&format=JSON", moved); st != 403 {
			t.Fatalf("a department's administrator imports agencies: %d", st)
		}
		st, raw = b.exchangeCall(t, dept, "GET", "/catalogue/export?kind=MATTER&format=JSON", nil)
		var mine struct{ Items []map[string]any }
		if err := json.Unmarshal(raw, &mine); st != 200 || err != nil {
			t.Fatalf("a department's export: %d %v", st, err)
		}
		for _, it := range mine.Items {
			if it["agencyCode"] != ag.Code {
				t.Fatalf("another agency's matter in a department's export: %v", it["agencyCode"])
			}
		}
		if st, _ = importAs(zj, []byte(`{"kind":"MATTER","version":9,"items":[]}`), false); st != 400 {
			t.Fatalf("a file of another version: %d", st)
		}
		var logged int64
		if err := b.app.DB.Model(&models.AuditLog{}).Where("operation IN ?", []string{"importCatalogue", "exportCatalogue"}).Count(&logged).Error; err != nil || logged < 6 {
			t.Fatalf("audit entries: %d %v", logged, err)
		}
	})
}
