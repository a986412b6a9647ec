package logistics

import (
	"regexp"
	"strings"
)

// Carriers write the courier's and the signer's phone, sometimes an
// identity number, into an event's description ("快递员李雷（13711112222）
// 已揽收"), and may put a street address in its location. The history keeps
// them as received (the description sealed); Track masks them on the way
// out.

// longDigits finds digit runs of seven or more digits (phones, identity
// numbers), full-width or not, and mobile numbers typed in groups
// ("139 1234 5678", "139-1234-5678"). Shorter runs (dates, times, the
// 6-digit region codes of the sandbox's locations) are left alone.
var longDigits = regexp.MustCompile(`1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4}|[0-9０-９]{7,}`)

// maskDigits keeps the first three and the last two digits of each long
// digit run and puts one * in place of each other digit.
func maskDigits(s string) string {
	return longDigits.ReplaceAllStringFunc(s, func(run string) string {
		var d []rune
		for _, r := range run {
			if r != ' ' && r != '-' {
				d = append(d, r)
			}
		}
		return string(d[:3]) + strings.Repeat("*", len(d)-5) + string(d[len(d)-2:])
	})
}

// facilityWords mark a location that names a carrier's facility (a depot,
// a sorting centre, a branch), not a person's address.
var facilityWords = []string{"分拨", "中心", "网点", "站", "仓", "营业部", "营业厅", "转运", "集散", "分部"}

// houseNumber is what a street address has and a facility's name rarely
// does: a house, building, unit or room number.
var houseNumber = regexp.MustCompile(`[0-9０-９一二三四五六七八九十百千]+\s*(号|栋|幢|座|单元|室|层|楼|弄|巷|组)`)

// maskLocation keeps a location that looks like a facility ("北京朝阳营业部",
// "华北分拨中心") and reduces anything else to the start of an address
// (MaskAddress); long digit runs are masked either way.
func maskLocation(s string) string {
	s = maskDigits(strings.TrimSpace(s))
	if s == "" {
		return ""
	}
	if !houseNumber.MatchString(s) {
		for _, w := range facilityWords {
			if strings.Contains(s, w) {
				return s
			}
		}
	}
	return MaskAddress(s)
}

// maskEvent is the text of an event as shown.
func maskEvent(description, location string) (string, string) {
	return maskDigits(description), maskLocation(location)
}
