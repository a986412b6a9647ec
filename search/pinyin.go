package search

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"
)

// polyphonesTSV overrides go-pinyin for domain words. go-pinyin reads each
// character on its own, in its most common reading, and has no phrase
// dictionary: 重庆 would become zhongqing, 银行 yinxing, 长沙 zhangsha (SPEC §7).
//
//go:embed defaults/polyphones.tsv
var polyphonesTSV []byte

// pinyinConverter turns Chinese text into full pinyin and initials.
type pinyinConverter struct {
	words   map[string][]string
	longest int
	args    pinyin.Args
}

func newPinyinConverter(tsv []byte) (*pinyinConverter, error) {
	c := &pinyinConverter{words: map[string][]string{}, args: pinyin.NewArgs()}
	c.args.Fallback = func(rune, pinyin.Args) []string { return nil }
	sc := bufio.NewScanner(bytes.NewReader(tsv))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		word, syl, ok := strings.Cut(text, "\t")
		syllables := strings.Fields(syl)
		if !ok || utf8.RuneCountInString(word) != len(syllables) {
			return nil, fmt.Errorf("polyphones.tsv line %d: want word<TAB>one syllable per character", line)
		}
		c.words[word] = syllables
		c.longest = max(c.longest, utf8.RuneCountInString(word))
	}
	return c, sc.Err()
}

// convert returns the pinyin syllables of text's Han characters, and ASCII
// letters and digits as runs of their own, lowercased; everything else is
// dropped. Override words are matched longest first.
func (c *pinyinConverter) convert(text string) []string {
	runes := []rune(text)
	var out []string
	for i := 0; i < len(runes); {
		r := runes[i]
		switch {
		case unicode.Is(unicode.Han, r):
			if syl, n := c.override(runes[i:]); n > 0 {
				out = append(out, syl...)
				i += n
				continue
			}
			if p := pinyin.SinglePinyin(r, c.args); len(p) > 0 {
				out = append(out, p[0])
			}
			i++
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			j := i
			for j < len(runes) && runes[j] < utf8.RuneSelf && (unicode.IsLetter(runes[j]) || unicode.IsDigit(runes[j])) {
				j++
			}
			out = append(out, strings.ToLower(string(runes[i:j])))
			i = j
		default:
			i++
		}
	}
	return out
}

func (c *pinyinConverter) override(runes []rune) ([]string, int) {
	for n := min(c.longest, len(runes)); n >= 2; n-- {
		if syl, ok := c.words[string(runes[:n])]; ok {
			return syl, n
		}
	}
	return nil, 0
}

// forms returns text's full pinyin ("shebaoka") and initials ("sbk"); both
// empty when text has nothing to spell.
func (c *pinyinConverter) forms(text string) (full, initials string) {
	syl := c.convert(text)
	var f, in strings.Builder
	for _, s := range syl {
		f.WriteString(s)
		if s[0] >= '0' && s[0] <= '9' {
			in.WriteString(s)
		} else {
			in.WriteByte(s[0])
		}
	}
	return f.String(), in.String()
}
