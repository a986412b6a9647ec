package validate

import (
	"time"

	"govmobile/models"
)

// NormalizeIDNumber returns the canonical form of a citizen identity number:
// surrounding spaces removed, a lowercase check character x upper-cased. Store
// and index (blind index) this form, so one person has one number.
func NormalizeIDNumber(s string) string { return normalize(s) }

// idWeights are the GB 11643-1999 weights 2^(18-i) mod 11 for positions 1–17.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// IDNumberCheckChar returns the GB 11643-1999 check character (ISO 7064
// MOD 11-2: '0'–'9' or 'X') for the first 17 digits of an identity number,
// or false when first17 is not exactly 17 ASCII digits.
func IDNumberCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := range 17 {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * idWeights[i]
	}
	return "10X98765432"[sum%11], true
}

// chinaTime is the zone birth dates are written in; a fixed offset needs no
// time zone database on the server.
var chinaTime = time.FixedZone("CST", 8*3600)

// now is replaced in tests.
var now = time.Now

// IDNumber checks an 18-character citizen identity number (GB 11643-1999):
// 17 digits and a check character, a real birth date (YYYYMMDD at positions
// 7–14) between 1900-01-01 and today, and the MOD 11-2 check character.
// A lowercase x and surrounding spaces are accepted; store
// NormalizeIDNumber(s). The 15-digit numbers of before 1999 are refused: they
// were all replaced, and 18 digits is what GB 11643 defines. The region part
// (positions 1–6) is not checked against the region list: codes of abolished
// counties stay valid in old numbers.
func IDNumber(field, s string) error {
	s = NormalizeIDNumber(s)
	if s == "" {
		return models.InvalidField(field, "请填写身份证号码。")
	}
	if len(s) != 18 || !allDigits(s[:17]) || !(isDigit(s[17]) || s[17] == 'X') {
		return models.InvalidField(field, "身份证号码应为18位，前17位为数字，最后一位为数字或字母X。")
	}
	if !validBirthDate(s[6:14]) {
		return models.InvalidField(field, "身份证号码中的出生日期不正确，请核对后重新输入。")
	}
	if c, _ := IDNumberCheckChar(s[:17]); c != s[17] {
		return models.InvalidField(field, "身份证号码校验位不正确，请核对后重新输入。")
	}
	return nil
}

// validBirthDate reports whether yyyymmdd is a calendar date from 1900-01-01
// to today (China time).
func validBirthDate(yyyymmdd string) bool {
	d, err := time.ParseInLocation("20060102", yyyymmdd, chinaTime)
	if err != nil { // also rejects 0229 outside leap years and month 13
		return false
	}
	y, m, day := now().In(chinaTime).Date()
	today := time.Date(y, m, day, 0, 0, 0, 0, chinaTime)
	return d.Year() >= 1900 && !d.After(today)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// IDNumberAge returns the holder's age in whole years on the given day
// (China time), from the birth date inside a valid identity number.
func IDNumberAge(s string, at time.Time) (int, bool) {
	s = NormalizeIDNumber(s)
	if len(s) != 18 {
		return 0, false
	}
	birth, err := time.ParseInLocation("20060102", s[6:14], chinaTime)
	if err != nil {
		return 0, false
	}
	y, m, d := at.In(chinaTime).Date()
	age := y - birth.Year()
	if m < birth.Month() || (m == birth.Month() && d < birth.Day()) {
		age--
	}
	return age, true
}
