package exchange_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"govmobile/catalogue/exchange"
	"govmobile/models"
)

var formats = []exchange.Format{exchange.JSON, exchange.CSV}

// TestRoundTrip: exporting a kind and importing the file again changes
// nothing, for every kind and format, nationwide and within a province.
func TestRoundTrip(t *testing.T) {
	db := newDB(t)
	before := counts(t, db)
	want := map[exchange.Kind]int{
		exchange.KindAgency: int(before.Agencies), exchange.KindHall: int(before.Halls),
		exchange.KindMatter: int(before.Matters), exchange.KindGuide: int(before.Guides),
	}
	for _, kind := range exchange.Kinds {
		for _, format := range formats {
			for _, scope := range []exchange.Scope{{}, {RegionPrefix: "33"}} {
				t.Run(fmt.Sprintf("%s/%s/%q", kind, format, scope.RegionPrefix), func(t *testing.T) {
					file := export(t, db, kind, format, scope)
					rep := importFile(t, db, kind, format, file, exchange.Options{Scope: scope})
					if len(rep.Errors) > 0 {
						t.Fatalf("errors: %+v", rep.Errors[:min(5, len(rep.Errors))])
					}
					if rep.Unchanged != rep.Total || rep.Created+rep.Updated != 0 || rep.Valid != rep.Total || rep.Total == 0 {
						t.Fatalf("report %+v, want every row unchanged", rep)
					}
					if scope.RegionPrefix == "" && rep.Total != want[kind] {
						t.Fatalf("exported %d rows, the catalogue has %d", rep.Total, want[kind])
					}
				})
			}
		}
	}
	if after := counts(t, db); after != before {
		t.Fatalf("round trips wrote: %+v, was %+v", after, before)
	}
}

// TestRoundTripAfterEdit: an edited row is the only one updated; the
// matter is queued for the search index; exporting again round-trips.
func TestRoundTripAfterEdit(t *testing.T) {
	for _, format := range formats {
		t.Run(string(format), func(t *testing.T) {
			db := newDB(t)
			file := export(t, db, exchange.KindMatter, format, exchange.Scope{RegionPrefix: "3301"})
			m := matterByCode(t, db, "11100000M8EWX1M45Q4070001000011-330106")
			edited := bytes.Replace(file, []byte("居民身份证换领"), []byte("居民身份证换领（改）"), 1)
			if bytes.Equal(edited, file) {
				t.Fatal("the matter is not in the export")
			}
			rep := importFile(t, db, exchange.KindMatter, format, edited, exchange.Options{})
			if rep.Updated != 1 || rep.Unchanged != rep.Total-1 || len(rep.Errors) > 0 {
				t.Fatalf("report %+v", rep)
			}
			after := matterByCode(t, db, m.Code)
			if after.Name != "居民身份证换领（改）" || !after.UpdatedAt.After(m.UpdatedAt) || !after.CreatedAt.Equal(m.CreatedAt) || after.Popularity != m.Popularity {
				t.Fatalf("matter after import: %+v, before %+v", after, m)
			}
			if got := outbox(t, db, models.DocMatter); !slices.Equal(got, []uint64{m.ID}) {
				t.Fatalf("outbox %v, want [%d]", got, m.ID)
			}
			again := export(t, db, exchange.KindMatter, format, exchange.Scope{RegionPrefix: "3301"})
			if rep := importFile(t, db, exchange.KindMatter, format, again, exchange.Options{}); rep.Unchanged != rep.Total {
				t.Fatalf("second round trip: %+v", rep)
			}
		})
	}
}

// TestCreate: new agencies, halls, matters and guides are created with
// their derived columns, links and search outbox rows.
func TestCreate(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	rep := importFile(t, db, exchange.KindAgency, exchange.CSV, csvFile(
		"code,name,level,regionCode",
		"330102-COUNTY-test,上城区测试局,县级,330102",
	), exchange.Options{})
	if rep.Created != 1 || len(rep.Errors) > 0 {
		t.Fatalf("agency: %+v", rep)
	}
	rep = importFile(t, db, exchange.KindHall, exchange.JSON, jsonFile(exchange.KindHall, map[string]any{
		"regionCode": "330102", "name": "上城区测试大厅", "address": "杭州市上城区测试路1号", "lat": 30.24, "lng": 120.17,
		"phone": "0571-87000000", "openingHours": "周一至周五",
	}), exchange.Options{})
	if rep.Created != 1 || len(rep.Errors) > 0 {
		t.Fatalf("hall: %+v", rep)
	}
	var hall models.Hall
	db.Where("name = ?", "上城区测试大厅").Take(&hall)
	if got := outbox(t, db, models.DocHall); !slices.Equal(got, []uint64{hall.ID}) {
		t.Fatalf("hall outbox %v, want [%d]", got, hall.ID)
	}
	m := newMatter("TEST-0001")
	m["agencyCode"], m["regionCode"] = "330102-COUNTY-test", "330102"
	m["halls"] = []map[string]string{{"regionCode": "330102", "name": "上城区测试大厅"}, {"regionCode": "330100", "name": "杭州市民中心行政服务中心"}}
	m["themes"] = []string{"NP_ID", "NP_HOUSEHOLD"}
	rep = importFile(t, db, exchange.KindMatter, exchange.JSON, jsonFile(exchange.KindMatter, m), exchange.Options{})
	if rep.Created != 1 || len(rep.Errors) > 0 {
		t.Fatalf("matter: %+v", rep)
	}
	got := matterByCode(t, db, "TEST-0001")
	if got.ProvinceCode != "330000" || got.CityCode != "330100" || got.Nature != models.NatureLicense ||
		got.ServiceObjects != models.NewServiceObjectSet(models.ObjectNaturalPerson, models.ObjectLegalPerson) || got.OnlineDepth != 3 || got.Popularity != 0 {
		t.Fatalf("matter %+v", got)
	}
	var themes, halls int64
	db.Model(&models.MatterTheme{}).Where("matter_id = ?", got.ID).Count(&themes)
	db.Model(&models.MatterHall{}).Where("matter_id = ?", got.ID).Count(&halls)
	var guide models.MatterGuide
	db.Take(&guide, got.ID)
	if themes != 2 || halls != 2 || len(guide.Guide.Materials) != 1 || guide.Guide.Process[1].Order != 2 || guide.Guide.ConsultPhone != "0571-12345" {
		t.Fatalf("themes %d halls %d guide %+v", themes, halls, guide.Guide)
	}
	if ids := outbox(t, db, models.DocMatter); !slices.Equal(ids, []uint64{got.ID}) {
		t.Fatalf("matter outbox %v", ids)
	}
	// A guide file changes the guide only.
	rep = importFile(t, db, exchange.KindGuide, exchange.CSV, csvFile(
		"事项编码,受理条件,承诺时限（天）",
		"TEST-0001,年满18周岁|持有居住证,3",
	), exchange.Options{})
	if rep.Updated != 1 || len(rep.Errors) > 0 {
		t.Fatalf("guide: %+v", rep)
	}
	db.Take(&guide, got.ID)
	if !slices.Equal(guide.Guide.Conditions, []string{"年满18周岁", "持有居住证"}) || guide.Guide.PromisedTimeLimitDays != 3 ||
		guide.Guide.LegalTimeLimitDays != 20 || len(guide.Guide.Materials) != 1 {
		t.Fatalf("guide after partial import: %+v", guide.Guide)
	}
	if ids := outbox(t, db, models.DocMatter); len(ids) != 2 {
		t.Fatalf("a changed guide queues its matter: %v", ids)
	}
	_ = ctx
}

// TestPartialColumns: a CSV with only some columns, in another order and
// with English headers, changes what it has and keeps the rest.
func TestPartialColumns(t *testing.T) {
	db := newDB(t)
	code := "11100000M8EWX1M45Q4070001000011-330106"
	before := matterByCode(t, db, code)
	var themesBefore int64
	db.Model(&models.MatterTheme{}).Where("matter_id = ?", before.ID).Count(&themesBefore)
	rep := importFile(t, db, exchange.KindMatter, exchange.CSV, csvFile(
		"regionCode,agencyCode,code,name,nature,level,serviceObjects,popularity",
		"330106,330106-COUNTY-police,"+code+",居民身份证换领,ADMINISTRATIVE_CONFIRMATION,县级,自然人,",
	), exchange.Options{})
	if rep.Unchanged != 1 || len(rep.Errors) > 0 {
		t.Fatalf("same values: %+v", rep)
	}
	rep = importFile(t, db, exchange.KindMatter, exchange.CSV, csvFile(
		"regionCode,agencyCode,code,name,nature,level,serviceObjects,popularity",
		"330106,330106-COUNTY-police,"+code+",居民身份证换领,行政确认,县级,自然人|法人,7",
	), exchange.Options{})
	if rep.Updated != 1 || len(rep.Errors) > 0 {
		t.Fatalf("changed values: %+v", rep)
	}
	after := matterByCode(t, db, code)
	var themesAfter int64
	db.Model(&models.MatterTheme{}).Where("matter_id = ?", before.ID).Count(&themesAfter)
	if after.Popularity != 7 || after.Summary != before.Summary || !slices.Equal(after.Aliases, before.Aliases) ||
		after.OnlineDepth != before.OnlineDepth || themesAfter != themesBefore || themesAfter == 0 {
		t.Fatalf("after %+v (themes %d), before %+v (themes %d)", after, themesAfter, before, themesBefore)
	}
}

// TestDryRun validates against the database, reports what would happen and
// writes nothing.
func TestDryRun(t *testing.T) {
	db := newDB(t)
	before := counts(t, db)
	file := export(t, db, exchange.KindMatter, exchange.JSON, exchange.Scope{RegionPrefix: "330106"})
	var env struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(file, &env); err != nil {
		t.Fatal(err)
	}
	env.Items[0]["name"] = "改过的名称"
	items := append([]any{newMatter("DRY-1"), newMatter("DRY-2")}, toAny(env.Items)...)
	rep := importFile(t, db, exchange.KindMatter, exchange.JSON, jsonFile(exchange.KindMatter, items...), exchange.Options{DryRun: true})
	if !rep.DryRun || rep.Created != 2 || rep.Updated != 1 || rep.Unchanged != len(env.Items)-1 || len(rep.Errors) > 0 || rep.Applied() {
		t.Fatalf("report %+v", rep)
	}
	// A dry run looks things up in the database too.
	bad := newMatter("DRY-3")
	bad["agencyCode"] = "NO-SUCH-AGENCY"
	rep = importFile(t, db, exchange.KindMatter, exchange.JSON, jsonFile(exchange.KindMatter, bad), exchange.Options{DryRun: true})
	if !hasError(rep, 1, "agencyCode", "不存在") {
		t.Fatalf("report %+v", rep)
	}
	if after := counts(t, db); after != before {
		t.Fatalf("dry run wrote: %+v, was %+v", after, before)
	}
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// TestAllOrNothing: one invalid row among valid ones applies nothing, and
// the report names the row and the field.
func TestAllOrNothing(t *testing.T) {
	db := newDB(t)
	before := counts(t, db)
	for _, format := range formats {
		var file []byte
		if format == exchange.JSON {
			bad := newMatter("AON-2")
			bad["onlineDepth"] = 9
			file = jsonFile(exchange.KindMatter, newMatter("AON-1"), bad, newMatter("AON-3"))
		} else {
			file = csvFile(
				"事项编码,事项名称,事项类型,服务对象,行使层级,实施主体编码,行政区划代码,网上办理深度",
				"AON-1,事项一,行政许可,自然人,县级,330106-COUNTY-police,330106,3",
				"AON-2,事项二,行政许可,自然人,县级,330106-COUNTY-police,330106,9",
				"AON-3,事项三,行政许可,自然人,县级,330106-COUNTY-police,330106,3",
			)
		}
		rep := importFile(t, db, exchange.KindMatter, format, file, exchange.Options{})
		if rep.Total != 3 || rep.Valid != 2 || rep.Created+rep.Updated+rep.Unchanged != 0 || len(rep.Errors) != 1 ||
			!hasError(rep, 2, "onlineDepth", "0到4") || rep.Applied() {
			t.Fatalf("%s: report %+v", format, rep)
		}
	}
	if after := counts(t, db); after != before {
		t.Fatalf("an invalid file wrote: %+v, was %+v", after, before)
	}
}

// TestScope: rows outside the importing administrator's scope are invalid,
// and so are rows naming records outside it.
func TestScope(t *testing.T) {
	db := newDB(t)
	inZJ := exchange.Options{Scope: exchange.Scope{RegionPrefix: "33"}}
	outside := newMatter("SCOPE-1")
	outside["regionCode"], outside["agencyCode"] = "440106", "440106-COUNTY-police"
	outside["halls"] = []any{}
	rep := importFile(t, db, exchange.KindMatter, exchange.JSON, jsonFile(exchange.KindMatter, newMatter("SCOPE-0"), outside), inZJ)
	if !hasError(rep, 2, "regionCode", "管辖范围") || !hasError(rep, 2, "agencyCode", "管辖范围") || len(rep.Errors) != 2 {
		t.Fatalf("matter outside: %+v", rep)
	}
	// A Zhejiang administrator cannot take over a Guangzhou matter by its code.
	taken := newMatter("11100000M8EWX1M45Q4070001000011-440106")
	rep = importFile(t, db, exchange.KindMatter, exchange.JSON, jsonFile(exchange.KindMatter, taken), inZJ)
	if !hasError(rep, 1, "code", "管辖范围以外") {
		t.Fatalf("existing matter outside: %+v", rep)
	}
	rep = importFile(t, db, exchange.KindGuide, exchange.JSON, jsonFile(exchange.KindGuide,
		map[string]any{"matterCode": "11100000M8EWX1M45Q4070001000011-440106", "windowVisits": 0}), inZJ)
	if !hasError(rep, 1, "matterCode", "管辖范围") {
		t.Fatalf("guide outside: %+v", rep)
	}
	rep = importFile(t, db, exchange.KindHall, exchange.CSV, csvFile(
		"行政区划代码,大厅名称,地址,纬度,经度",
		"440106,天河测试大厅,广州市天河区,23.1,113.3",
	), inZJ)
	if !hasError(rep, 1, "regionCode", "管辖范围") {
		t.Fatalf("hall outside: %+v", rep)
	}
	rep = importFile(t, db, exchange.KindAgency, exchange.CSV, csvFile(
		"code,name,level,regionCode",
		"440106-COUNTY-police,天河区公安局,县级,330106",
	), inZJ)
	if !hasError(rep, 1, "code", "管辖范围以外") {
		t.Fatalf("agency moved into scope: %+v", rep)
	}
	// An agency's administrator imports that agency's matters only.
	byAgency := exchange.Options{Scope: exchange.Scope{RegionPrefix: "33", AgencyCode: "330106-COUNTY-civil_affairs"}}
	rep = importFile(t, db, exchange.KindMatter, exchange.JSON, jsonFile(exchange.KindMatter, newMatter("SCOPE-2")), byAgency)
	if !hasError(rep, 1, "agencyCode", "本机构") {
		t.Fatalf("another agency's matter: %+v", rep)
	}
	_, err := exchange.Import(context.Background(), db, exchange.KindHall, exchange.JSON, bytes.NewReader(jsonFile(exchange.KindHall)), byAgency)
	wantCode(t, err, models.ECodeForbidden)
	_, err = exchange.Import(context.Background(), db, exchange.KindMatter, exchange.JSON, bytes.NewReader(jsonFile(exchange.KindMatter)), exchange.Options{Scope: exchange.Scope{RegionPrefix: "33x"}})
	wantCode(t, err, models.ECodeBadUserInput)
	// An agency-scoped export holds the agency's matters only.
	file := export(t, db, exchange.KindMatter, exchange.JSON, exchange.Scope{AgencyCode: "330106-COUNTY-police"})
	var env struct {
		Items []struct{ AgencyCode string } `json:"items"`
	}
	json.Unmarshal(file, &env)
	if len(env.Items) == 0 {
		t.Fatal("agency export is empty")
	}
	for _, it := range env.Items {
		if it.AgencyCode != "330106-COUNTY-police" {
			t.Fatalf("agency export holds %s", it.AgencyCode)
		}
	}
}

// TestDuplicateKeys: a key twice in one file is an error on the second row.
func TestDuplicateKeys(t *testing.T) {
	db := newDB(t)
	cases := []struct {
		kind  exchange.Kind
		file  []byte
		field string
	}{
		{exchange.KindAgency, csvFile("code,name,level,regionCode", "A-1,甲,县级,330106", "a-1,乙,县级,330106"), "code"},
		{exchange.KindHall, csvFile("regionCode,name,address,lat,lng", "330106,大厅,地址,30.2,120.1", "330106,大厅,地址二,30.2,120.1"), "name"},
		{exchange.KindMatter, jsonFile(exchange.KindMatter, newMatter("DUP-1"), newMatter("DUP-1")), "code"},
		{exchange.KindGuide, jsonFile(exchange.KindGuide, map[string]any{"matterCode": "X-1"}, map[string]any{"matterCode": "X-1"}), "matterCode"},
	}
	for _, c := range cases {
		format := exchange.CSV
		if c.file[0] == '{' {
			format = exchange.JSON
		}
		rep := importFile(t, db, c.kind, format, c.file, exchange.Options{})
		if !hasError(rep, 2, c.field, "与第1行重复") {
			t.Errorf("%s: %+v", c.kind, rep)
		}
	}
	// The same hall name in two regions is two halls.
	rep := importFile(t, db, exchange.KindHall, exchange.CSV, csvFile("regionCode,name,address,lat,lng",
		"330106,同名大厅,地址,30.2,120.1", "330102,同名大厅,地址,30.2,120.1"), exchange.Options{})
	if rep.Created != 2 {
		t.Fatalf("same name, two regions: %+v", rep)
	}
}

// TestSearchOutbox: every created or changed matter and hall is queued,
// and so is every matter of a renamed agency; unchanged ones are not.
func TestSearchOutbox(t *testing.T) {
	db := newDB(t)
	halls := export(t, db, exchange.KindHall, exchange.JSON, exchange.Scope{RegionPrefix: "330106"})
	halls = bytes.Replace(halls, []byte("浙江省杭州市西湖区文一西路"), []byte("浙江省杭州市西湖区文一西路1号"), 1)
	rep := importFile(t, db, exchange.KindHall, exchange.JSON, halls, exchange.Options{})
	if rep.Updated != 1 || rep.Unchanged != 1 {
		t.Fatalf("halls: %+v", rep)
	}
	var hall models.Hall
	db.Where("name = ?", "杭州市西湖区行政服务中心").Take(&hall)
	if got := outbox(t, db, models.DocHall); !slices.Equal(got, []uint64{hall.ID}) || hall.Address != "浙江省杭州市西湖区文一西路1号" {
		t.Fatalf("hall outbox %v, hall %+v", got, hall)
	}
	rep = importFile(t, db, exchange.KindAgency, exchange.CSV, csvFile("code,name,level,regionCode",
		"330106-COUNTY-police,杭州市公安局西湖区分局,县级,330106"), exchange.Options{})
	if rep.Updated != 1 {
		t.Fatalf("agency: %+v", rep)
	}
	var want []uint64
	db.Model(&models.Matter{}).Joins("JOIN agencies ON agencies.id = matters.agency_id").
		Where("agencies.code = ?", "330106-COUNTY-police").Order("matters.id").Pluck("matters.id", &want)
	if got := outbox(t, db, models.DocMatter); len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("renamed agency queues its matters: %v, want %v", got, want)
	}
}

// TestFormulaGuard: cells a spreadsheet would run as formulas are exported
// behind an apostrophe, and the apostrophe is taken off on import.
func TestFormulaGuard(t *testing.T) {
	db := newDB(t)
	m := newMatter("GUARD-1")
	m["summary"] = `=HYPERLINK("http://evil.example","点我")`
	m["aliases"] = []string{"+86", "-负号", "@某人", "'=已有撇号", "普通"}
	rep := importFile(t, db, exchange.KindMatter, exchange.JSON, jsonFile(exchange.KindMatter, m), exchange.Options{})
	if rep.Created != 1 {
		t.Fatalf("create: %+v", rep)
	}
	file := export(t, db, exchange.KindMatter, exchange.CSV, exchange.Scope{RegionPrefix: "330106"})
	if !bytes.Contains(file, []byte(`"'=HYPERLINK(""http://evil.example"",""点我"")"`)) || !bytes.Contains(file, []byte(",'+86|-负号|@某人|'=已有撇号|普通,")) {
		t.Fatalf("export is not guarded:\n%s", file[:2000])
	}
	for _, line := range strings.Split(string(file), "\r\n") {
		for _, cell := range strings.Split(line, ",") {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Fatalf("unguarded cell %q", cell)
			}
		}
	}
	rep = importFile(t, db, exchange.KindMatter, exchange.CSV, file, exchange.Options{})
	if rep.Unchanged != rep.Total || len(rep.Errors) > 0 {
		t.Fatalf("round trip: %+v", rep)
	}
	got := matterByCode(t, db, "GUARD-1")
	if got.Summary != m["summary"] || !slices.Equal(got.Aliases, m["aliases"].([]string)) {
		t.Fatalf("after round trip: %q %q", got.Summary, got.Aliases)
	}
	// An apostrophe before anything else is the operator's.
	rep = importFile(t, db, exchange.KindAgency, exchange.CSV, csvFile("code,name,level,regionCode", "Q-1,'甲局,县级,330106", "Q-2,'-乙局,县级,330106"), exchange.Options{})
	var names []string
	db.Model(&models.Agency{}).Where("code IN ?", []string{"Q-1", "Q-2"}).Order("code").Pluck("name", &names)
	if rep.Created != 2 || !slices.Equal(names, []string{"'甲局", "-乙局"}) {
		t.Fatalf("apostrophes: %+v %q", rep, names)
	}
}

// TestBOM: a byte-order mark before a CSV or JSON file is read past; the
// export writes one before CSV for Excel.
func TestBOM(t *testing.T) {
	db := newDB(t)
	csvExport := export(t, db, exchange.KindAgency, exchange.CSV, exchange.Scope{RegionPrefix: "33"})
	if !bytes.HasPrefix(csvExport, []byte("\uFEFF机构编码,")) {
		t.Fatalf("CSV export starts %q", csvExport[:20])
	}
	noBOM := bytes.TrimPrefix(csvExport, []byte("\uFEFF"))
	for _, file := range [][]byte{csvExport, noBOM} {
		if rep := importFile(t, db, exchange.KindAgency, exchange.CSV, file, exchange.Options{}); rep.Unchanged != rep.Total || rep.Total == 0 {
			t.Fatalf("report %+v", rep)
		}
	}
	jsonExport := export(t, db, exchange.KindAgency, exchange.JSON, exchange.Scope{RegionPrefix: "33"})
	withBOM := append([]byte("\uFEFF"), jsonExport...)
	if rep := importFile(t, db, exchange.KindAgency, exchange.JSON, withBOM, exchange.Options{}); rep.Unchanged != rep.Total || rep.Total == 0 {
		t.Fatalf("JSON with BOM: %+v", rep)
	}
}

// TestFileLimits: a file over 20 MB or 50,000 rows is refused as a whole.
func TestFileLimits(t *testing.T) {
	db := newDB(t)
	big := bytes.Repeat([]byte("x"), exchange.MaxBytes+1)
	_, err := exchange.Import(context.Background(), db, exchange.KindAgency, exchange.CSV, bytes.NewReader(big), exchange.Options{})
	if e := wantCode(t, err, models.ECodeBadUserInput); !strings.Contains(e.Message, "20MB") {
		t.Fatalf("message %q", e.Message)
	}
	var b strings.Builder
	b.WriteString("code,name,level,regionCode\n")
	for i := range exchange.MaxRows + 1 {
		fmt.Fprintf(&b, "R-%d,局,县级,330106\n", i)
	}
	_, err = exchange.Import(context.Background(), db, exchange.KindAgency, exchange.CSV, strings.NewReader(b.String()), exchange.Options{DryRun: true})
	if e := wantCode(t, err, models.ECodeBadUserInput); !strings.Contains(e.Message, "50000") {
		t.Fatalf("message %q", e.Message)
	}
	items := make([]any, exchange.MaxRows+1)
	for i := range items {
		items[i] = map[string]any{}
	}
	_, err = exchange.Import(context.Background(), db, exchange.KindAgency, exchange.JSON, bytes.NewReader(jsonFile(exchange.KindAgency, items...)), exchange.Options{DryRun: true})
	wantCode(t, err, models.ECodeBadUserInput)
}

// TestErrorCap: the report lists at most MaxErrors problems and says so.
func TestErrorCap(t *testing.T) {
	db := newDB(t)
	var b strings.Builder
	b.WriteString("code,name,level,regionCode\n")
	for i := range 1500 {
		fmt.Fprintf(&b, "E-%d,局,省长级,330106\n", i)
	}
	rep := importFile(t, db, exchange.KindAgency, exchange.CSV, []byte(b.String()), exchange.Options{DryRun: true})
	if len(rep.Errors) != exchange.MaxErrors || !rep.Truncated || rep.Valid != 0 || rep.Total != 1500 || rep.Errors[0].Row != 1 {
		t.Fatalf("errors %d truncated %v valid %d", len(rep.Errors), rep.Truncated, rep.Valid)
	}
}

// TestFileErrors: problems with the file as a whole are BAD_USER_INPUT.
func TestFileErrors(t *testing.T) {
	db := newDB(t)
	cases := []struct {
		name   string
		kind   exchange.Kind
		format exchange.Format
		file   string
		want   string
	}{
		{"empty", exchange.KindAgency, exchange.CSV, "\uFEFF  ", "空的"},
		{"unknown column", exchange.KindAgency, exchange.CSV, "code,name,level,regionCode,colour\n", "colour"},
		{"missing column", exchange.KindAgency, exchange.CSV, "code,name,level\n", "行政区划代码"},
		{"twice", exchange.KindAgency, exchange.CSV, "code,机构编码,name,level,regionCode\n", "两次"},
		{"quotes", exchange.KindAgency, exchange.CSV, "code,name,level,regionCode\nA,\"甲\"局,县级,330106\n", "引号"},
		{"GBK header", exchange.KindAgency, exchange.CSV, "\xbb\xfa\xb9\xb9\xb1\xe0\xc2\xeb,name,level,regionCode\n", "UTF-8"},
		{"not JSON", exchange.KindAgency, exchange.JSON, "{\"kind\": \"AGENCY\",\n \"items\": [}", "第2行"},
		{"wrong kind", exchange.KindAgency, exchange.JSON, `{"kind":"HALL","version":1,"items":[]}`, "不一致"},
		{"wrong version", exchange.KindAgency, exchange.JSON, `{"kind":"AGENCY","version":2,"items":[]}`, "版本"},
		{"JSON bad UTF-8", exchange.KindAgency, exchange.JSON, "{\"kind\":\"AGENCY\",\"version\":1,\"items\":[{\"name\":\"\xff\"}]}", "UTF-8"},
		{"kind", "SEAL", exchange.JSON, "{}", "类别"},
		{"format", exchange.KindAgency, "XLSX", "{}", "格式"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := exchange.Import(context.Background(), db, c.kind, c.format, strings.NewReader(c.file), exchange.Options{})
			if e := wantCode(t, err, models.ECodeBadUserInput); !strings.Contains(e.Message, c.want) {
				t.Fatalf("message %q, want %q", e.Message, c.want)
			}
		})
	}
	var buf bytes.Buffer
	err := exchange.Export(context.Background(), db, exchange.KindMatter, exchange.CSV, exchange.Scope{AgencyCode: "NOPE"}, &buf)
	wantCode(t, err, models.ECodeBadUserInput)
}
