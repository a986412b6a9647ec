package validate

import (
	"strings"

	"govmobile/models"
)

// creditCodeChars is the GB 32100-2015 code set: digits and the capital
// letters except I, O, Z, S, V; a character's value is its index (A = 10,
// Y = 30).
const creditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditWeights are 3^(i-1) mod 31 for positions 1–17 (GB 32100-2015, 5.2).
var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// NormalizeCreditCode returns the canonical form of a unified social credit
// code: surrounding spaces removed, letters upper-cased. Store this form.
func NormalizeCreditCode(s string) string { return normalize(s) }

// CreditCodeCheckChar returns the GB 32100-2015 check character (MOD 31) for
// the first 17 characters of a unified social credit code, or false when
// first17 is not 17 characters of the code set.
func CreditCodeCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(creditCodeChars, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * creditWeights[i]
	}
	return creditCodeChars[(31-sum%31)%31], true
}

// CreditCode checks an 18-character unified social credit code (GB
// 32100-2015): every character from the code set, positions 3–8 digits (the
// GB/T 2260 region code), and the MOD 31 check character at position 18.
// Lowercase letters and surrounding spaces are accepted; store
// NormalizeCreditCode(s).
//
// Not enforced, so that no real code is refused: the registration authority
// and type codes (positions 1–2) against the current table, which grows; and
// the GB 11714 check character of the organisation code (position 17), which
// codes of individual businesses (92…) and some re-registered bodies do not
// satisfy — their positions 9–17 were not assigned as organisation codes.
// The MOD 31 check still catches any single wrong character and any swap of
// two adjacent characters.
func CreditCode(field, s string) error {
	s = NormalizeCreditCode(s)
	if s == "" {
		return models.InvalidField(field, "请填写统一社会信用代码。")
	}
	if len(s) != 18 || strings.Trim(s, creditCodeChars) != "" {
		return models.InvalidField(field, "统一社会信用代码应为18位，由数字和大写英文字母组成（不使用I、O、S、V、Z）。")
	}
	if !allDigits(s[2:8]) {
		return models.InvalidField(field, "统一社会信用代码第3至8位应为行政区划代码（数字），请核对后重新输入。")
	}
	if c, _ := CreditCodeCheckChar(s[:17]); c != s[17] {
		return models.InvalidField(field, "统一社会信用代码校验位不正确，请核对后重新输入。")
	}
	return nil
}

// orgCodeWeights are the GB 11714-1997 weights for the 8 body characters of
// an organisation code.
var orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// orgCodeCheckChar returns the GB 11714-1997 check character (MOD 11; 10 → X,
// 11 → 0) of an 8-character organisation code body (digits and capital
// letters, A = 10 … Z = 35). Not enforced by CreditCode (see there); used by
// tests to build realistic codes.
func orgCodeCheckChar(body string) (byte, bool) {
	if len(body) != 8 {
		return 0, false
	}
	sum := 0
	for i := range 8 {
		c := body[i]
		var v int
		switch {
		case isDigit(c):
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		default:
			return 0, false
		}
		sum += v * orgCodeWeights[i]
	}
	switch r := 11 - sum%11; r {
	case 10:
		return 'X', true
	case 11:
		return '0', true
	default:
		return byte('0' + r), true
	}
}
