package validate

import (
	"strings"
	"testing"
	"time"
)

// fixNow pins "today" to 2024-06-15 (China time) for the test.
func fixNow(t *testing.T, at time.Time) {
	t.Helper()
	old := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = old })
}

const (
	msgIDFormat = "身份证号码应为18位"
	msgIDBirth  = "出生日期不正确"
	msgIDCheck  = "身份证号码校验位不正确，请核对后重新输入。"
)

func TestIDNumber(t *testing.T) {
	fixNow(t, time.Date(2024, 6, 15, 10, 0, 0, 0, chinaTime))
	valid := fakeIDNumber(t, "440305", "19851124", 123)
	wrongCheck := valid[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", valid[17])+1)%11])
	tests := []struct {
		name, in, want string
	}{
		{"reference", "110101199003074514", ""},
		{"check X", "11010519491231002X", ""},
		{"check lowercase x", "11010519491231002x", ""},
		{"surrounding spaces", " 110101199003074514\t", ""},
		{"generated", valid, ""},
		{"born 1900-01-01", fakeIDNumber(t, "110101", "19000101", 1), ""},
		{"leap day 2000", fakeIDNumber(t, "110101", "20000229", 2), ""},
		{"leap day 2024", fakeIDNumber(t, "110101", "20240229", 2), ""},
		{"born today", fakeIDNumber(t, "310104", "20240615", 7), ""},
		{"foreigner permanent residence (9xxxxx)", fakeIDNumber(t, "933100", "19800101", 5), ""},
		{"hk/macau/taiwan residence permit", fakeIDNumber(t, "810000", "19800101", 5), ""},

		{"empty", "", "请填写身份证号码。"},
		{"spaces only", "   ", "请填写身份证号码。"},
		{"17 digits", "11010119900307451", msgIDFormat},
		{"19 characters", "1101011990030745145", msgIDFormat},
		{"old 15 digits", "110101900307451", msgIDFormat},
		{"letter in body", "1101011990O3074514", msgIDFormat},
		{"X not last", "X10101199003074514", msgIDFormat},
		{"check Y", "11010519491231002Y", msgIDFormat},
		{"inner space", "110101 99003074514", msgIDFormat},
		{"full-width digits", "１１０１０１１９９００３０７４５１４", msgIDFormat},
		{"hyphenated", "110101-19900307-4514", msgIDFormat},

		{"month 13", fakeIDNumber(t, "110101", "19901301", 1), msgIDBirth},
		{"month 00", fakeIDNumber(t, "110101", "19900001", 1), msgIDBirth},
		{"day 00", fakeIDNumber(t, "110101", "19900100", 1), msgIDBirth},
		{"april 31", fakeIDNumber(t, "110101", "19900431", 1), msgIDBirth},
		{"feb 29 non-leap", fakeIDNumber(t, "110101", "20010229", 1), msgIDBirth},
		{"feb 29 1900 (not leap)", fakeIDNumber(t, "110101", "19000229", 1), msgIDBirth},
		{"feb 30", fakeIDNumber(t, "110101", "20000230", 1), msgIDBirth},
		{"before 1900", fakeIDNumber(t, "110101", "18991231", 1), msgIDBirth},
		{"tomorrow", fakeIDNumber(t, "110101", "20240616", 1), msgIDBirth},
		{"next year", fakeIDNumber(t, "110101", "20250101", 1), msgIDBirth},
		{"year 0000", fakeIDNumber(t, "110101", "00000101", 1), msgIDBirth},

		{"wrong check character", wrongCheck, msgIDCheck},
		{"reference with last digit changed", "110101199003074515", msgIDCheck},
		{"reference with digits swapped", "110101199003075414", msgIDCheck},
		{"X where a digit is due", "11010119900307451X", msgIDCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, IDNumber("idNumber", tt.in), "idNumber", tt.in, tt.want)
		})
	}
}

// "Today" is the date in China: at 01:00 on 16 June in Beijing it is still
// 15 June in UTC, and someone born on the 16th is already born.
func TestIDNumberTodayInChina(t *testing.T) {
	fixNow(t, time.Date(2024, 6, 15, 17, 0, 0, 0, time.UTC))
	if err := IDNumber("idNumber", fakeIDNumber(t, "110101", "20240616", 1)); err != nil {
		t.Errorf("born today (China time): %v", err)
	}
	if err := IDNumber("idNumber", fakeIDNumber(t, "110101", "20240617", 1)); err == nil {
		t.Error("born tomorrow (China time) accepted")
	}
}

func TestIDNumberEveryWrongCheckCharacter(t *testing.T) {
	for _, base := range []string{"110101199003074514", "11010519491231002X"} {
		for _, c := range "0123456789X" {
			in := base[:17] + string(c)
			err := IDNumber("idNumber", in)
			if (err == nil) != (in == base) {
				t.Errorf("%s: err = %v", in, err)
			}
		}
	}
}

func TestIDNumberCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
		ok   bool
	}{
		{"11010119900307451", '4', true},
		{"11010519491231002", 'X', true},
		{"00000000000000000", '1', true},
		{"1101011990030745", 0, false},
		{"110101199003074514", 0, false},
		{"1101011990030745X", 0, false},
		{"", 0, false},
		{"１１０１０１１９９", 0, false},
	}
	for _, tt := range tests {
		got, ok := IDNumberCheckChar(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("IDNumberCheckChar(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizeIDNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"11010519491231002x", "11010519491231002X"},
		{"  110101199003074514\n", "110101199003074514"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeIDNumber(tt.in); got != tt.want {
			t.Errorf("NormalizeIDNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzIDNumber(f *testing.F) {
	for _, s := range []string{"", "110101199003074514", "11010519491231002x", "11010119900230451X",
		"１１０１０１１９９００３０７４５１４", "\xff\xff", " 110101199003074514 ", "99999999999999999X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := IDNumber("idNumber", s)
		if err == nil {
			n := NormalizeIDNumber(s)
			c, ok := IDNumberCheckChar(n[:min(17, len(n))])
			if len(n) != 18 || !ok || c != n[17] {
				t.Fatalf("accepted %q", s)
			}
			return
		}
		wantErr(t, err, "idNumber", s, "身份证号码")
	})
}
