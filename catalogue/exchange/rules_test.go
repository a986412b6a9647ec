package exchange_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"govmobile/catalogue/exchange"
)

// base items, valid against the demo catalogue; each case changes one thing.
func baseItem(kind exchange.Kind) map[string]any {
	switch kind {
	case exchange.KindAgency:
		return map[string]any{"code": "RULE-1", "name": "测试局", "level": "COUNTY", "regionCode": "330106"}
	case exchange.KindHall:
		return map[string]any{"regionCode": "330106", "name": "规则大厅", "address": "杭州市西湖区规则路1号", "lat": 30.2, "lng": 120.1,
			"phone": "0571-87000000", "openingHours": "周一至周五"}
	case exchange.KindMatter:
		return newMatter("RULE-1")
	}
	g := maps.Clone(newMatter("x")["guide"].(map[string]any))
	g["matterCode"] = "11100000M8EWX1M45Q4070001000011-330106"
	return g
}

// with sets a path ("guide.materials.0.copies") in a copy of the item; a
// nil value deletes the key.
func with(item map[string]any, path string, v any) map[string]any {
	b, _ := json.Marshal(item)
	var out map[string]any
	json.Unmarshal(b, &out)
	parts := strings.Split(path, ".")
	var cur any = out
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			cur = c[atoi(p)]
		}
	}
	last := parts[len(parts)-1]
	switch c := cur.(type) {
	case map[string]any:
		if v == nil {
			delete(c, last)
		} else {
			c[last] = v
		}
	case []any:
		c[atoi(last)] = v
	}
	return out
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestRowRules checks every rule a row is held to, one change at a time,
// through a dry run of a JSON file: the report names the field, and the
// message says what is wrong. An empty want is a valid change.
func TestRowRules(t *testing.T) {
	db := newDB(t)
	long := func(n int) string { return strings.Repeat("长", n) }
	many := func(n int, s string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		return out
	}
	cases := []struct {
		kind  exchange.Kind
		path  string
		value any
		field string
		want  string
	}{
		// agencies
		{exchange.KindAgency, "code", "", "code", "请填写机构编码"},
		{exchange.KindAgency, "code", "A B", "code", "只能包含"},
		{exchange.KindAgency, "code", "-A", "code", "以字母或数字开头"},
		{exchange.KindAgency, "code", strings.Repeat("A", 65), "code", "不能超过64"},
		{exchange.KindAgency, "name", "", "name", "请填写机构名称"},
		{exchange.KindAgency, "name", long(201), "name", "不能超过200个字"},
		{exchange.KindAgency, "name", long(200), "", ""},
		{exchange.KindAgency, "name", "甲\x01局", "name", "无法识别"},
		{exchange.KindAgency, "level", "BOSS", "level", "层级“BOSS”不正确"},
		{exchange.KindAgency, "level", "省级", "", ""},
		{exchange.KindAgency, "level", "provincial", "", ""},
		{exchange.KindAgency, "regionCode", "3301", "regionCode", "6位数字"},
		{exchange.KindAgency, "regionCode", "339999", "regionCode", "不存在"},
		{exchange.KindAgency, "colour", "red", "colour", "不认识的字段"},
		{exchange.KindAgency, "code", 12, "code", "类型不正确"},
		// halls
		{exchange.KindHall, "lat", nil, "lat", "请填写纬度"},
		{exchange.KindHall, "lat", 60.0, "lat", "中国境内"},
		{exchange.KindHall, "lng", 10.0, "lng", "中国境内"},
		{exchange.KindHall, "lat", "30", "lat", "类型不正确"},
		{exchange.KindHall, "phone", "12", "phone", "格式不正确"},
		{exchange.KindHall, "phone", "0571-1234", "phone", "格式不正确"},
		{exchange.KindHall, "phone", "13800138000", "", ""},
		{exchange.KindHall, "phone", "12345", "", ""},
		{exchange.KindHall, "phone", "400-810-8888", "", ""},
		{exchange.KindHall, "phone", "", "", ""},
		{exchange.KindHall, "address", "", "address", "请填写地址"},
		{exchange.KindHall, "address", long(301), "address", "不能超过300"},
		{exchange.KindHall, "name", long(201), "name", "不能超过200"},
		{exchange.KindHall, "openingHours", long(201), "openingHours", "不能超过200"},
		{exchange.KindHall, "regionCode", "999999", "regionCode", "不存在"},
		// matters
		{exchange.KindMatter, "nature", "许可", "nature", "事项类型“许可”不正确，应为：行政许可"},
		{exchange.KindMatter, "nature", "PUBLIC_SERVICE", "", ""},
		{exchange.KindMatter, "nature", "公共服务", "", ""},
		{exchange.KindMatter, "nature", nil, "nature", "请填写事项类型"},
		{exchange.KindMatter, "serviceObjects", []string{}, "serviceObjects", "请填写服务对象"},
		{exchange.KindMatter, "serviceObjects", []string{"游客"}, "serviceObjects", "不正确"},
		{exchange.KindMatter, "serviceObjects", []string{"其他组织", "LEGAL_PERSON"}, "", ""},
		{exchange.KindMatter, "level", "市", "level", "行使层级“市”不正确"},
		{exchange.KindMatter, "onlineDepth", 5, "onlineDepth", "0到4"},
		{exchange.KindMatter, "onlineDepth", -1, "onlineDepth", "0到4"},
		{exchange.KindMatter, "onlineDepth", 2.5, "onlineDepth", "类型不正确"},
		{exchange.KindMatter, "popularity", -1, "popularity", "热度应为0到"},
		{exchange.KindMatter, "summary", long(501), "summary", "不能超过500"},
		{exchange.KindMatter, "summary", "第一行\n第二行", "", ""},
		{exchange.KindMatter, "name", "第一行\n第二行", "name", "无法识别"},
		{exchange.KindMatter, "aliases", many(51, "别"), "aliases", "最多50项"},
		{exchange.KindMatter, "aliases", []string{long(51)}, "aliases", "第1项不能超过50"},
		{exchange.KindMatter, "themes", []string{"NP_ID", "NOPE"}, "themes", "服务主题“NOPE”不存在"},
		{exchange.KindMatter, "halls", []map[string]string{{"regionCode": "330106", "name": "不存在的大厅"}}, "halls", "不存在"},
		{exchange.KindMatter, "halls", []map[string]string{{"regionCode": "33", "name": "x"}}, "halls", "6位行政区划代码"},
		{exchange.KindMatter, "agencyCode", "NOPE", "agencyCode", "不存在"},
		// Codes compare as the database's collation has it: on MySQL
		// "330106-county-police" is found and refused as differing only in
		// case; on SQLite it is another code.
		{exchange.KindMatter, "agencyCode", "330106-county-police", "agencyCode", "不存在"},
		{exchange.KindMatter, "regionCode", "330199", "regionCode", "不存在"},
		{exchange.KindMatter, "guide.materials.0.copies", 100, "materials", "份数"},
		{exchange.KindMatter, "guide.materials.0.copies", "一份", "materials", "类型不正确"},
		{exchange.KindMatter, "guide.materials.0.name", "", "materials", "请填写第1项材料的名称"},
		{exchange.KindMatter, "guide.process.0.order", 2, "process", "连续编号"},
		{exchange.KindMatter, "guide.promisedTimeLimitDays", 30, "promisedTimeLimitDays", "承诺时限不能超过法定时限"},
		{exchange.KindMatter, "guide.legalTimeLimitDays", 4000, "legalTimeLimitDays", "0到3650"},
		{exchange.KindMatter, "guide.consultPhone", "abc", "consultPhone", "咨询电话格式不正确"},
		{exchange.KindMatter, "guide.windowVisits", 100, "windowVisits", "到窗口次数应为0到99"},
		{exchange.KindMatter, "guide.fees", []map[string]string{{"name": "", "amount": "1元"}}, "fees", "请填写第1项收费的名称"},
		{exchange.KindMatter, "guide.conditions", many(101, "条件"), "conditions", "最多100项"},
		{exchange.KindMatter, "guide.legalBasis", []string{long(501)}, "legalBasis", "第1项不能超过500"},
		{exchange.KindMatter, "guide.colour", 1, "colour", "不认识的字段"},
		{exchange.KindMatter, "guide", nil, "", ""},
		// guides
		{exchange.KindGuide, "matterCode", "NO-SUCH-MATTER", "matterCode", "不存在，请先导入事项"},
		{exchange.KindGuide, "windowVisits", -1, "windowVisits", "0到99"},
		{exchange.KindGuide, "materials", nil, "", ""},
		{exchange.KindGuide, "legalTimeLimitDays", 3, "promisedTimeLimitDays", "承诺时限不能超过法定时限"},
	}
	for _, c := range cases {
		t.Run(string(c.kind)+"/"+c.path+"="+short(c.value), func(t *testing.T) {
			item := with(baseItem(c.kind), c.path, c.value)
			rep := importFile(t, db, c.kind, exchange.JSON, jsonFile(c.kind, item), exchange.Options{DryRun: true})
			if c.want == "" {
				if len(rep.Errors) > 0 || rep.Valid != 1 {
					t.Fatalf("want valid, got %+v", rep.Errors)
				}
				return
			}
			if !hasError(rep, 1, c.field, c.want) || rep.Valid != 0 {
				t.Fatalf("want %s: …%s…, got %+v", c.field, c.want, rep.Errors)
			}
		})
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 20 {
		b = b[:20]
	}
	return string(b)
}

// TestCSVRowRules checks what only CSV rows can get wrong.
func TestCSVRowRules(t *testing.T) {
	db := newDB(t)
	const matterHeader = "code,name,nature,serviceObjects,level,agencyCode,regionCode"
	const matterRow = "CSV-1,事项,行政许可,自然人,县级,330106-COUNTY-police,330106"
	cases := []struct {
		name        string
		kind        exchange.Kind
		header, row string
		field, want string
	}{
		{"short row", exchange.KindAgency, "code,name,level,regionCode", "A,甲局,县级", "", "与表头的4列不一致"},
		{"long row", exchange.KindAgency, "code,name,level,regionCode", "A,甲局,县级,330106,多余", "", "与表头的4列不一致"},
		{"trailing empty cells", exchange.KindAgency, "code,name,level,regionCode", "A,甲局,县级,330106,,", "", ""},
		{"bad UTF-8", exchange.KindAgency, "code,name,level,regionCode", "A,\xbc\xd7\xbe\xd6,县级,330106", "name", "UTF-8"},
		{"whole number", exchange.KindMatter, matterHeader + ",onlineDepth", matterRow + ",三", "onlineDepth", "应为整数"},
		{"decimal", exchange.KindHall, "regionCode,name,address,lat,lng", "330106,大厅,地址,北纬30,120", "lat", "应为数字"},
		{"material fields", exchange.KindMatter, matterHeader + ",materials", matterRow + ",身份证^原件^1^是^备注^多余", "materials", "多了1个"},
		{"material required", exchange.KindMatter, matterHeader + ",materials", matterRow + ",身份证^原件^1^也许", "materials", "是否必需"},
		{"material copies", exchange.KindMatter, matterHeader + ",materials", matterRow + ",身份证^原件^两", "materials", "份数应为整数"},
		{"step fields", exchange.KindMatter, matterHeader + ",process", matterRow + ",受理^说明^多余", "process", "多了1个"},
		{"fee fields", exchange.KindMatter, matterHeader + ",fees", matterRow + ",工本费^20元^依据^多余", "fees", "多了1个"},
		{"hall key", exchange.KindMatter, matterHeader + ",halls", matterRow + ",杭州市西湖区行政服务中心", "halls", "行政区划代码:大厅名称"},
		{"hall key full-width colon", exchange.KindMatter, matterHeader + ",halls", matterRow + ",330106：杭州市西湖区行政服务中心", "", ""},
		{"escaped separators", exchange.KindMatter, matterHeader + ",aliases,materials", matterRow + `,甲\|乙|丙,证明\^材料^原件`, "", ""},
		{"short material", exchange.KindGuide, "matterCode,materials", "11100000M8EWX1M45Q4070001000011-330106,身份证", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := importFile(t, db, c.kind, exchange.CSV, csvFile(c.header, c.row), exchange.Options{DryRun: true})
			if c.want == "" {
				if len(rep.Errors) > 0 || rep.Valid != 1 {
					t.Fatalf("want valid, got %+v", rep.Errors)
				}
				return
			}
			if !hasError(rep, 1, c.field, c.want) {
				t.Fatalf("want %s: …%s…, got %+v", c.field, c.want, rep.Errors)
			}
		})
	}
}
