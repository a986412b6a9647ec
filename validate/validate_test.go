package validate

import (
	"strings"
	"testing"
)

func TestMobile(t *testing.T) {
	const bad = "手机号码格式不正确"
	tests := []struct{ in, want string }{
		{"13900001111", ""},
		{"13000000000", ""},
		{"19912345678", ""},
		{"16612345678", ""},
		{"", "请填写手机号码。"},
		{"12900001111", bad},
		{"10900001111", bad},
		{"23900001111", bad},
		{"1390000111", bad},
		{"139000011111", bad},
		{"+8613900001111", bad},
		{"139 0000 1111", bad},
		{" 13900001111", bad},
		{"1390000111a", bad},
		{"１３９００００１１１１", bad},
		{"010-12345678", bad},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			wantErr(t, Mobile("mobile", tt.in), "mobile", tt.in, tt.want)
		})
	}
}

func TestLength(t *testing.T) {
	tests := []struct {
		name, field, in string
		min, max        int
		want            string
	}{
		{"ascii in range", "username", "abcd", 4, 32, ""},
		{"at max", "username", strings.Repeat("a", 32), 4, 32, ""},
		{"too short", "username", "abc", 4, 32, "用户名长度应为4到32个字符。"},
		{"too long", "username", strings.Repeat("a", 33), 4, 32, "用户名长度应为4到32个字符。"},
		{"empty", "title", "", 1, 100, "请填写标题。"},
		{"empty allowed", "remark", "", 0, 100, ""},
		{"runes not bytes: 2 chinese characters", "name", "张三", 2, 2, ""},
		{"runes not bytes: 4 chinese characters over 3", "name", "欧阳娜娜", 1, 3, "姓名长度应为1到3个字符。"},
		{"exact length", "regionCode", "11010", 6, 6, "输入内容长度应为6个字符。"},
		{"no minimum", "content", strings.Repeat("长", 11), 0, 10, "内容长度不能超过10个字符。"},
		{"no maximum", "password", "abc", 8, -1, "密码长度应至少为8个字符。"},
		{"no maximum ok", "password", strings.Repeat("a", 1000), 8, -1, ""},
		{"unknown field", "fooBar", "x", 2, 5, "输入内容长度应为2到5个字符。"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, Length(tt.field, tt.in, tt.min, tt.max), tt.field, tt.in, tt.want)
		})
	}
	wantErr(t, LengthOf("matterName", "事项名称", strings.Repeat("办", 101), 1, 100), "matterName", "", "事项名称长度应为1到100个字符。")
}

func TestUsername(t *testing.T) {
	const length = "用户名长度应为4到32个字符。"
	const chars = "用户名只能包含英文字母、数字和下划线，且必须以英文字母开头。"
	tests := []struct{ in, want string }{
		{"admin", ""},
		{"zhang_san_1990", ""},
		{"Abcd", ""},
		{"a___", ""},
		{"a" + strings.Repeat("1", 31), ""},
		{"", "请填写用户名。"},
		{"abc", length},
		{"a" + strings.Repeat("1", 32), length},
		{"1abcd", chars},
		{"_abcd", chars},
		{"zhang san", chars},
		{"zhang-san", chars},
		{"zhang.san", chars},
		{"user@example", chars},
		{"张三丰abc", chars},
		{"zhangsän", chars},
		{"13900001111", chars},
		{"abcd\n", chars},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			wantErr(t, Username("username", tt.in), "username", tt.in, tt.want)
		})
	}
}

func TestPassword(t *testing.T) {
	const length = "密码长度应为8到64个字符。"
	const classes = "密码应至少包含小写字母、大写字母、数字和符号中的三种。"
	const chars = "密码只能包含英文字母、数字、空格和英文符号。"
	tests := []struct{ name, in, want string }{
		{"lower upper digit", "Abcdefg1", ""},
		{"lower digit symbol", "abcdefg1!", ""},
		{"upper digit symbol", "ABCDEFG1#", ""},
		{"lower upper symbol", "Abcdefg_", ""},
		{"all four", "Zhang-San-2024", ""},
		{"space is a symbol", "correct horse 9", ""},
		{"max length", "Aa1" + strings.Repeat("x", 61), ""},
		{"empty", "", "请填写密码。"},
		{"7 characters", "Abcde1!", length},
		{"65 characters", "Aa1" + strings.Repeat("x", 62), length},
		{"lower only", "abcdefgh", classes},
		{"digits only", "12345678", classes},
		{"lower and digits", "abcd1234", classes},
		{"upper and symbols", "ABCD!@#$", classes},
		{"chinese", "密码Abc12345", chars},
		{"full-width symbol", "Abcdefg1！", chars},
		{"tab", "Abcdefg1\t", chars},
		{"newline", "Abcdef1\nx", chars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, Password("password", tt.in), "password", tt.in, tt.want)
		})
	}
}

func TestName(t *testing.T) {
	const length = "姓名长度应为2到30个字符。"
	const chars = "姓名只能包含汉字、字母、间隔号“·”和空格。"
	const sep = "姓名中的间隔号“·”或空格不能出现在开头、结尾或连续出现。"
	tests := []struct{ in, want string }{
		{"张三", ""},
		{"欧阳娜娜", ""},
		{"阿依古丽·买买提", ""},
		{"爱新觉罗·溥仪", ""},
		{"John Smith", ""},
		{"Zoë Ångström", ""},
		{"Zoe\u0308 Smith", ""}, // combining diaeresis
		{"ئەخمەت", ""},          // Uyghur in Arabic script
		{"𠀾明", ""},              // CJK extension B
		{strings.Repeat("张", 30), ""},
		{"", "请填写姓名。"},
		{"张", length},
		{strings.Repeat("张", 31), length},
		{"张3", chars},
		{"张三!", chars},
		{"张-三", chars},
		{"张　三", chars}, // ideographic space
		{"张\t三", chars},
		{"阿依古丽•买买提", chars}, // bullet, not the middle dot
		{"\u0308张三", chars},
		{"张三 ", sep},
		{" 张三", sep},
		{"·张三", sep},
		{"阿依古丽·", sep},
		{"阿依古丽··买买提", sep},
		{"John  Smith", sep},
		{"John · Smith", sep},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			wantErr(t, Name("name", tt.in), "name", tt.in, tt.want)
		})
	}
}

func TestPhone(t *testing.T) {
	for _, ok := range []string{"13912345678", "010-12345678", "01012345678", "0755-1234567", "020-87654321-123", "400-123-4567", "8001234567"} {
		if err := Phone("phone", "联系电话", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "12345", "010-1234", "1391234567", "+8613912345678", "010-12345678-1234567", "０１０-12345678"} {
		if err := Phone("phone", "联系电话", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
