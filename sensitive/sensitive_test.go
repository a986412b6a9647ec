package sensitive_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"govmobile/sensitive"
)

func TestFind(t *testing.T) {
	m := sensitive.New([]string{"翻墙", " VPN ", "赌博", "赌博", "", strings.Repeat("长", 51), "身份证号泄露"})
	if m.Len() != 4 {
		t.Fatalf("%d words kept", m.Len())
	}
	for text, want := range map[string][]string{
		`{"msg":"如何翻墙使用vpn"}`: {"翻墙", "vpn"},
		"ＶＰＮ 和 赌博，再来一次翻墙翻墙":   {"vpn", "赌博", "翻墙"},
		"正常的办事指南":             {},
		"内部身份证号泄露了":           {"身份证号泄露"},
		"":                    {},
	} {
		got := m.Find(text, 0)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
	if got := m.Find("翻墙 vpn 赌博", 2); len(got) != 2 {
		t.Errorf("at most 2: %v", got)
	}
	if got := sensitive.New(nil).Find("翻墙", 0); got != nil {
		t.Errorf("an empty list found %v", got)
	}
}

// BenchmarkFind (issue 6, "Numbers": the sensitive-word check over a
// 100 KB response with 10,000 words, under 5 ms):
//
//	go test -run '^$' -bench Find -cpu 1 ./sensitive/
func BenchmarkFind(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	han := func(n int) string {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			sb.WriteRune(rune(0x4e00 + rng.IntN(0x9fa5-0x4e00)))
		}
		return sb.String()
	}
	words := make([]string, 10_000)
	for i := range words {
		if i%10 == 0 {
			words[i] = fmt.Sprintf("word%05d", i)
		} else {
			words[i] = han(2 + rng.IntN(4))
		}
	}
	m := sensitive.New(words)
	var sb strings.Builder
	for sb.Len() < 100<<10 {
		fmt.Fprintf(&sb, `{"name":"%s","value":%d,"remark":"%s"},`, han(8), rng.IntN(100000), han(30))
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		m.Find(text, 0)
	}
}
