package validate

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"govmobile/models"
)

// fakeIDNumber builds a valid identity number from a 6-digit region code, a
// birth date YYYYMMDD and a 3-digit sequence (odd for men, even for women).
func fakeIDNumber(t testing.TB, region, birth string, seq int) string {
	t.Helper()
	first17 := fmt.Sprintf("%s%s%03d", region, birth, seq)
	c, ok := IDNumberCheckChar(first17)
	if !ok {
		t.Fatalf("fakeIDNumber: bad parts %q", first17)
	}
	return first17 + string(c)
}

// fakeCreditCode builds a valid unified social credit code from the
// registration authority and type codes (2 characters), a 6-digit region code
// and an 8-character organisation code body, computing both the GB 11714 and
// the GB 32100 check characters.
func fakeCreditCode(t testing.TB, authType, region, orgBody string) string {
	t.Helper()
	inner, ok := orgCodeCheckChar(orgBody)
	if !ok {
		t.Fatalf("fakeCreditCode: bad organisation code body %q", orgBody)
	}
	first17 := authType + region + orgBody + string(inner)
	c, ok := CreditCodeCheckChar(first17)
	if !ok {
		t.Fatalf("fakeCreditCode: bad parts %q", first17)
	}
	return first17 + string(c)
}

// wantErr checks err against want: "" means valid; otherwise err must be a
// BAD_USER_INPUT *models.Error for field whose message contains want, and the
// message must not echo the input.
func wantErr(t *testing.T, err error, field, input, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("%q: unexpected error %v", input, err)
		}
		return
	}
	var e *models.Error
	if !errors.As(err, &e) {
		t.Fatalf("%q: err = %v (%T), want *models.Error", input, err, err)
	}
	if e.Code != models.ECodeBadUserInput || e.Field != field {
		t.Errorf("%q: code %s field %q, want %s %q", input, e.Code, e.Field, models.ECodeBadUserInput, field)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("%q: message %q, want it to contain %q", input, e.Message, want)
	}
	// Only ASCII inputs: a Chinese input like 身份证号码 is legitimately in the message.
	if in := strings.TrimSpace(input); len(in) >= 6 && isASCII(in) && strings.Contains(e.Message, in) {
		t.Errorf("%q: message echoes the input: %q", input, e.Message)
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
