package cases

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"govmobile/models"
)

// GeneralForm is the application form of a matter that declares none: what
// every application needs to be handled.
var GeneralForm = []models.FormAttribute{
	{Key: "reason", Label: "申请事由", Type: models.FormText, Required: true, Order: 1, MaxLength: 1000},
	{Key: "contactPhone", Label: "联系电话", Type: models.FormString, Required: true, Order: 2, MaxLength: 20},
	{Key: "copies", Label: "申领份数", Type: models.FormNumber, Order: 3, Integer: true, Min: ptr(1.0), Max: ptr(99.0)},
	{Key: "delivery", Label: "结果领取方式", Type: models.FormSingleList, Required: true, Order: 4, Options: []string{"窗口领取", "邮寄送达", "电子证照"}},
}

// defaultMaxLength bounds a text field that declares no limit.
const (
	defaultStringMax = 200
	defaultTextMax   = 2000
	maxListValues    = 50
)

// Validate checks form values — each field's values as the client sent
// them, as text — against the form's attributes and returns them typed:
// strings, float64 numbers, RFC 3339 times (as text, in UTC), lists of
// options. A draft (complete false) may leave required fields empty; a
// submission may not. Unknown fields, wrong types and options not offered
// are refused, each naming the field.
func Validate(form []models.FormAttribute, values map[string][]string, complete bool) (map[string]any, error) {
	byKey := make(map[string]models.FormAttribute, len(form))
	for _, a := range form {
		byKey[a.Key] = a
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]any, len(values))
	for _, k := range keys {
		a, ok := byKey[k]
		if !ok {
			shown := k
			if r := []rune(k); len(r) > 20 {
				shown = string(r[:20]) + "…"
			}
			return nil, models.InvalidField("values", fmt.Sprintf("申请表中没有“%s”这一项。", shown))
		}
		vs := values[k]
		if len(vs) == 0 || len(vs) == 1 && strings.TrimSpace(vs[0]) == "" {
			continue // empty: as if not sent
		}
		v, err := typed(a, vs)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	if complete {
		for _, a := range form {
			if _, ok := out[a.Key]; a.Required && !ok {
				return nil, models.InvalidField("values."+a.Key, fmt.Sprintf("请填写“%s”。", a.Label))
			}
		}
	}
	return out, nil
}

func typed(a models.FormAttribute, vs []string) (any, error) {
	field := "values." + a.Key
	bad := func(why string) error { return models.InvalidField(field, fmt.Sprintf("“%s”%s", a.Label, why)) }
	if a.Type != models.FormMultiList && len(vs) > 1 {
		return nil, bad("只能填一个值。")
	}
	v := strings.TrimSpace(vs[0])
	switch a.Type {
	case models.FormString, models.FormText:
		limit := a.MaxLength
		if limit == 0 {
			limit = defaultStringMax
			if a.Type == models.FormText {
				limit = defaultTextMax
			}
		}
		if utf8.RuneCountInString(v) > limit {
			return nil, bad(fmt.Sprintf("不能超过%d个字。", limit))
		}
		if a.Type == models.FormString && strings.ContainsAny(v, "\r\n") {
			return nil, bad("只能填一行。")
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' }) || !utf8.ValidString(v) {
			return nil, bad("含有无法识别的字符。")
		}
		return v, nil
	case models.FormNumber:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, bad("应当是一个数字。")
		}
		if a.Integer && n != math.Trunc(n) {
			return nil, bad("应当是整数。")
		}
		if a.Min != nil && n < *a.Min || a.Max != nil && n > *a.Max {
			return nil, bad(fmt.Sprintf("应在%s到%s之间。", bound(a.Min, "-∞"), bound(a.Max, "∞")))
		}
		return n, nil
	case models.FormDateTime:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return t.Format("2006-01-02"), nil
		}
		return nil, bad("应当是日期（2026-01-31）或时间（2026-01-31T09:00:00+08:00）。")
	case models.FormSingleList:
		if !slices.Contains(a.Options, v) {
			return nil, bad("只能从给出的选项中选择。")
		}
		return v, nil
	case models.FormMultiList:
		if len(vs) > maxListValues {
			return nil, bad(fmt.Sprintf("最多选择%d项。", maxListValues))
		}
		var picked []string
		for _, x := range vs {
			x = strings.TrimSpace(x)
			if !slices.Contains(a.Options, x) {
				return nil, bad("只能从给出的选项中选择。")
			}
			if !slices.Contains(picked, x) {
				picked = append(picked, x)
			}
		}
		return picked, nil
	}
	return nil, fmt.Errorf("form attribute %s has unknown type %q", a.Key, a.Type)
}

func ptr[T any](v T) *T { return &v }

func bound(v *float64, none string) string {
	if v == nil {
		return none
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
