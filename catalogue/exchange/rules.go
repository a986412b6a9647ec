package exchange

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"govmobile/models"
	"govmobile/validate"
)

// check records the problems of one row found without the database.
type check struct {
	row int
	col *collector
}

func (c check) fail(field, msg string) { c.col.fileErr(c.row, field, msg) }

func (c check) label(key string) string { return c.col.label(key) }

// Column sizes of the models (models/catalogue.go); a change there must
// change these.
const (
	maxCode        = 64  // agencies.code, matters.code
	maxThemeCode   = 32  // themes.code
	maxName        = 200 // agencies.name, halls.name, matters.name
	maxAddress     = 300 // halls.address
	maxPhone       = 64  // halls.phone
	maxHours       = 200 // halls.opening_hours
	maxSummary     = 500 // matters.summary
	maxTextColumn  = 65535
	maxAlias       = 50
	maxAliases     = 50
	maxListItems   = 100
	maxItemText    = 500
	maxDescription = 1000
	maxDays        = 3650
	maxCopies      = 99
	maxVisits      = 99
	maxPopularity  = 1_000_000_000
	maxOnlineDepth = 4
)

// text trims a text field and checks its length and characters; newlines
// are allowed where multiline.
func (c check) text(field, s string, max int, required, multiline bool) string {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			c.fail(field, "请填写"+c.label(field)+"。")
		}
		return s
	}
	if n := utf8.RuneCountInString(s); n > max {
		c.fail(field, fmt.Sprintf("%s不能超过%d个字（现有%d个字）。", c.label(field), max, n))
		return s
	}
	if !clean(s, multiline) {
		c.fail(field, c.label(field)+"含有无法识别的字符。")
	}
	return s
}

func clean(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return (r < 0x20 || r == 0x7f) && !(multiline && (r == '\n' || r == '\t'))
	})
}

var codeRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_.\-]*$`)

// code checks a code: letters, digits, - _ and ., starting with a letter or
// digit.
func (c check) code(field, s string, max int) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		c.fail(field, "请填写"+c.label(field)+"。")
	case utf8.RuneCountInString(s) > max:
		c.fail(field, fmt.Sprintf("%s不能超过%d个字符。", c.label(field), max))
	case !codeRe.MatchString(s):
		c.fail(field, c.label(field)+"只能包含英文字母、数字和“-”“_”“.”，且以字母或数字开头。")
	}
	return s
}

func regionCodeOK(s string) bool {
	return len(s) == 6 && strings.Trim(s, "0123456789") == ""
}

// regionCode checks a region code's form; that it exists is checked
// against the regions table.
func (c check) regionCode(field, s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		c.fail(field, "请填写"+c.label(field)+"。")
	case !regionCodeOK(s):
		c.fail(field, c.label(field)+"应为6位数字。")
	}
	return s
}

// nature accepts an enum name (ADMINISTRATIVE_LICENSE) or its Chinese name
// (行政许可).
func (c check) nature(field, s string) models.MatterNature {
	if n, ok := enumOf(s, models.MatterNatures, models.MatterNature.Name); ok {
		return n
	}
	enumFail(c, field, s, models.MatterNatures, models.MatterNature.Name)
	return ""
}

func (c check) level(field, s string) models.AdminLevel {
	if l, ok := enumOf(s, models.AdminLevels, models.AdminLevel.Name); ok {
		return l
	}
	enumFail(c, field, s, models.AdminLevels, models.AdminLevel.Name)
	return ""
}

func (c check) objects(field string, names []string) models.ServiceObjectSet {
	var set models.ServiceObjectSet
	for _, s := range names {
		o, ok := enumOf(s, models.ServiceObjects, models.ServiceObject.Name)
		if !ok {
			enumFail(c, field, s, models.ServiceObjects, models.ServiceObject.Name)
			return 0
		}
		set |= o.Bit()
	}
	if set == 0 {
		c.fail(field, "请填写"+c.label(field)+"。")
	}
	return set
}

func enumOf[E ~string](s string, all []E, name func(E) string) (E, bool) {
	s = strings.TrimSpace(s)
	for _, e := range all {
		if strings.EqualFold(s, string(e)) || s == name(e) {
			return e, true
		}
	}
	return "", false
}

func enumFail[E ~string](c check, field, s string, all []E, name func(E) string) {
	names := make([]string, len(all))
	for i, e := range all {
		names[i] = name(e)
	}
	if strings.TrimSpace(s) == "" {
		c.fail(field, "请填写"+c.label(field)+"。")
		return
	}
	if r := []rune(s); len(r) > 20 {
		s = string(r[:20]) + "…"
	}
	c.fail(field, fmt.Sprintf("%s“%s”不正确，应为：%s。", c.label(field), s, strings.Join(names, "、")))
}

// phone checks a telephone where one is given: a mobile number, a landline
// with its area code, a 400/800 number, or a government service hotline
// (12345, 0571-12345).
func (c check) phone(field, s string) string {
	s = c.text(field, s, maxPhone, false, false)
	if s != "" && !phoneOK(s) {
		c.fail(field, c.label(field)+"格式不正确，应为手机号码、带区号的固定电话（如 010-12345678）或政务服务热线（如 12345、0571-12345）。")
	}
	return s
}

var hotlineRe = regexp.MustCompile(`^(0[1-9][0-9]{1,2}-?)?(12[0-9]{3}|9[56][0-9]{3})$`)

func phoneOK(s string) bool {
	return hotlineRe.MatchString(s) || validate.Phone("phone", "", s) == nil
}

// China's bounding box, as the GCJ-02 transform has it (geo.outsideChina):
// from the Nansha Islands to Mohe, from the Pamirs to the Wusuli.
const (
	minLat, maxLat = 0.8293, 55.8271
	minLng, maxLng = 72.004, 137.8347
)

func (c check) coordinates(lat, lng *float64) {
	if lat == nil {
		c.fail("lat", "请填写纬度。")
	} else if !(*lat >= minLat && *lat <= maxLat) {
		c.fail("lat", fmt.Sprintf("纬度应在中国境内（%g 到 %g 之间，WGS-84）。", minLat, maxLat))
	}
	if lng == nil {
		c.fail("lng", "请填写经度。")
	} else if !(*lng >= minLng && *lng <= maxLng) {
		c.fail("lng", fmt.Sprintf("经度应在中国境内（%g 到 %g 之间，WGS-84）。", minLng, maxLng))
	}
}

// number checks an optional whole number's range.
func (c check) number(field string, v *int, min, max int) {
	if v != nil && (*v < min || *v > max) {
		c.fail(field, fmt.Sprintf("%s应为%d到%d之间的整数。", c.label(field), min, max))
	}
}

// list trims a list's items, drops empty ones and checks them.
func (c check) list(field string, items []string, maxItems, maxLen int) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	if len(out) > maxItems {
		c.fail(field, fmt.Sprintf("%s最多%d项。", c.label(field), maxItems))
		return out
	}
	for i, it := range out {
		if n := utf8.RuneCountInString(it); n > maxLen {
			c.fail(field, fmt.Sprintf("%s的第%d项不能超过%d个字。", c.label(field), i+1, maxLen))
			return out
		}
		if !clean(it, false) {
			c.fail(field, fmt.Sprintf("%s的第%d项含有无法识别的字符。", c.label(field), i+1))
			return out
		}
	}
	return out
}

// jsonFits reports whether v's JSON fits a TEXT column (64 KB on MySQL).
func jsonFits(v any) bool {
	b, err := json.Marshal(v)
	return err == nil && len(b) <= maxTextColumn
}

// parseInt reads an optional whole number from a CSV cell.
func (c check) parseInt(field, s string) *int {
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		c.fail(field, c.label(field)+"应为整数。")
		return nil
	}
	return &n
}

// parseFloat reads an optional decimal number from a CSV cell.
func (c check) parseFloat(field, s string) *float64 {
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		c.fail(field, c.label(field)+"应为数字。")
		return nil
	}
	return &f
}

// parseBool reads 是/否 (or true/false, Y/N, 1/0).
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "是", "true", "y", "yes", "1", "必需", "必须":
		return true, true
	case "否", "false", "n", "no", "0", "", "非必需", "可选":
		return false, true
	}
	return false, false
}

func boolCell(b bool) string {
	if b {
		return "是"
	}
	return "否"
}
