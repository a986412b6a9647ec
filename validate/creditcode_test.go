package validate

import (
	"strings"
	"testing"
)

const (
	msgCCFormat = "统一社会信用代码应为18位"
	msgCCRegion = "第3至8位应为行政区划代码"
	msgCCCheck  = "统一社会信用代码校验位不正确，请核对后重新输入。"
)

// Codes cited in public sources, each checked with this implementation (both
// the MOD 31 and the GB 11714 check hold for all of them).
var publishedCreditCodes = []string{
	"91350100M000100Y43",
	"91110000802100433B",
	"91440300708461136T",
	"911100001000044477",
	"91110108551385082Q",
	"12100000400000624D",
	"914403001922038216",
	"91330100799655058B",
}

func TestCreditCode(t *testing.T) {
	valid := fakeCreditCode(t, "91", "440300", "MA5F0X8X")
	wrongCheck := valid[:17] + string(creditCodeChars[(strings.IndexByte(creditCodeChars, valid[17])+1)%31])
	// An individual business (92…) whose positions 9–17 are not a GB 11714
	// organisation code: accepted, the MOD 31 check alone decides.
	noOrgCheck := "92440300L12345670"
	if c, _ := orgCodeCheckChar("L1234567"); c == '0' {
		t.Fatal("test premise broken: the organisation code check happens to hold")
	}
	c, _ := CreditCodeCheckChar(noOrgCheck)
	noOrgCheck += string(c)

	tests := []struct {
		name, in, want string
	}{
		{"generated company", valid, ""},
		{"generated government body", fakeCreditCode(t, "11", "110000", "00000024"), ""},
		{"generated social organisation", fakeCreditCode(t, "51", "320100", "50000073"), ""},
		{"generated other (Y1)", fakeCreditCode(t, "Y1", "510100", "A1B2C3D4"), ""},
		{"individual business without organisation code check", noOrgCheck, ""},
		{"lowercase", strings.ToLower("91350100M000100Y43"), ""},
		{"surrounding spaces", "  91350100M000100Y43\n", ""},

		{"empty", "", "请填写统一社会信用代码。"},
		{"17 characters", "91350100M000100Y4", msgCCFormat},
		{"19 characters", "91350100M000100Y433", msgCCFormat},
		{"old 15-digit registration number", "350100400012345", msgCCFormat},
		{"letter I", "91350100I000100Y43", msgCCFormat},
		{"letter O", "91350100O000100Y43", msgCCFormat},
		{"letter S", "91350100S000100Y43", msgCCFormat},
		{"letter V", "91350100V000100Y43", msgCCFormat},
		{"letter Z", "91350100Z000100Y43", msgCCFormat},
		{"hyphen", "91350100-000100Y43", msgCCFormat},
		{"inner space", "91350100 000100Y43", msgCCFormat},
		{"chinese", "九1350100M000100Y43", msgCCFormat},
		{"full-width", "９１３５０１００Ｍ０００１００Ｙ４３", msgCCFormat},

		{"letter in region code", fixCheck(t, "9135A100M000100Y4"), msgCCRegion},
		{"letter at position 8", fixCheck(t, "9135010AM000100Y4"), msgCCRegion},

		{"wrong check character", wrongCheck, msgCCCheck},
		{"one character changed", "91350100M000100Y44", msgCCCheck},
		{"body character changed", "91350100M000101Y43", msgCCCheck},
		{"adjacent characters swapped", "91350100M001000Y43", msgCCCheck},
	}
	for _, p := range publishedCreditCodes {
		tests = append(tests, struct{ name, in, want string }{"published " + p, p, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, CreditCode("creditCode", tt.in), "creditCode", tt.in, tt.want)
		})
	}
}

// fixCheck appends the right MOD 31 check character, so only the structural
// rule under test is broken.
func fixCheck(t *testing.T, first17 string) string {
	t.Helper()
	c, ok := CreditCodeCheckChar(first17)
	if !ok {
		t.Fatalf("fixCheck(%q)", first17)
	}
	return first17 + string(c)
}

// MOD 31 detects every single-character error and every adjacent swap of
// distinct characters; checked exhaustively on one code.
func TestCreditCodeDetectsSingleErrorsAndSwaps(t *testing.T) {
	base := "91350100M000100Y43"
	for i := range 18 {
		for _, c := range []byte(creditCodeChars) {
			if c == base[i] {
				continue
			}
			in := base[:i] + string(c) + base[i+1:]
			if CreditCode("creditCode", in) == nil {
				t.Errorf("accepted %s (position %d changed)", in, i+1)
			}
		}
	}
	for i := range 17 {
		if base[i] == base[i+1] {
			continue
		}
		in := base[:i] + string(base[i+1]) + string(base[i]) + base[i+2:]
		if CreditCode("creditCode", in) == nil {
			t.Errorf("accepted %s (positions %d and %d swapped)", in, i+1, i+2)
		}
	}
}

func TestCreditCodeCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
		ok   bool
	}{
		{"91350100M000100Y4", '3', true},
		{"91110000802100433", 'B', true},
		{"00000000000000000", '0', true}, // sum 0 → 31 mod 31 = 0
		{"91350100M000100Y", 0, false},
		{"91350100M000100Y43", 0, false},
		{"91350100I000100Y4", 0, false},
		{"91350100m000100Y4", 0, false}, // lowercase is not in the code set
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := CreditCodeCheckChar(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CreditCodeCheckChar(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// GB 11714-1997 worked cases: the check character maps 10 → X and 11 → 0.
func TestOrgCodeCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
		ok   bool
	}{
		{"M000100Y", '4', true},
		{"80210043", '3', true},
		{"19220382", '1', true},
		{"00000000", '0', true}, // 11 - 0 = 11 → 0
		{"D2143569", 'X', true}, // sum 1, 11 - 1 = 10 → X
		{"0000000", 0, false},
		{"0000000a", 0, false},
	}
	for _, tt := range tests {
		got, ok := orgCodeCheckChar(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("orgCodeCheckChar(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizeCreditCode(t *testing.T) {
	if got := NormalizeCreditCode(" 91350100m000100y43 "); got != "91350100M000100Y43" {
		t.Errorf("NormalizeCreditCode = %q", got)
	}
	// Only ASCII is upper-cased: ſ (long s) must not become the excluded S.
	if err := CreditCode("creditCode", "91350100ſ000100Y43"); err == nil {
		t.Error("accepted a code with ſ")
	}
	if got := NormalizeCreditCode("ſı"); got != "ſı" {
		t.Errorf("NormalizeCreditCode(ſı) = %q", got)
	}
}

func FuzzCreditCode(f *testing.F) {
	for _, s := range append(publishedCreditCodes, "", "91350100m000100y43", "ＩＩＩ", "\x00\xff", "000000000000000000") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CreditCode("creditCode", s)
		if err == nil {
			n := NormalizeCreditCode(s)
			c, ok := CreditCodeCheckChar(n[:min(17, len(n))])
			if len(n) != 18 || !ok || c != n[17] || !allDigits(n[2:8]) {
				t.Fatalf("accepted %q", s)
			}
			return
		}
		wantErr(t, err, "creditCode", s, "统一社会信用代码")
	})
}
