package exchange

import (
	"strings"
)

// column is one CSV column; key is also the JSON field, label the Chinese
// header Export writes. Import accepts either as the header.
type column struct {
	key, label string
	// required columns must be in the header and filled in every row;
	// a missing optional column leaves the field as it is.
	required bool
}

var agencyColumns = []column{
	{"code", "机构编码", true},
	{"name", "机构名称", true},
	{"level", "层级", true},
	{"regionCode", "行政区划代码", true},
}

var hallColumns = []column{
	{"regionCode", "行政区划代码", true},
	{"name", "大厅名称", true},
	{"address", "地址", true},
	{"lat", "纬度", true},
	{"lng", "经度", true},
	{"phone", "联系电话", false},
	{"openingHours", "办公时间", false},
}

// guideColumns are a guide's fields, in GUIDE files after the matter code
// and in MATTER files after the matter's own columns.
var guideColumns = []column{
	{"conditions", "受理条件", false},
	{"materials", "申请材料", false},
	{"process", "办理流程", false},
	{"legalTimeLimitDays", "法定时限（天）", false},
	{"promisedTimeLimitDays", "承诺时限（天）", false},
	{"fees", "收费", false},
	{"legalBasis", "设定依据", false},
	{"consultPhone", "咨询电话", false},
	{"windowVisits", "到窗口次数", false},
}

var matterColumns = append([]column{
	{"code", "事项编码", true},
	{"name", "事项名称", true},
	{"aliases", "别名", false},
	{"summary", "事项简介", false},
	{"nature", "事项类型", true},
	{"serviceObjects", "服务对象", true},
	{"level", "行使层级", true},
	{"agencyCode", "实施主体编码", true},
	{"regionCode", "行政区划代码", true},
	{"onlineDepth", "网上办理深度", false},
	{"popularity", "热度", false},
	{"themes", "服务主题编码", false},
	{"halls", "服务大厅", false},
}, guideColumns...)

var guideFileColumns = append([]column{{"matterCode", "事项编码", true}}, guideColumns...)

func columnsOf(kind Kind) []column {
	switch kind {
	case KindAgency:
		return agencyColumns
	case KindHall:
		return hallColumns
	case KindMatter:
		return matterColumns
	}
	return guideFileColumns
}

// labelsOf are the Chinese names of a kind's fields, for messages.
func labelsOf(kind Kind) map[string]string {
	m := map[string]string{"guide": "办事指南"}
	for _, c := range columnsOf(kind) {
		m[c.key] = strings.TrimSuffix(c.label, "（天）")
	}
	return m
}

// The separators of list cells in CSV (README.md): items are separated by
// |, the fields of an item (a material, a step, a fee) by ^, and a
// backslash makes the next character literal (\| \^ \\).
const (
	itemSep  = '|'
	fieldSep = '^'
	escape   = '\\'
)

func escapeCell(s string) string {
	if !strings.ContainsAny(s, `|^\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == itemSep || r == fieldSep || r == escape {
			b.WriteRune(escape)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unescapeCell(s string) string {
	if !strings.ContainsRune(s, escape) {
		return s
	}
	var b strings.Builder
	esc := false
	for _, r := range s {
		if esc {
			b.WriteRune(r)
			esc = false
			continue
		}
		if r == escape {
			esc = true
			continue
		}
		b.WriteRune(r)
	}
	if esc {
		b.WriteRune(escape)
	}
	return b.String()
}

// splitEscaped splits s at each sep not escaped, keeping the escapes.
func splitEscaped(s string, sep rune) []string {
	var out []string
	start, esc := 0, false
	for i, r := range s {
		switch {
		case esc:
			esc = false
		case r == escape:
			esc = true
		case r == sep:
			out = append(out, s[start:i])
			start = i + len(string(sep))
		}
	}
	return append(out, s[start:])
}

// joinList writes a list cell.
func joinList(items []string) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = escapeCell(it)
	}
	return strings.Join(parts, string(itemSep))
}

// splitList reads a list cell: items trimmed, empty ones dropped.
func splitList(s string) []string {
	out := []string{}
	if strings.TrimSpace(s) == "" {
		return out
	}
	for _, p := range splitEscaped(s, itemSep) {
		if p = strings.TrimSpace(unescapeCell(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// joinRecords writes a cell of records (materials, steps, fees).
func joinRecords(records [][]string) string {
	parts := make([]string, len(records))
	for i, rec := range records {
		fields := make([]string, len(rec))
		for j, f := range rec {
			fields[j] = escapeCell(f)
		}
		parts[i] = strings.Join(fields, string(fieldSep))
	}
	return strings.Join(parts, string(itemSep))
}

// splitRecords reads a cell of records: fields trimmed, empty records
// dropped.
func splitRecords(s string) [][]string {
	out := [][]string{}
	if strings.TrimSpace(s) == "" {
		return out
	}
	for _, p := range splitEscaped(s, itemSep) {
		if strings.TrimSpace(p) == "" {
			continue
		}
		raw := splitEscaped(p, fieldSep)
		rec := make([]string, len(raw))
		for i, f := range raw {
			rec[i] = strings.TrimSpace(unescapeCell(f))
		}
		out = append(out, rec)
	}
	return out
}

// A spreadsheet runs a cell starting with = + - or @ as a formula. Export
// puts an apostrophe before such a cell (and before one that already starts
// with apostrophes followed by such a character, so that the round trip is
// exact); import takes one apostrophe off a cell of apostrophes followed by
// such a character.
func formulaStart(s string) bool {
	s = strings.TrimLeft(s, "'")
	return s != "" && strings.ContainsRune("=+-@", rune(s[0]))
}

func guard(s string) string {
	if formulaStart(s) {
		return "'" + s
	}
	return s
}

func unguard(s string) string {
	if strings.HasPrefix(s, "'") && formulaStart(s) {
		return s[1:]
	}
	return s
}

// normalizeHeader folds the spellings of a header cell Import accepts.
func normalizeHeader(s string) string {
	s = strings.NewReplacer("（", "(", "）", ")", " ", "", "\u3000", "").Replace(strings.TrimSpace(s))
	return strings.ToLower(s)
}
