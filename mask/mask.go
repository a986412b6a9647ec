// Package mask masks personal data before it is shown to users (9.4.5,
// 示例 8: 姓名 → 姓**, 证件号码 → 1101*****, 手机号码 → 1390*****). The GraphQL
// directive @mask(kind: …) calls Apply on every personal-data field, so the
// rule lives here and nowhere else.
//
// It must never return more of a value than the rule allows: a value too
// short to mask meaningfully is hidden entirely, never shown whole. The
// number of stars is fixed, so the mask does not reveal the value's length.
// It must never split a UTF-8 character.
package mask

import (
	"regexp"
	"strings"
	"time"
)

// Kind names a kind of personal data; the values are the enum values of the
// schema's @mask(kind:) argument.
type Kind string

// Kinds of personal data.
const (
	KindName       Kind = "NAME"
	KindIDNumber   Kind = "ID_NUMBER"
	KindPhone      Kind = "PHONE"
	KindCreditCode Kind = "CREDIT_CODE"
)

const (
	nameStars   = "**"
	numberStars = "*****"
	// numberPrefix is how many leading characters of a number stay visible
	// (9.4.5: 1101*****, 1390*****).
	numberPrefix = 4
)

// Apply masks s according to kind. An unknown kind hides the whole value:
// a new kind added to the schema before it is added here fails closed.
func Apply(kind Kind, s string) string {
	switch kind {
	case KindName:
		return Name(s)
	case KindIDNumber:
		return IDNumber(s)
	case KindPhone:
		return Phone(s)
	case KindCreditCode:
		return CreditCode(s)
	}
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return numberStars
}

// Name keeps the surname and replaces the rest with ** (9.4.5: 张三 → 张**,
// 张三丰 → 张**). A compound surname (欧阳修 → 欧阳**) is kept whole only when
// the name has at least three characters, since in a two-character name the
// second character is the given name (欧阳 → 欧**). Names written with a
// middle dot (阿依古丽·买买提) have no surname in the Han sense: only the first
// character is kept. A one-character name is hidden entirely.
func Name(s string) string {
	r := []rune(strings.TrimSpace(s))
	switch {
	case len(r) == 0:
		return ""
	case len(r) == 1:
		return nameStars
	case hasNameSeparator(r):
		return string(r[0]) + nameStars
	case len(r) >= 3 && compoundSurnames[string(r[:2])]:
		return string(r[:2]) + nameStars
	}
	return string(r[0]) + nameStars
}

// hasNameSeparator reports whether r contains a middle dot as written in
// transliterated names: the standard U+00B7 and the look-alikes people type.
func hasNameSeparator(r []rune) bool {
	for _, c := range r {
		switch c {
		case '·', '•', '・', '‧', '･', '．':
			return true
		}
	}
	return false
}

// IDNumber keeps the first four characters of an identity (or other
// certificate) number, 15 or 18 characters alike (9.4.5: 1101*****).
func IDNumber(s string) string { return number(s) }

// Phone keeps the first four digits of a phone number (9.4.5: 1390*****).
func Phone(s string) string { return number(s) }

// CreditCode masks a unified social credit code like an identity number.
func CreditCode(s string) string { return number(s) }

// number keeps the first four characters and appends five stars. A value of
// four characters or fewer would be shown whole, so it is hidden entirely.
func number(s string) string {
	r := []rune(strings.TrimSpace(s))
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= numberPrefix:
		return numberStars
	}
	return string(r[:numberPrefix]) + numberStars
}

// compoundSurnames are the two-character surnames (复姓) of the Hundred
// Family Surnames (百家姓) plus 独孤 and 完颜, in simplified and traditional
// characters. A wrong entry would reveal one character of a given name (a
// name 单于洋 is more likely 单 + 于洋 than 单于 + 洋), so the list errs on
// the short side: 单于 and rarer historical surnames are left out on purpose.
var compoundSurnames = map[string]bool{}

func init() {
	for _, s := range strings.Fields(`
		万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶
		宗政 濮阳 淳于 太叔 申屠 公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于
		闾丘 司徒 司空 亓官 司寇 子车 颛孙 端木 巫马 公西 漆雕 乐正 壤驷 公良
		拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 羊舌 微生 梁丘 左丘 东门
		西门 伯赏 南宫 第五 独孤 完颜
		萬俟 司馬 歐陽 諸葛 聞人 東方 赫連 尉遲 澹臺 申屠 公孫 軒轅 鍾離 長孫
		鮮于 閭丘 顓孫 樂正 壤駟 夾谷 穀梁 東郭 東門 西門 南宮 獨孤 完顏`) {
		compoundSurnames[s] = true
	}
}

// numberRun is a run of digits, possibly in groups separated by single
// spaces or hyphens, possibly after a + (a country code) and ending in an X
// (an identity number's check character).
var numberRun = regexp.MustCompile(`\+?[0-9]+(?:[ -][0-9]+)*[Xx]?`)

// fullWidthDigits reads full-width digits as their ASCII forms.
var fullWidthDigits = strings.NewReplacer("０", "0", "１", "1", "２", "2", "３", "3", "４", "4", "５", "5", "６", "6", "７", "7", "８", "8", "９", "9")

// Text masks the identity numbers and mobile phone numbers a person writes
// into free text — a consultation, a chat line, a comment, a note — before
// it is stored or shown (SPEC §4: no identity number or phone in clear at
// rest; 9.4.5 masking when shown). Runs of digits are read in their groups
// (136 7023 2362, 330106-19790823-3173): any groups that together form a
// mobile phone (eleven digits from 13, after an optional 86 or 0086), or an
// identity number (eighteen characters with a real birth date, whatever
// the check character — a mistyped one is still a person's; or the older
// fifteen digits with a real date), are masked as a number (first four
// digits kept, 1367*****). A run that is one long number — a case number,
// a waybill, an order number — is not a person's and stays as typed, as do
// amounts, dates and landlines. Full-width digits are read, and kept, as
// ASCII ones.
func Text(s string) string {
	s = fullWidthDigits.Replace(s)
	var b strings.Builder
	last := 0
	for _, m := range numberRun.FindAllStringIndex(s, -1) {
		masked, changed := maskRun(s[m[0]:m[1]])
		if !changed {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(masked)
		last = m[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// maskRun masks the personal numbers among a run's groups: from each
// group on, the longest span of groups that forms one.
func maskRun(run string) (string, bool) {
	var groups, seps []string // seps[i] is the separator before groups[i]
	sep, start := "", 0
	for i := 0; i <= len(run); i++ {
		if i == len(run) || run[i] == ' ' || run[i] == '-' {
			groups, seps = append(groups, run[start:i]), append(seps, sep)
			if i < len(run) {
				sep = run[i : i+1]
			}
			start = i + 1
		}
	}
	var out strings.Builder
	changed := false
	for i := 0; i < len(groups); {
		// A number is written in at most four groups (+86 136 7023 2362):
		// longer spans are never tried, so a long run costs linear time.
		j, digits := min(len(groups)-1, i+3), ""
		for ; j >= i; j-- {
			var ok bool
			if digits, ok = personalNumber(strings.TrimPrefix(strings.Join(groups[i:j+1], ""), "+")); ok {
				break
			}
		}
		out.WriteString(seps[i])
		if j < i {
			out.WriteString(groups[i])
			i++
			continue
		}
		out.WriteString(number(digits))
		changed = true
		i = j + 1
	}
	return out.String(), changed
}

// personalNumber reports whether digits are a mobile phone (with or without
// 86 or 0086 before it) or an identity number, and gives the number itself.
func personalNumber(digits string) (string, bool) {
	mobile := func(d string) bool { return len(d) == 11 && d[0] == '1' && d[1] >= '3' && allDigits(d) }
	switch {
	case mobile(digits):
		return digits, true
	case strings.HasPrefix(digits, "86") && mobile(digits[2:]):
		return digits[2:], true
	case strings.HasPrefix(digits, "0086") && mobile(digits[4:]):
		return digits[4:], true
	case len(digits) == 15 && allDigits(digits):
		_, err := time.Parse("060102", digits[6:12])
		return digits, err == nil
	case len(digits) == 18 && allDigits(digits[:17]) && (isDigit(digits[17]) || digits[17] == 'X' || digits[17] == 'x'):
		birth, err := time.Parse("20060102", digits[6:14])
		return digits, err == nil && birth.Year() >= 1900 && birth.Year() <= 2100
	}
	return "", false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
