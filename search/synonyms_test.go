package search

import (
	"slices"
	"testing"
)

func TestSynonymRewrite(t *testing.T) {
	set := &synonymSet{
		terms: []string{"社保卡", "坏了", "补办"},
		exp: map[string][]string{
			"社保卡": {"社会保障卡"},
			"坏了":  {"损坏", "补换"},
			"补办":  {"补领", "补发"},
		},
	}
	cases := []struct {
		piece string
		want  []string
	}{
		// Every term at once, one expansion of each per phrasing (the
		// expansions of 坏了 are alternatives, never required together),
		// then each term alone.
		{"社保卡坏了", []string{"社会保障卡 损坏", "社会保障卡 补换", "社会保障卡 坏了", "社保卡 损坏"}},
		// One term: its expansions, in place.
		{"补办护照", []string{"补领 护照", "补发 护照"}},
		{"护照", nil},
		// Text between and around terms is kept.
		{"我的社保卡坏了啊", []string{"我的 社会保障卡 损坏 啊", "我的 社会保障卡 补换 啊", "我的 社会保障卡 坏了啊", "我的社保卡 损坏 啊"}},
	}
	for _, c := range cases {
		if got := set.rewrite(c.piece); !slices.Equal(got, c.want) {
			t.Errorf("rewrite(%q) = %q, want %q", c.piece, got, c.want)
		}
	}
}

func TestCombinations(t *testing.T) {
	if got := combinations(4, 3); len(got) != 4 || !slices.Equal(got[0], []int{0, 1, 2}) || !slices.Equal(got[3], []int{1, 2, 3}) {
		t.Errorf("combinations(4, 3) = %v", got)
	}
	if got := combinations(8, 6); len(got) <= maxCombinations {
		t.Errorf("combinations(8, 6) stopped at %d, want more than %d so that atLeast falls back", len(got), maxCombinations)
	}
	for _, c := range [][2]int{{3, 0}, {2, 3}} {
		if got := combinations(c[0], c[1]); got != nil {
			t.Errorf("combinations(%d, %d) = %v, want none", c[0], c[1], got)
		}
	}
}
