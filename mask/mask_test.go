package mask

import (
	"govmobile/validate"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestName(t *testing.T) {
	tests := []struct{ in, want string }{
		// 9.4.5 示例 8
		{"张三", "张**"},
		{"张三丰", "张**"},
		{"王小二子", "王**"},
		// compound surnames
		{"欧阳修", "欧阳**"},
		{"欧阳娜娜", "欧阳**"},
		{"司马相如", "司马**"},
		{"诸葛亮", "诸葛**"},
		{"上官婉儿", "上官**"},
		{"第五伦", "第五**"},
		{"完颜阿骨打", "完颜**"},
		{"歐陽修", "歐陽**"},
		{"欧阳", "欧**"}, // two characters: 欧 + given name 阳
		{"司马", "司**"},
		{"单于洋", "单**"}, // 单于 deliberately not treated as compound
		{"王孙明", "王**"},
		// edges
		{"", ""},
		{"   ", ""},
		{"张", "**"},
		{"欧", "**"},
		{" 张三 ", "张**"},
		{"\t李四\n", "李**"},
		{"阿依古丽·买买提", "阿**"},
		{"欧阳·买买提", "欧**"},
		{"司马•艾力", "司**"},
		{"Tom", "T**"},
		{"John Smith", "J**"},
		{"𠀾明", "𠀾**"}, // a character outside the BMP (4 bytes of UTF-8)
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Name(tt.in); got != tt.want {
				t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		// 9.4.5 示例 8
		{"id 18", IDNumber, "110101199003074514", "1101*****"},
		{"id 18 with X", IDNumber, "11010119900307451X", "1101*****"},
		{"id 15", IDNumber, "110101900307451", "1101*****"},
		{"id 5", IDNumber, "11010", "1101*****"},
		{"id 4", IDNumber, "1101", "*****"},
		{"id 3", IDNumber, "110", "*****"},
		{"id 1", IDNumber, "1", "*****"},
		{"id empty", IDNumber, "", ""},
		{"id spaces", IDNumber, "   ", ""},
		{"id padded", IDNumber, " 110101199003074514 ", "1101*****"},
		{"id passport", IDNumber, "E12345678", "E123*****"},
		{"id hk permit", IDNumber, "H1234567801", "H123*****"},
		{"id chinese", IDNumber, "护照号码一二三四五", "护照号码*****"},
		{"phone 11", Phone, "13900001111", "1390*****"},
		{"phone landline", Phone, "010-12345678", "010-*****"},
		{"phone +86", Phone, "+8613900001111", "+861*****"},
		{"phone 4", Phone, "1390", "*****"},
		{"phone empty", Phone, "", ""},
		{"credit code", CreditCode, "91350100M000100Y43", "9135*****"},
		{"credit code short", CreditCode, "9135", "*****"},
		{"credit code empty", CreditCode, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		kind     Kind
		in, want string
	}{
		{KindName, "张三", "张**"},
		{KindIDNumber, "110101199003074514", "1101*****"},
		{KindPhone, "13900001111", "1390*****"},
		{KindCreditCode, "91350100M000100Y43", "9135*****"},
		{"EMAIL", "zhangsan@example.com", "*****"},
		{"", "张三", "*****"},
		{"name", "张三", "*****"}, // kinds are case-sensitive enum values
		{"EMAIL", "", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+tt.in, func(t *testing.T) {
			if got := Apply(tt.kind, tt.in); got != tt.want {
				t.Errorf("Apply(%q, %q) = %q, want %q", tt.kind, tt.in, got, tt.want)
			}
		})
	}
	if KindName != "NAME" || KindIDNumber != "ID_NUMBER" || KindPhone != "PHONE" || KindCreditCode != "CREDIT_CODE" {
		t.Error("Kind values changed: they are the schema's enum values")
	}
}

// The stars are fixed, so masked values of different lengths look alike.
func TestMaskHidesLength(t *testing.T) {
	if IDNumber("110101900307451") != IDNumber("110101199003074514") {
		t.Error("15- and 18-character numbers mask differently")
	}
	if Name("张三") != Name("张三丰") {
		t.Error("two- and three-character names mask differently")
	}
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"", " ", "张", "张三", "欧阳修", "欧阳", "阿依古丽·买买提", "110101199003074514",
		"1101", "11010", "13900001111", "91350100M000100Y43", "\xff\xfe", "a\u0301bcde", " 𠀾𠀾𠀾𠀾𠀾 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := []rune(strings.TrimSpace(s))

		for kind, got := range map[Kind]string{
			KindIDNumber:   IDNumber(s),
			KindPhone:      Phone(s),
			KindCreditCode: CreditCode(s),
			"UNKNOWN":      Apply("UNKNOWN", s),
		} {
			var want string
			switch {
			case len(r) == 0:
				want = ""
			case len(r) <= 4 || kind == "UNKNOWN":
				want = "*****"
			default:
				want = string(r[:4]) + "*****"
			}
			if got != want {
				t.Fatalf("%s(%q) = %q, want %q", kind, s, got, want)
			}
			if got != Apply(kind, s) {
				t.Fatalf("Apply(%s, %q) differs from the function", kind, s)
			}
		}

		name := Name(s)
		if name != Apply(KindName, s) {
			t.Fatalf("Apply(NAME, %q) differs from Name", s)
		}
		switch {
		case len(r) == 0:
			if name != "" {
				t.Fatalf("Name(%q) = %q, want empty", s, name)
			}
		case len(r) == 1:
			if name != "**" {
				t.Fatalf("Name(%q) = %q reveals a one-character name", s, name)
			}
		default:
			kept, ok := strings.CutSuffix(name, "**")
			k := utf8.RuneCountInString(kept)
			if !ok || k < 1 || k > 2 || (k == 2 && len(r) < 3) || kept != string(r[:k]) {
				t.Fatalf("Name(%q) = %q: must be the first one or two characters + **", s, name)
			}
		}
		for _, got := range []string{name, IDNumber(s)} {
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("mask of valid UTF-8 %q is invalid UTF-8: %q", s, got)
			}
		}
	})
}

// TestText: numbers typed into free text are masked as numbers; shorter
// digit runs and the words around them are kept.
func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"我的电话13670232362，请回电。", "我的电话1367*****，请回电。"},
		{"身份证330106197908233173", "身份证3301*****"},
		{"证件号11010519491231002X。", "证件号1101*****。"},
		{"15位证件330106850307451", "15位证件3301*****"},
		{"窗口排队2小时，办件编号20260101", "窗口排队2小时，办件编号20260101"},
		{"1367023236", "1367023236"},                                 // ten digits: not a phone
		{"我的办件BJ2026112700000012还没办好", "我的办件BJ2026112700000012还没办好"}, // a case number stays
		{"快递单号 SF10234567891", "快递单号 SF10234567891"},                 // 11 digits starting 10: no phone
		{"电话0571-88808880", "电话0571-88808880"},                       // a landline is no person's
		{"电话13670232362或13812345678", "电话1367*****或1381*****"},
		{"", ""},
	}
	// A valid identity number that begins as a phone does (130…), and one
	// written in parts; an 18-digit waybill whose check digit is wrong.
	id13 := "13010219850307123"
	c, _ := validate.IDNumberCheckChar(id13)
	id13 += string(c)
	wrong := id13[:17] + map[bool]string{true: "1", false: "2"}[id13[17] != '1']
	tests = append(tests, []struct{ in, want string }{
		{"证件" + id13 + "。", "证件1301*****。"},
		{"证件 330106 19790823 3173", "证件 3301*****"},
		{"校验位写错的证件" + wrong, "校验位写错的证件1301*****"},            // still a person's number
		{"运单SF123456789012345678", "运单SF123456789012345678"}, // 18 digits, no birth date
		{"邮编 100080 13670232362", "邮编 100080 1367*****"},
		{"0086 13670232362", "1367*****"},
		{"手机+8613670232362", "手机1367*****"},
		{"手机 136 7023 2362 或 136-7023-2362", "手机 1367***** 或 1367*****"},
		{"全角１３６７０２３２３６２", "全角1367*****"},
		{"订单号2026112713670232362999", "订单号2026112713670232362999"},
	}...)
	// A hostile text of many short groups costs linear time.
	long := strings.Repeat("1 ", 50_000) + "13670232362"
	start := time.Now()
	if got := Text(long); !strings.HasSuffix(got, "1367*****") || time.Since(start) > 10*time.Second {
		t.Fatalf("a long run took %s", time.Since(start))
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
