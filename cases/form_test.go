package cases

import (
	"reflect"
	"strings"
	"testing"

	"govmobile/models"
)

var testForm = []models.FormAttribute{
	{Key: "name", Label: "名称", Type: models.FormString, Required: true, MaxLength: 10},
	{Key: "note", Label: "说明", Type: models.FormText},
	{Key: "count", Label: "数量", Type: models.FormNumber, Required: true, Integer: true, Min: ptr(0.0), Max: ptr(10.0)},
	{Key: "ratio", Label: "比例", Type: models.FormNumber},
	{Key: "when", Label: "时间", Type: models.FormDateTime},
	{Key: "kind", Label: "类别", Type: models.FormSingleList, Options: []string{"甲", "乙"}},
	{Key: "tags", Label: "标签", Type: models.FormMultiList, Options: []string{"一", "二", "三"}},
}

func TestValidateTypesValues(t *testing.T) {
	got, err := Validate(testForm, map[string][]string{
		"name": {" 张三 "}, "note": {"第一行\n第二行"}, "count": {"2"}, "ratio": {"2.5"}, "when": {"2026-12-01T09:00:00+08:00"},
		"kind": {"乙"}, "tags": {"三", "一", "三"},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "张三", "note": "第一行\n第二行", "count": 2.0, "ratio": 2.5, "when": "2026-12-01T01:00:00Z", "kind": "乙", "tags": []string{"三", "一"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	if got, err := Validate(testForm, map[string][]string{"when": {"2026-12-01"}}, false); err != nil || got["when"] != "2026-12-01" {
		t.Fatalf("a date: %v %v", got, err)
	}
}

func TestValidateRefuses(t *testing.T) {
	full := func(k string, v ...string) map[string][]string {
		m := map[string][]string{"name": {"张三"}, "count": {"1"}}
		m[k] = v
		return m
	}
	cases := []struct {
		name   string
		values map[string][]string
		draft  bool
		field  string
	}{
		{"unknown field", full("colour", "红"), false, "values"},
		{"missing required", map[string][]string{"name": {"张三"}}, false, "values.count"},
		{"empty required", full("count", " "), false, "values.count"},
		{"not a number", full("count", "两个"), false, "values.count"},
		{"infinite number", full("count", "1e999"), false, "values.count"},
		{"fraction for an integer", full("count", "2.5"), false, "values.count"},
		{"below the minimum", full("count", "-3"), false, "values.count"},
		{"above the maximum", full("count", "11"), false, "values.count"},
		{"too long", full("name", strings.Repeat("长", 11)), false, "values.name"},
		{"two lines in a string", full("name", "甲\n乙"), false, "values.name"},
		{"control character", full("note", "a\x00b"), false, "values.note"},
		{"two values for one", full("name", "甲", "乙"), false, "values.name"},
		{"bad time", full("when", "明天上午"), false, "values.when"},
		{"option not offered", full("kind", "丙"), false, "values.kind"},
		{"list option not offered", full("tags", "一", "四"), false, "values.tags"},
		{"unknown field in a draft", map[string][]string{"colour": {"红"}}, true, "values"},
	}
	for _, c := range cases {
		_, err := Validate(testForm, c.values, !c.draft)
		e, ok := err.(*models.Error)
		if !ok || e.Code != models.ECodeBadUserInput || e.Field != c.field || !containsHan(e.Message) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A draft may leave required fields empty.
	if _, err := Validate(testForm, map[string][]string{"note": {"稍后再填"}}, false); err != nil {
		t.Errorf("draft: %v", err)
	}
}
