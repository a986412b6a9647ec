package search

import (
	"testing"

	"govmobile/models"
)

func TestNumberKeySortsAsNumbers(t *testing.T) {
	nums := []int64{-5, 0, 1, 9, 10, 35, 36, 1000, 1798761600, 1 << 62}
	for i := 1; i < len(nums); i++ {
		a, b := numberKey(nums[i-1]), numberKey(nums[i])
		if len(a) != 8 || len(b) != 8 || a > b {
			t.Errorf("numberKey(%d) = %q, numberKey(%d) = %q", nums[i-1], a, nums[i], b)
		}
	}
}

func TestSortKeys(t *testing.T) {
	a := sortKey("护照", models.DocMatter, 42)
	b := sortKey("护照办理", models.DocApp, 7)
	if a >= b {
		t.Errorf("%q sorts after %q", a, b)
	}
	for _, k := range []string{a, b, sortKey("", models.DocKnowledge, 0)} {
		if !validSortKey(k) {
			t.Errorf("validSortKey(%q) = false", k)
		}
	}
	for _, k := range []string{"", "护照", "护照\x00", "护照\x00M", "护照\x00X1", "护照\x00M!", "1\x00Mzzzzzzzzzzzzzzzzzzzz"} {
		if validSortKey(k) {
			t.Errorf("validSortKey(%q) = true", k)
		}
	}
}
