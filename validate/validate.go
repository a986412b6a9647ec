// Package validate checks user input and reports what is wrong in a Chinese
// sentence a citizen understands (10.3 g): each function returns nil when the
// value is acceptable, or a BAD_USER_INPUT *models.Error naming the field.
//
// It must never echo the rejected value in a message (it may be an identity
// number or a password), never modify or store input, and never decide
// authorisation: it only says whether a value is well formed.
package validate

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"govmobile/models"
)

var mobileRe = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// Mobile checks a mainland China mobile number: 11 digits, 1 then 3–9.
// Callers trim the input first; spaces and +86 are not accepted here, so the
// stored value has one form.
func Mobile(field, s string) error {
	if s == "" {
		return models.InvalidField(field, "请填写手机号码。")
	}
	if !mobileRe.MatchString(s) {
		return models.InvalidField(field, "手机号码格式不正确，应为以1开头的11位中国大陆手机号码。")
	}
	return nil
}

// labels gives the Chinese name Length uses in its messages for the input
// field names common across the schema.
var labels = map[string]string{
	"username":    "用户名",
	"password":    "密码",
	"newPassword": "新密码",
	"name":        "姓名",
	"realName":    "姓名",
	"idNumber":    "身份证号码",
	"mobile":      "手机号码",
	"phone":       "联系电话",
	"creditCode":  "统一社会信用代码",
	"title":       "标题",
	"content":     "内容",
	"description": "描述",
	"comment":     "评价内容",
	"address":     "地址",
	"email":       "电子邮箱",
	"keyword":     "关键词",
	"reason":      "原因",
	"remark":      "备注",
	"companyName": "企业名称",
	"contactName": "联系人",
}

// Length checks that s has between min and max characters (Unicode code
// points, so 张三 is two characters), both inclusive; a negative max means no
// upper bound. The message names the field in Chinese when field is one of
// the common field names ("用户名长度应为4到32个字符。"), else "输入内容";
// use LengthOf to give the Chinese name explicitly.
func Length(field, s string, min, max int) error {
	l, ok := labels[field]
	if !ok {
		l = "输入内容"
	}
	return LengthOf(field, l, s, min, max)
}

// LengthOf is Length with the field's Chinese name given as label
// ("标题长度不能超过100个字符。").
func LengthOf(field, label, s string, min, max int) error {
	n := utf8.RuneCountInString(s)
	if n >= min && (max < 0 || n <= max) {
		return nil
	}
	switch {
	case n == 0:
		return models.InvalidField(field, "请填写"+label+"。")
	case max < 0:
		return models.InvalidField(field, fmt.Sprintf("%s长度应至少为%d个字符。", label, min))
	case min == max:
		return models.InvalidField(field, fmt.Sprintf("%s长度应为%d个字符。", label, min))
	case min <= 0:
		return models.InvalidField(field, fmt.Sprintf("%s长度不能超过%d个字符。", label, max))
	}
	return models.InvalidField(field, fmt.Sprintf("%s长度应为%d到%d个字符。", label, min, max))
}

// Username checks a login name: 4–32 characters of ASCII letters, digits and
// underscores, starting with a letter (so it can never be mistaken for a
// phone or identity number).
func Username(field, s string) error {
	if s == "" {
		return models.InvalidField(field, "请填写用户名。")
	}
	if n := utf8.RuneCountInString(s); n < 4 || n > 32 {
		return models.InvalidField(field, "用户名长度应为4到32个字符。")
	}
	for i, c := range s {
		letter := c < utf8.RuneSelf && unicode.IsLetter(c)
		if !(letter || (i > 0 && (c >= '0' && c <= '9' || c == '_'))) {
			return models.InvalidField(field, "用户名只能包含英文字母、数字和下划线，且必须以英文字母开头。")
		}
	}
	return nil
}

// Password checks password complexity (等保三级, GB/T 22239-2019 8.1.4.1 a:
// passwords have complexity requirements): 8–64 characters, printable ASCII
// only, with at least three of lowercase letters, uppercase letters, digits
// and symbols. Non-ASCII is refused because input methods on phones make such
// passwords hard to type again.
func Password(field, s string) error {
	if s == "" {
		return models.InvalidField(field, "请填写密码。")
	}
	if n := utf8.RuneCountInString(s); n < 8 || n > 64 {
		return models.InvalidField(field, "密码长度应为8到64个字符。")
	}
	var lower, upper, digit, symbol bool
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		case c >= ' ' && c <= '~':
			symbol = true
		default:
			return models.InvalidField(field, "密码只能包含英文字母、数字、空格和英文符号。")
		}
	}
	classes := 0
	for _, has := range []bool{lower, upper, digit, symbol} {
		if has {
			classes++
		}
	}
	if classes < 3 {
		return models.InvalidField(field, "密码应至少包含小写字母、大写字母、数字和符号中的三种。")
	}
	return nil
}

// Name checks a person's name: 2–30 characters of Chinese characters,
// letters of any script (with their combining marks), the middle dot · of
// transliterated names (阿依古丽·买买提) and spaces (John Smith); a dot or
// space may not start or end the name or follow another dot or space.
func Name(field, s string) error {
	if s == "" {
		return models.InvalidField(field, "请填写姓名。")
	}
	r := []rune(s)
	if len(r) < 2 || len(r) > 30 {
		return models.InvalidField(field, "姓名长度应为2到30个字符。")
	}
	prevSep := true // a separator may not come first
	for _, c := range r {
		switch {
		case c == '·' || c == ' ':
			if prevSep {
				return models.InvalidField(field, "姓名中的间隔号“·”或空格不能出现在开头、结尾或连续出现。")
			}
			prevSep = true
		case unicode.IsLetter(c): // includes unicode.Han
			prevSep = false
		case unicode.IsMark(c) && !prevSep:
		default:
			return models.InvalidField(field, "姓名只能包含汉字、字母、间隔号“·”和空格。")
		}
	}
	if prevSep {
		return models.InvalidField(field, "姓名中的间隔号“·”或空格不能出现在开头、结尾或连续出现。")
	}
	return nil
}

// normalize trims spaces and upper-cases ASCII letters only: strings.ToUpper
// would turn ſ (U+017F) into S and ı (U+0131) into I.
func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, strings.TrimSpace(s))
}

// Text trims a free text and checks it: at most max characters, valid
// UTF-8, and no control characters but those in allowed (say "\n" for a
// multi-line comment). label is the field's Chinese name in the messages.
// It returns the trimmed text.
func Text(field, label, s string, max int, allowed string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", models.InvalidField(field, fmt.Sprintf("%s不能超过%d个字。", label, max))
	}
	bad := func(r rune) bool { return (r < 0x20 || r == 0x7f) && !strings.ContainsRune(allowed, r) }
	if !utf8.ValidString(s) || strings.ContainsFunc(s, bad) {
		return "", models.InvalidField(field, fmt.Sprintf("%s含有无法识别的字符。", label))
	}
	return s, nil
}

var landlineRe = regexp.MustCompile(`^(0[1-9][0-9]{1,2}-?[0-9]{7,8}(-[0-9]{1,6})?|[48]00-?[0-9]{3}-?[0-9]{4})$`)

// Phone checks a contact telephone: a mainland mobile number, a landline
// with its area code (010-12345678, 0755-1234567, an extension after a
// hyphen), or a 400/800 service number.
func Phone(field, label, s string) error {
	if mobileRe.MatchString(s) || landlineRe.MatchString(s) {
		return nil
	}
	return models.InvalidField(field, label+"格式不正确，应为手机号码或带区号的固定电话（如 010-12345678）。")
}
