package validate

import (
	"testing"
	"time"
)

func TestIDNumberAge(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, chinaTime)
	body := func(birth string) string {
		first17 := "330106" + birth + "123"
		c, _ := IDNumberCheckChar(first17)
		return first17 + string(c)
	}
	cases := []struct {
		birth string
		want  int
	}{
		{"20121126", 14}, // fourteenth birthday today
		{"20121127", 13}, // tomorrow
		{"20000229", 26},
		{"19850307", 41},
	}
	for _, c := range cases {
		if got, ok := IDNumberAge(body(c.birth), at); !ok || got != c.want {
			t.Errorf("age of %s on 2026-11-26 = %d, %v; want %d", c.birth, got, ok, c.want)
		}
	}
	if _, ok := IDNumberAge("123", at); ok {
		t.Error("short number gave an age")
	}
}
