package search_test

import (
	"context"
	"errors"
	"testing"
	"unicode/utf8"

	"govmobile/models"
	"govmobile/search"
)

// FuzzSearch sends arbitrary queries, cursors and prefixes through the
// query path against the demo index: every input gets results or a
// BAD_USER_INPUT error, never a panic or an internal error. CI runs it
// briefly (go test -fuzz FuzzSearch -fuzztime 15s ./search/).
func FuzzSearch(f *testing.F) {
	for _, seed := range []string{
		"社保卡", "税", "shebaoka", "sbk", "杭州 公积金", "", " ", "+-\"：*?~^\\()[]{}", "社保+卡", "\"社保\":卡",
		"😀社保", "社保card", "ｓｈｅｂａｏ", "110101199003077777", "a b c d e f g h i j k", "\x00", "\xff\xfe",
	} {
		f.Add(seed, "", uint8(0))
	}
	f.Add("登记", "eyJvIjoic2VhcmNoOlJFTEVWQU5DRSIsInMiOlsiMSIsIjIiLCJNQVRURVI6MSJdfQ", uint8(1))
	f.Add("登记", "not-a-cursor", uint8(2))
	s, _ := demoSearch(f, "")
	f.Fuzz(func(t *testing.T, q, after string, sel uint8) {
		scopes := search.Scopes
		orders := []search.Order{search.OrderRelevance, search.OrderPopularity, search.OrderRecency}
		req := search.Request{
			Query: q, After: after, First: 1 + int(sel%20), NoLog: true, Facets: sel%2 == 0,
			Scope: scopes[int(sel)%len(scopes)], Order: orders[int(sel/8)%len(orders)],
		}
		check := func(what string, err error) {
			var e *models.Error
			if err != nil && (!errors.As(err, &e) || e.Code != models.ECodeBadUserInput || !utf8.ValidString(e.Message) || e.Message == "") {
				t.Fatalf("%s(%q, %q): %v", what, q, after, err)
			}
		}
		_, err := s.Search(context.Background(), req)
		check("Search", err)
		_, err = s.Suggestions(context.Background(), q, 10)
		check("Suggestions", err)
		req.Matters = &search.MatterFilter{}
		_, err = s.Search(context.Background(), req)
		check("Search(matters)", err)
	})
}
