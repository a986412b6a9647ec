package exchange

import (
	"slices"
	"testing"
)

func TestListCells(t *testing.T) {
	cases := []struct {
		cell string
		want []string
	}{
		{"", []string{}},
		{"甲|乙", []string{"甲", "乙"}},
		{" 甲 || 乙 |", []string{"甲", "乙"}},
		{`甲\|乙|丙`, []string{"甲|乙", "丙"}},
		{`C:\\dir|x\`, []string{`C:\dir`, `x\`}},
		{`a\b`, []string{"ab"}},
	}
	for _, c := range cases {
		if got := splitList(c.cell); !slices.Equal(got, c.want) {
			t.Errorf("splitList(%q) = %q, want %q", c.cell, got, c.want)
		}
	}
	for _, list := range [][]string{{"甲|乙", `反\斜`, "上^标", "普通"}, {}} {
		if got := splitList(joinList(list)); !slices.Equal(got, list) {
			t.Errorf("round trip %q: %q", list, got)
		}
	}
	recs := [][]string{{"身份证", "原件", "1", "是", "备注|含竖线^和脱字符"}, {"户口簿", "", "", "", ""}}
	got := splitRecords(joinRecords(recs))
	if len(got) != 2 || !slices.Equal(got[0], recs[0]) || !slices.Equal(got[1], recs[1]) {
		t.Errorf("records round trip: %q", got)
	}
}

func TestFormulaGuardCells(t *testing.T) {
	for _, c := range []struct{ value, exported string }{
		{"=1+1", "'=1+1"}, {"+86", "'+86"}, {"-1", "'-1"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"'=1", "''=1"}, {"''-x", "'''-x"},
		{"普通", "普通"}, {"'引号", "'引号"}, {"", ""}, {"a=b", "a=b"},
	} {
		if got := guard(c.value); got != c.exported {
			t.Errorf("guard(%q) = %q, want %q", c.value, got, c.exported)
		}
		if got := unguard(c.exported); got != c.value {
			t.Errorf("unguard(%q) = %q, want %q", c.exported, got, c.value)
		}
	}
}
