package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/models"

	"gorm.io/gorm"
)

// The smart search (8.1.2 c) as a citizen and an administrator use it: real
// GraphQL over HTTP against the real index, on every database.

type searchItem struct {
	Typename       string `json:"__typename"`
	ID             string
	Name           string
	Question       string
	Nature         string
	ServiceObjects []string
	Popularity     int
	UpdatedAt      string
	Region         *struct{ Code string }
}

type searchHit struct {
	Kind        string
	Title       string
	Snippet     string
	SnippetText string
	Score       float64
	Item        searchItem
}

type searchFacet struct {
	Scope string
	Name  string
	Count int
}

type searchConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   *string
	}
	Facets []searchFacet
	Edges  []struct {
		Cursor string
		Node   searchHit
	}
}

const searchQuery = `query($q: String!, $scope: SearchScope, $order: SearchOrder, $region: String, $first: Int, $after: String) {
	search(query: $q, scope: $scope, orderBy: $order, regionCode: $region, first: $first, after: $after) {
		totalCount pageInfo { hasNextPage endCursor } facets { scope name count }
		edges { cursor node { kind title snippet snippetText score item { __typename
			... on Matter { id name nature serviceObjects popularity updatedAt region { code } }
			... on App { id name serviceObjects }
			... on KnowledgeEntry { id question updatedAt } } } } } }`

// runSearch searches with the given variables ("q" is the query); errors are
// left to the caller.
func (b *backend) runSearch(t *testing.T, vars map[string]any) (searchConn, *gqlResponse) {
	t.Helper()
	r := b.gql(t, "", searchQuery, vars)
	var out struct{ Search searchConn }
	if len(r.Errors) == 0 {
		r.decode(t, &out)
	}
	return out.Search, r
}

// mustSearch searches and fails on any error.
func (b *backend) mustSearch(t *testing.T, vars map[string]any) searchConn {
	t.Helper()
	c, r := b.runSearch(t, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("search %v: %s", vars, r.Raw)
	}
	return c
}

func titles(c searchConn) []string {
	out := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node.Title
	}
	return out
}

// numericID reads the number out of an opaque global ID (test-only).
func numericID(t *testing.T, id string) uint64 {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		t.Fatalf("global id %q: %v", id, err)
	}
	_, key, _ := strings.Cut(string(raw), ":")
	n, err := strconv.ParseUint(key, 10, 64)
	if err != nil {
		t.Fatalf("global id %q: %v", id, err)
	}
	return n
}

func matterGlobalID(id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("Matter:" + strconv.FormatUint(id, 10)))
}

// adminTicket logs the bootstrap administrator in.
func (b *backend) adminTicket(t *testing.T) string {
	t.Helper()
	var out struct {
		AdminLogin struct{ Ticket, Username string }
	}
	b.gql(t, "", `mutation($in: AdminLoginInput!) { adminLogin(input: $in) { ticket username } }`,
		map[string]any{"in": map[string]any{"username": "admin", "password": "Admin-Test-123"}}).decode(t, &out)
	if out.AdminLogin.Ticket == "" || out.AdminLogin.Username != "admin" {
		t.Fatalf("adminLogin: %+v", out.AdminLogin)
	}
	return out.AdminLogin.Ticket
}

// findMatter loads a demo matter by name and city straight from the database.
func findMatter(t *testing.T, b *backend, name, city string) models.Matter {
	t.Helper()
	var m models.Matter
	if err := b.app.DB.Where("name = ? AND city_code = ?", name, city).Order("id").First(&m).Error; err != nil {
		t.Fatalf("matter %s in %s: %v", name, city, err)
	}
	return m
}

// restoreMatterText puts a matter's text back when the test ends, so that
// the shared servers keep the demo catalogue.
func restoreMatterText(t *testing.T, b *backend, m models.Matter) {
	t.Cleanup(func() {
		if err := b.app.Catalogue.UpdateMatterText(context.Background(), m.ID, m.Name, m.Summary, m.Aliases); err != nil {
			t.Errorf("restore matter %d: %v", m.ID, err)
		}
	})
}

func TestSearchBasics(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		cases := []struct {
			query string
			want  string // a title among the first results contains this
			top   int
		}{
			{"社保卡", "社会保障卡申领", 5},
			{"税", "增值税纳税申报", 10},
			{"shebaoka", "社会保障卡", 5},
			{"sbk", "社会保障卡", 5},
			{"上户口", "出生登记", 5},
			{"驾照", "机动车驾驶证", 5},
			{"营业执照", "企业设立登记", 10},
			{"ＳＨＥＢＡＯＫＡ", "社会保障卡", 5}, // full-width pinyin
		}
		for _, c := range cases {
			t.Run(c.query, func(t *testing.T) {
				got := b.mustSearch(t, map[string]any{"q": c.query, "first": c.top})
				if got.TotalCount == 0 {
					t.Fatalf("%s finds nothing", c.query)
				}
				for _, title := range titles(got) {
					if strings.Contains(title, c.want) {
						return
					}
				}
				t.Fatalf("%s: no %s among the first %d results: %v", c.query, c.want, c.top, titles(got))
			})
		}
		t.Run("place in the query", func(t *testing.T) {
			got := b.mustSearch(t, map[string]any{"q": "杭州 公积金提取", "first": 5})
			if len(got.Edges) == 0 {
				t.Fatal("杭州 公积金提取 finds nothing")
			}
			first := got.Edges[0].Node
			if first.Item.Typename != "Matter" || !strings.Contains(first.Title, "住房公积金提取") ||
				first.Item.Region == nil || !strings.HasPrefix(first.Item.Region.Code, "3301") {
				t.Fatalf("first hit of 杭州 公积金提取 is %s (%+v), want 住房公积金提取 in Hangzhou; all: %v", first.Title, first.Item.Region, titles(got))
			}
		})
		t.Run("regionCode keeps what a resident can use", func(t *testing.T) {
			got := b.mustSearch(t, map[string]any{"q": "公积金", "region": "330106", "first": 50})
			if got.TotalCount == 0 {
				t.Fatal("公积金 in 330106 finds nothing")
			}
			for _, e := range got.Edges {
				it := e.Node.Item
				if it.Typename == "Matter" && !(it.Region.Code == "330106" || it.Region.Code == "330100" || it.Region.Code == "330000") {
					t.Fatalf("%s of region %s offered to a resident of 330106", it.Name, it.Region.Code)
				}
			}
			expectCode(t, b.gql(t, "", searchQuery, map[string]any{"q": "公积金", "region": "999999"}), models.ECodeBadUserInput)
		})
	})
}

func TestSearchScopesAndFacets(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		checks := map[string]func(h searchHit) bool{
			"ALL": func(h searchHit) bool { return true },
			"APP": func(h searchHit) bool { return h.Kind == "APP" && h.Item.Typename == "App" },
			"KNOWLEDGE": func(h searchHit) bool {
				return h.Kind == "KNOWLEDGE" && h.Item.Typename == "KnowledgeEntry" && h.Title == h.Item.Question
			},
			"APPROVAL": func(h searchHit) bool {
				return h.Kind == "MATTER" && h.Item.Typename == "Matter" && h.Item.Nature == "ADMINISTRATIVE_LICENSE"
			},
			"NATURAL_PERSON": func(h searchHit) bool {
				return h.Item.Typename == "Matter" && strings.Contains(strings.Join(h.Item.ServiceObjects, ","), "NATURAL_PERSON")
			},
			"LEGAL_PERSON": func(h searchHit) bool {
				return h.Item.Typename == "Matter" && strings.Contains(strings.Join(h.Item.ServiceObjects, ","), "LEGAL_PERSON")
			},
			"GUIDE": func(h searchHit) bool { return h.Kind == "GUIDE" && h.Item.Typename == "Matter" },
		}
		for _, q := range []string{"社保", "登记", "许可证", "公积金", "身份证"} {
			t.Run(q, func(t *testing.T) {
				all := b.mustSearch(t, map[string]any{"q": q, "first": 50})
				if all.TotalCount == 0 {
					t.Fatalf("%s finds nothing", q)
				}
				facets := map[string]searchFacet{}
				for _, f := range all.Facets {
					facets[f.Scope] = f
				}
				if len(all.Facets) != len(checks) || len(facets) != len(checks) {
					t.Fatalf("facets %+v, want one per scope", all.Facets)
				}
				if facets["ALL"].Count != all.TotalCount {
					t.Fatalf("facet ALL counts %d, search totalCount %d", facets["ALL"].Count, all.TotalCount)
				}
				for scope, ok := range checks {
					f, found := facets[scope]
					if !found || !hasHan(f.Name) {
						t.Fatalf("facet %s missing or without a Chinese name: %+v", scope, f)
					}
					got := b.mustSearch(t, map[string]any{"q": q, "scope": scope, "first": 50})
					if got.TotalCount != f.Count {
						t.Errorf("%s: facet %s (%s) says %d, the %s tab shows totalCount %d", q, scope, f.Name, f.Count, scope, got.TotalCount)
					}
					for _, e := range got.Edges {
						if !ok(e.Node) {
							t.Fatalf("%s scope %s returned %s %q (%+v)", q, scope, e.Node.Kind, e.Node.Title, e.Node.Item)
						}
					}
				}
			})
		}
	})
}

var (
	tagRE = regexp.MustCompile(`<[^>]*>`)
	emRE  = regexp.MustCompile(`<em>(.*?)</em>`)
)

func TestSearchSnippet(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		check := func(t *testing.T, h searchHit) {
			t.Helper()
			for _, tag := range tagRE.FindAllString(h.Snippet, -1) {
				if tag != "<em>" && tag != "</em>" {
					t.Fatalf("snippet of %s has tag %s: %s", h.Title, tag, h.Snippet)
				}
			}
			if want := html.UnescapeString(tagRE.ReplaceAllString(h.Snippet, "")); h.SnippetText != want {
				t.Fatalf("snippetText %q is not the snippet's text %q", h.SnippetText, want)
			}
			if strings.Contains(h.SnippetText, "<em>") {
				t.Fatalf("snippetText has markup: %q", h.SnippetText)
			}
		}
		got := b.mustSearch(t, map[string]any{"q": "社保卡", "first": 20})
		marked := false
		for _, e := range got.Edges {
			check(t, e.Node)
			for _, m := range emRE.FindAllStringSubmatch(e.Node.Snippet, -1) {
				if m[1] == "" {
					t.Fatalf("empty <em></em> in %s", e.Node.Snippet)
				}
				// The query or its official wording (社保卡 → 社会保障卡).
				if strings.Contains(m[1], "社保") || strings.Contains(m[1], "社会保障卡") {
					marked = true
				}
			}
		}
		if !marked {
			t.Fatalf("no snippet marks 社保卡: %v", got.Edges)
		}

		// Markup in the data is text, never markup.
		m := findMatter(t, b, "社会保障卡申领", "510100")
		restoreMatterText(t, b, m)
		evil := `<script>alert("社保卡")</script> & <b onmouseover=x>社保卡</b> 申领`
		if err := b.app.Catalogue.UpdateMatterText(context.Background(), m.ID, m.Name, evil, nil); err != nil {
			t.Fatal(err)
		}
		var hit *searchHit
		deadline := time.Now().Add(time.Second)
		for hit == nil && time.Now().Before(deadline) {
			for _, e := range b.mustSearch(t, map[string]any{"q": "社保卡", "scope": "NATURAL_PERSON", "first": 50}).Edges {
				if e.Node.Item.ID == matterGlobalID(m.ID) && strings.Contains(e.Node.SnippetText, "<script>") {
					n := e.Node
					hit = &n
				}
			}
			if hit == nil {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if hit == nil {
			t.Fatal("the matter with markup in its summary is not found with that summary")
		}
		check(t, *hit)
		if !strings.Contains(hit.Snippet, "&lt;script&gt;") || strings.Contains(hit.Snippet, "<script") || strings.Contains(hit.Snippet, "<b") ||
			!strings.Contains(hit.Snippet, "&amp;") {
			t.Fatalf("markup not escaped: %s", hit.Snippet)
		}
	})
}

func TestSearchPagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		for _, order := range []string{"RELEVANCE", "POPULARITY", "RECENCY"} {
			t.Run(order, func(t *testing.T) {
				seen := map[string]bool{}
				var after any
				total := -1
				lastPop := -1
				var lastTime time.Time
				pages := 0
				for ; ; pages++ {
					if pages > 200 {
						t.Fatal("more than 200 pages")
					}
					c := b.mustSearch(t, map[string]any{"q": "登记", "order": order, "first": 7, "after": after})
					if total >= 0 && c.TotalCount != total {
						t.Fatalf("page %d: totalCount %d, first page said %d", pages, c.TotalCount, total)
					}
					total = c.TotalCount
					if c.PageInfo.HasNextPage && len(c.Edges) != 7 {
						t.Fatalf("page %d has %d results and a next page", pages, len(c.Edges))
					}
					for _, e := range c.Edges {
						it := e.Node.Item
						key := it.Typename + ":" + it.ID
						if seen[key] {
							t.Fatalf("page %d repeats %s %q", pages, key, e.Node.Title)
						}
						seen[key] = true
						switch order {
						case "POPULARITY":
							if it.Typename == "Matter" {
								if lastPop >= 0 && it.Popularity > lastPop {
									t.Fatalf("page %d: %s (popularity %d) after popularity %d", pages, it.Name, it.Popularity, lastPop)
								}
								lastPop = it.Popularity
							}
						case "RECENCY":
							if it.UpdatedAt != "" {
								at, err := time.Parse(time.RFC3339Nano, it.UpdatedAt)
								if err != nil {
									t.Fatal(err)
								}
								at = at.Truncate(time.Second)
								if !lastTime.IsZero() && at.After(lastTime) {
									t.Fatalf("page %d: %q updated %s after one updated %s", pages, e.Node.Title, at, lastTime)
								}
								lastTime = at
							}
						}
					}
					if !c.PageInfo.HasNextPage {
						break
					}
					if c.PageInfo.EndCursor == nil || *c.PageInfo.EndCursor != c.Edges[len(c.Edges)-1].Cursor {
						t.Fatalf("endCursor %v is not the last edge's cursor", c.PageInfo.EndCursor)
					}
					after = *c.PageInfo.EndCursor
				}
				if total < 20 || len(seen) != total {
					t.Fatalf("walked %d results over %d pages, totalCount %d", len(seen), pages+1, total)
				}
			})
		}
	})
}

func TestSearchBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		bad := func(t *testing.T, vars map[string]any) {
			t.Helper()
			_, r := b.runSearch(t, vars)
			expectCode(t, r, models.ECodeBadUserInput)
		}
		t.Run("empty and overlong", func(t *testing.T) {
			bad(t, map[string]any{"q": ""})
			bad(t, map[string]any{"q": "   "})
			bad(t, map[string]any{"q": strings.Repeat("税", 1000)})
			bad(t, map[string]any{"q": strings.Repeat("a", 1000)})
			bad(t, map[string]any{"q": "护照\x00"})
		})
		t.Run("query syntax is text", func(t *testing.T) {
			var queries []string
			for _, ch := range []string{"+", "-", `"`, ":", "*", "?", "~", "^", `\`, "(", ")", "[", "]", "{", "}", "/", "!", "&&", "||", "<", ">", "%", "_", "'"} {
				queries = append(queries, ch, "社保"+ch+"卡", ch+"社保", "社保"+ch)
			}
			queries = append(queries, `"社保":卡`, `name:社保`, `+社保 -卡`, `社保~2`, `社保^10`, `/.*/`, `社保 AND 卡`, `NOT 社保`, `社保 OR`,
				"😀社保", "😀", "社保card", "ｓｈｅｂａｏ", "社保　卡", "ⅰⅱ社保", "Ｓｂｋ", "\u200b社保", "社\u0301保", "社保\t卡", "x y z a b c d e f g h i j 社保")
			for _, q := range queries {
				c, r := b.runSearch(t, map[string]any{"q": q, "first": 5})
				if len(r.Errors) > 0 {
					t.Errorf("query %q: %s", q, r.Raw)
					continue
				}
				if len(c.Edges) > c.TotalCount {
					t.Errorf("query %q: %d edges, totalCount %d", q, len(c.Edges), c.TotalCount)
				}
			}
			// The same inputs as the matter list's keyword.
			for _, q := range []string{"+", `"社保":卡`, "社保+卡", "*", "😀社保"} {
				if _, r := b.matters(t, "", map[string]any{"first": 5, "filter": map[string]any{"keyword": q}}); len(r.Errors) > 0 {
					t.Errorf("matters keyword %q: %s", q, r.Raw)
				}
			}
			// Suggestions too.
			for _, q := range []string{"+", `"社保"`, "社保*", "😀", `\`} {
				if r := b.gql(t, "", `query($p: String!) { searchSuggestions(prefix: $p) }`, map[string]any{"p": q}); len(r.Errors) > 0 {
					t.Errorf("suggestions %q: %s", q, r.Raw)
				}
			}
		})
		t.Run("cursors", func(t *testing.T) {
			rel := b.mustSearch(t, map[string]any{"q": "登记", "first": 2})
			pop := b.mustSearch(t, map[string]any{"q": "登记", "order": "POPULARITY", "first": 2})
			mc, _ := b.matters(t, "", map[string]any{"first": 2})
			if rel.PageInfo.EndCursor == nil || pop.PageInfo.EndCursor == nil || mc.PageInfo.EndCursor == nil {
				t.Fatal("no cursors to start from")
			}
			enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
			cases := []struct {
				name  string
				order string
				after string
			}{
				{"garbage", "RELEVANCE", "!!!not-a-cursor"},
				{"matters cursor", "RELEVANCE", *mc.PageInfo.EndCursor},
				{"matters cursor for popularity", "POPULARITY", *mc.PageInfo.EndCursor},
				{"relevance cursor for popularity", "POPULARITY", *rel.PageInfo.EndCursor},
				{"popularity cursor for recency", "RECENCY", *pop.PageInfo.EndCursor},
				{"popularity cursor for relevance", "RELEVANCE", *pop.PageInfo.EndCursor},
				{"junk json", "RELEVANCE", enc(`{"foo":1}`)},
				{"not json", "RELEVANCE", enc(`hello`)},
				{"wrong value count", "RELEVANCE", enc(`{"o":"search:RELEVANCE","s":["1"]}`)},
				{"non-numeric score", "RELEVANCE", enc(`{"o":"search:RELEVANCE","s":["abc","1","MATTER:1"]}`)},
				{"bad doc id", "RELEVANCE", enc(`{"o":"search:RELEVANCE","s":["1","1","USER:1"]}`)},
				{"values not strings", "POPULARITY", enc(`{"o":"search:POPULARITY","s":[1,2]}`)},
				{"overlong", "RELEVANCE", strings.Repeat("A", 5000)},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					bad(t, map[string]any{"q": "登记", "order": c.order, "first": 5, "after": c.after})
				})
			}
			// Odd but well-formed values: no server error, whatever the answer.
			for _, c := range []struct{ order, raw string }{
				{"RELEVANCE", `{"o":"search:RELEVANCE","s":["NaN","1","MATTER:1"]}`},
				{"RELEVANCE", `{"o":"search:RELEVANCE","s":["Inf","-Inf","MATTER:1"]}`},
				{"POPULARITY", `{"o":"search:POPULARITY","s":["-1e308","MATTER:99999999999"]}`},
				{"RECENCY", `{"o":"search:RECENCY","s":["1e300","KNOWLEDGE:0"]}`},
			} {
				if _, r := b.runSearch(t, map[string]any{"q": "登记", "order": c.order, "first": 5, "after": enc(c.raw)}); len(r.Errors) > 0 && r.code() != models.ECodeBadUserInput {
					t.Errorf("cursor %s: %s", c.raw, r.Raw)
				}
			}
		})
		t.Run("page size", func(t *testing.T) {
			for _, n := range []int{0, -1, 101} {
				bad(t, map[string]any{"q": "登记", "first": n})
			}
			if c := b.mustSearch(t, map[string]any{"q": "登记", "first": 100}); len(c.Edges) == 0 {
				t.Fatal("first: 100 returns nothing")
			}
		})
	})
}

func TestSearchSuggestions(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		suggest := func(t *testing.T, prefix string, first any) ([]string, *gqlResponse) {
			t.Helper()
			r := b.gql(t, "", `query($p: String!, $n: Int) { searchSuggestions(prefix: $p, first: $n) }`, map[string]any{"p": prefix, "n": first})
			var out struct{ SearchSuggestions []string }
			if len(r.Errors) == 0 {
				r.decode(t, &out)
			}
			return out.SearchSuggestions, r
		}
		got, r := suggest(t, "社保", nil)
		if len(r.Errors) > 0 || len(got) == 0 || len(got) > 10 {
			t.Fatalf("社保: %v %s", got, r.Raw)
		}
		for _, s := range got {
			if !strings.HasPrefix(s, "社保") {
				t.Fatalf("suggestion %q for 社保 does not start with it (all: %v)", s, got)
			}
		}
		for _, prefix := range []string{"shebao", "sb", "SheBao"} {
			got, r := suggest(t, prefix, 20)
			if len(r.Errors) > 0 {
				t.Fatal(string(r.Raw))
			}
			found := false
			for _, s := range got {
				found = found || strings.Contains(s, "社保")
			}
			if !found {
				t.Errorf("%s suggests nothing with 社保: %v", prefix, got)
			}
		}
		if got, _ := suggest(t, "社保", 3); len(got) != 3 {
			t.Errorf("first: 3 gave %v", got)
		}
		_, r = suggest(t, strings.Repeat("社", 21), nil)
		expectCode(t, r, models.ECodeBadUserInput)
		for _, n := range []int{0, 21} {
			_, r = suggest(t, "社保", n)
			expectCode(t, r, models.ECodeBadUserInput)
		}
		if got, r := suggest(t, strings.Repeat("社", 20), nil); len(r.Errors) > 0 || len(got) != 0 {
			t.Errorf("20-character prefix: %v %s", got, r.Raw)
		}
	})
}

type hotSearch struct {
	Word   string
	Pinned bool
	Count  int
}

func TestHotSearches(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		const idNumber = "110101199003071234"
		for q, n := range map[string]int{
			"护照": 5, "低保": 3, "锟斤拷烫烫烫": 2,
			"护照 " + idNumber: 2,
			"身份证" + idNumber: 1,
			"１１０１０１１９９００３０７１２３４":     1, // full-width digits
			"1101 0119 9003 0712 34": 1, // the same number typed in groups
			"护照 139 0013 8000":       3, // a phone number typed in groups
		} {
			for i := 0; i < n; i++ {
				b.mustSearch(t, map[string]any{"q": q, "first": 1})
			}
		}
		b.app.Search.FlushLog()
		admin := b.adminTicket(t)
		setHot := func(t *testing.T, word string, state any) []hotSearch {
			t.Helper()
			var out struct {
				SetHotWord struct{ HotSearches []hotSearch }
			}
			b.gql(t, admin, `mutation($in: SetHotWordInput!) { setHotWord(input: $in) { hotSearches { word pinned count } } }`,
				map[string]any{"in": map[string]any{"word": word, "state": state}}).decode(t, &out)
			return out.SetHotWord.HotSearches
		}
		hot := func(t *testing.T) []hotSearch {
			t.Helper()
			var out struct{ HotSearches []hotSearch }
			b.gql(t, "", `{ hotSearches(first: 50) { word pinned count } }`, nil).decode(t, &out)
			return out.HotSearches
		}
		pos := func(list []hotSearch, word string) int {
			for i, h := range list {
				if h.Word == word {
					return i
				}
			}
			return -1
		}
		// The list is cached for a minute; an administrator's change (here a
		// no-op: 护照 was never pinned) recomputes it at once.
		setHot(t, "护照", nil)
		list := hot(t)
		ph, pd := pos(list, "护照"), pos(list, "低保")
		if ph < 0 || pd < 0 || ph > pd || list[ph].Count < 5 || list[pd].Count < 3 {
			t.Fatalf("want 护照 (5) before 低保 (3): %+v", list)
		}
		if pos(list, "锟斤拷烫烫烫") >= 0 {
			t.Fatalf("a search that found nothing is hot: %+v", list)
		}
		var queries []string
		if err := b.app.DB.Model(&models.SearchLog{}).Pluck("query", &queries).Error; err != nil {
			t.Fatal(err)
		}
		t.Run("identity number never shown, stored masked", func(t *testing.T) {
			for _, h := range list {
				if strings.Contains(h.Word, "[数字]") || regexp.MustCompile(`[0-9]{6,}`).MatchString(h.Word) {
					t.Errorf("hot search shows a number: %q", h.Word)
				}
			}
			masked := 0
			for _, q := range queries {
				if strings.Contains(q, idNumber) || strings.Contains(q, "199003071234") {
					t.Errorf("search_logs keeps the identity number: %q", q)
				}
				if strings.Contains(q, "[数字]") {
					masked++
				}
			}
			if masked < 4 {
				t.Errorf("%d masked queries in the log, want at least 4", masked)
			}
		})
		// People type long numbers in groups; the groups are the same number.
		t.Run("numbers typed in groups", func(t *testing.T) {
			for _, h := range list {
				if regexp.MustCompile(`[0-9]{3,}`).MatchString(h.Word) {
					t.Errorf("hot search shows a number to everyone: %q", h.Word)
				}
			}
			reported := map[string]bool{}
			for _, q := range queries {
				joined := strings.Join(strings.Fields(q), "")
				if (strings.Contains(joined, "19900307") || strings.Contains(joined, "13900138000")) && !reported[q] {
					reported[q] = true
					t.Errorf("search_logs keeps an identity or phone number typed in groups: %q", q)
				}
			}
		})

		// Hidden, pinned, and back to normal.
		if list := setHot(t, "低保", "HIDDEN"); pos(list, "低保") >= 0 {
			t.Fatalf("hidden 低保 still in the setHotWord answer: %+v", list)
		}
		if pos(hot(t), "低保") >= 0 {
			t.Fatal("hidden 低保 still hot")
		}
		setHot(t, "公积金", "PINNED")
		list = hot(t)
		if len(list) == 0 || list[0].Word != "公积金" || !list[0].Pinned || list[0].Count != 0 {
			t.Fatalf("pinned 公积金 is not first: %+v", list)
		}
		if pos(list, "低保") >= 0 {
			t.Fatal("pinning another word un-hid 低保")
		}
		var settings struct {
			HotWordSettings []struct {
				Word, State string
				SortOrder   int
			}
		}
		b.gql(t, admin, `{ hotWordSettings { word state sortOrder } }`, nil).decode(t, &settings)
		if len(settings.HotWordSettings) != 2 {
			t.Fatalf("hotWordSettings: %+v", settings.HotWordSettings)
		}
		setHot(t, "公积金", nil)
		setHot(t, "低保", nil)
		list = hot(t)
		if i := pos(list, "公积金"); i >= 0 && list[i].Pinned {
			t.Fatalf("公积金 still pinned: %+v", list)
		}
		if i := pos(list, "低保"); i < 0 || list[i].Count < 3 {
			t.Fatalf("低保 not back: %+v", list)
		}
		b.gql(t, admin, `{ hotWordSettings { word state sortOrder } }`, nil).decode(t, &settings)
		if len(settings.HotWordSettings) != 0 {
			t.Fatalf("hotWordSettings after restore: %+v", settings.HotWordSettings)
		}
		// Bad input.
		for _, in := range []map[string]any{
			{"word": "", "state": "HIDDEN"},
			{"word": strings.Repeat("热", 21), "state": "HIDDEN"},
			{"word": "公积金", "state": "PINNED", "sortOrder": 1001},
			{"word": "公积金", "state": "PINNED", "sortOrder": -1},
		} {
			expectCode(t, b.gql(t, admin, `mutation($in: SetHotWordInput!) { setHotWord(input: $in) { hotSearches { word } } }`, map[string]any{"in": in}), models.ECodeBadUserInput)
		}
	})
}

func TestSearchAdminAuth(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		citizenIn := person(t)
		citizen := b.register(t, citizenIn).Ticket
		ops := []string{
			`mutation { setSearchSynonym(input: {term: "小本本", expansions: ["居民身份证"]}) { synonym { term } } }`,
			`mutation { deleteSearchSynonym(input: {term: "社保"}) { deleted } }`,
			`mutation { setHotWord(input: {word: "护照", state: HIDDEN}) { hotSearches { word } } }`,
			`mutation { rebuildSearchIndex { started } }`,
			`{ searchSynonyms { term } }`,
			`{ hotWordSettings { word } }`,
			`{ searchStatistics { searches } }`,
			`{ searchIndexStatus { ready } }`,
		}
		for _, op := range ops {
			for who, ticket := range map[string]string{"anonymous": "", "citizen": citizen, "forged": "not-a-ticket"} {
				r := b.gql(t, ticket, op, nil)
				if r.code() != models.ECodeUnauthenticated {
					t.Errorf("%s: %s: want UNAUTHENTICATED, got %s", who, op, r.Raw)
				} else if !hasHan(r.Errors[0].Message) {
					t.Errorf("%s: %s: message %q", who, op, r.Errors[0].Message)
				}
			}
		}
		// Nothing was changed by the refused calls.
		var syn struct {
			SearchSynonyms []struct{ Term string }
		}
		admin := b.adminTicket(t)
		b.gql(t, admin, `{ searchSynonyms { term } }`, nil).decode(t, &syn)
		for _, s := range syn.SearchSynonyms {
			if s.Term == "小本本" {
				t.Fatal("a refused setSearchSynonym was saved")
			}
		}
		// Wrong password and unknown administrator: the same sentence.
		for _, in := range []map[string]any{
			{"username": "admin", "password": "Wrong-Passw0rd"},
			{"username": "nobody_admin", "password": "Admin-Test-123"},
			{"username": citizenIn["username"], "password": citizenIn["password"]},
		} {
			r := b.gql(t, "", `mutation($in: AdminLoginInput!) { adminLogin(input: $in) { ticket } }`, map[string]any{"in": in})
			if len(r.Errors) != 1 || r.Errors[0].Message != "用户名或密码不正确" || r.code() != models.ECodeUnauthenticated {
				t.Fatalf("adminLogin %v: want exactly 用户名或密码不正确, got %s", in, r.Raw)
			}
		}
		// A citizen's password is not an administrator's.
		r := b.gql(t, "", `mutation($in: AdminLoginInput!) { adminLogin(input: $in) { ticket } }`,
			map[string]any{"in": map[string]any{"username": "admin", "password": "Passw0rd!2026"}})
		if r.code() != models.ECodeUnauthenticated {
			t.Fatalf("adminLogin with a citizen's password: %s", r.Raw)
		}
		// The correct password still works after the failures.
		admin = b.adminTicket(t)
		var st struct {
			SearchIndexStatus struct {
				Ready     bool
				LagRows   int
				Documents int
			}
		}
		b.gql(t, admin, `{ searchIndexStatus { ready lagRows documents } }`, nil).decode(t, &st)
		if !st.SearchIndexStatus.Ready || st.SearchIndexStatus.Documents < 300 {
			t.Fatalf("searchIndexStatus: %+v", st.SearchIndexStatus)
		}
		var stats struct {
			SearchStatistics struct {
				Searches   int
				TopQueries []struct {
					Query string
					Count int
				}
			}
		}
		b.mustSearch(t, map[string]any{"q": "结婚登记", "first": 1})
		b.app.Search.FlushLog()
		b.gql(t, admin, `{ searchStatistics(days: 7) { searches topQueries { query count } } }`, nil).decode(t, &stats)
		found := false
		for _, q := range stats.SearchStatistics.TopQueries {
			found = found || q.Query == "结婚登记" && q.Count >= 1
		}
		if stats.SearchStatistics.Searches == 0 || len(stats.SearchStatistics.TopQueries) == 0 ||
			(len(stats.SearchStatistics.TopQueries) < 20 && !found) {
			t.Fatalf("searchStatistics after a search: %+v", stats.SearchStatistics)
		}
		for _, days := range []int{0, 367} {
			expectCode(t, b.gql(t, admin, `query($d: Int) { searchStatistics(days: $d) { searches } }`, map[string]any{"d": days}), models.ECodeBadUserInput)
		}
	})
}

func TestSearchSynonymsTakeEffect(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		admin := b.adminTicket(t)
		t.Cleanup(func() { _, _ = b.app.Search.DeleteSynonym(context.Background(), "小本本") })
		const word = "小本本"
		if c := b.mustSearch(t, map[string]any{"q": word}); c.TotalCount != 0 {
			t.Fatalf("%s already finds %v", word, titles(c))
		}
		var set struct {
			SetSearchSynonym struct {
				Synonym struct {
					Term       string
					Expansions []string
					UpdatedAt  string
				}
			}
		}
		setSyn := `mutation($in: SetSearchSynonymInput!) { setSearchSynonym(input: $in) { synonym { term expansions updatedAt } } }`
		b.gql(t, admin, setSyn, map[string]any{"in": map[string]any{"term": word, "expansions": []string{"居民身份证"}}}).decode(t, &set)
		if s := set.SetSearchSynonym.Synonym; s.Term != word || len(s.Expansions) != 1 || s.Expansions[0] != "居民身份证" || s.UpdatedAt == "" {
			t.Fatalf("setSearchSynonym: %+v", s)
		}
		c := b.mustSearch(t, map[string]any{"q": word, "first": 5})
		if c.TotalCount == 0 || !strings.Contains(c.Edges[0].Node.Title, "居民身份证") {
			t.Fatalf("%s after the synonym: %v", word, titles(c))
		}
		// The matter list's keyword uses the same synonyms.
		if mc, _ := b.matters(t, "", map[string]any{"first": 5, "filter": map[string]any{"keyword": word}}); mc.TotalCount == 0 {
			t.Fatalf("matters keyword %s after the synonym finds nothing", word)
		}
		var list struct {
			SearchSynonyms []struct {
				Term       string
				Expansions []string
			}
		}
		b.gql(t, admin, `{ searchSynonyms { term expansions } }`, nil).decode(t, &list)
		found := false
		for _, s := range list.SearchSynonyms {
			found = found || s.Term == word
		}
		if !found || len(list.SearchSynonyms) < 10 {
			t.Fatalf("searchSynonyms lacks %s or the defaults: %d rules", word, len(list.SearchSynonyms))
		}
		// Replacing the expansions takes effect at once too.
		b.gql(t, admin, setSyn, map[string]any{"in": map[string]any{"term": word, "expansions": []string{"普通护照"}}}).decode(t, &set)
		if c := b.mustSearch(t, map[string]any{"q": word, "first": 5}); c.TotalCount == 0 || !strings.Contains(c.Edges[0].Node.Title, "护照") {
			t.Fatalf("%s after replacing the expansion: %v", word, titles(c))
		}
		var del struct{ DeleteSearchSynonym struct{ Deleted bool } }
		delSyn := `mutation($t: String!) { deleteSearchSynonym(input: {term: $t}) { deleted } }`
		b.gql(t, admin, delSyn, map[string]any{"t": word}).decode(t, &del)
		if !del.DeleteSearchSynonym.Deleted {
			t.Fatal("deleteSearchSynonym deleted nothing")
		}
		if c := b.mustSearch(t, map[string]any{"q": word}); c.TotalCount != 0 {
			t.Fatalf("%s still finds %v after the synonym was deleted", word, titles(c))
		}
		b.gql(t, admin, delSyn, map[string]any{"t": word}).decode(t, &del)
		if del.DeleteSearchSynonym.Deleted {
			t.Fatal("deleting a missing synonym reported true")
		}
		// Bad input.
		eleven := make([]string, 11)
		for i := range eleven {
			eleven[i] = fmt.Sprintf("规范说法%c", '甲'+rune(i))
		}
		for name, in := range map[string]map[string]any{
			"empty term":           {"term": "", "expansions": []string{"居民身份证"}},
			"blank term":           {"term": "  ", "expansions": []string{"居民身份证"}},
			"term with space":      {"term": "小 本本", "expansions": []string{"居民身份证"}},
			"punctuation term":     {"term": "!!!", "expansions": []string{"居民身份证"}},
			"21-character term":    {"term": strings.Repeat("本", 21), "expansions": []string{"居民身份证"}},
			"no expansions":        {"term": word, "expansions": []string{}},
			"empty expansion":      {"term": word, "expansions": []string{""}},
			"expansion = term":     {"term": word, "expansions": []string{word}},
			"31-character expans.": {"term": word, "expansions": []string{strings.Repeat("证", 31)}},
			"11 expansions":        {"term": word, "expansions": eleven},
		} {
			t.Run(name, func(t *testing.T) {
				expectCode(t, b.gql(t, admin, setSyn, map[string]any{"in": in}), models.ECodeBadUserInput)
			})
		}
		if c := b.mustSearch(t, map[string]any{"q": word}); c.TotalCount != 0 {
			t.Fatalf("a refused synonym took effect: %v", titles(c))
		}
	})
}

type matterHit struct {
	ID             string
	Name           string
	Aliases        []string
	Summary        string
	Nature         string
	ServiceObjects []string
	Popularity     int
	UpdatedAt      string
	Region         struct{ Code string }
}

func TestMattersKeywordUsesIndex(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		list := func(t *testing.T, vars map[string]any) (struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Edges []struct{ Node matterHit }
		}, *gqlResponse) {
			t.Helper()
			r := b.gql(t, "", `query($filter: MatterFilter, $after: String, $first: Int, $order: MatterOrder) {
				matters(filter: $filter, after: $after, first: $first, orderBy: $order) {
					totalCount pageInfo { hasNextPage endCursor }
					edges { node { id name aliases summary nature serviceObjects popularity updatedAt region { code } } } } }`, vars)
			var out struct {
				Matters struct {
					TotalCount int
					PageInfo   struct {
						HasNextPage bool
						EndCursor   *string
					}
					Edges []struct{ Node matterHit }
				}
			}
			if len(r.Errors) == 0 {
				r.decode(t, &out)
			}
			return out.Matters, r
		}
		for kw, want := range map[string]string{"sbk": "社会保障卡", "shebaoka": "社会保障卡", "税": "增值税纳税申报", "上户口": "出生登记"} {
			c, r := list(t, map[string]any{"first": 10, "filter": map[string]any{"keyword": kw}})
			if len(r.Errors) > 0 || c.TotalCount == 0 || !strings.Contains(c.Edges[0].Node.Name, want) {
				t.Errorf("matters keyword %s: want %s first, got %s", kw, want, r.Raw)
			}
		}
		t.Run("filters combine", func(t *testing.T) {
			filter := map[string]any{"keyword": "登记", "regionCode": "330100", "nature": "ADMINISTRATIVE_CONFIRMATION"}
			c, r := list(t, map[string]any{"first": 100, "filter": filter})
			if len(r.Errors) > 0 {
				t.Fatal(string(r.Raw))
			}
			noKw, _ := list(t, map[string]any{"first": 100, "filter": map[string]any{"regionCode": "330100", "nature": "ADMINISTRATIVE_CONFIRMATION"}})
			kwOnly, _ := list(t, map[string]any{"first": 1, "filter": map[string]any{"keyword": "登记"}})
			if c.TotalCount == 0 || c.TotalCount >= noKw.TotalCount || c.TotalCount >= kwOnly.TotalCount {
				t.Fatalf("keyword+region+nature: %d; region+nature %d; keyword %d", c.TotalCount, noKw.TotalCount, kwOnly.TotalCount)
			}
			for _, e := range c.Edges {
				n := e.Node
				inRegion := strings.HasPrefix(n.Region.Code, "3301") || n.Region.Code == "330000"
				mentions := strings.Contains(n.Name+strings.Join(n.Aliases, "")+n.Summary, "登记")
				if !inRegion || n.Nature != "ADMINISTRATIVE_CONFIRMATION" || !mentions {
					t.Fatalf("%s (%s, %s) does not match keyword+region+nature", n.Name, n.Region.Code, n.Nature)
				}
			}
			// And a service object and online-only on top.
			filter["serviceObject"] = "NATURAL_PERSON"
			filter["onlineOnly"] = true
			if _, r := list(t, map[string]any{"first": 100, "filter": filter}); len(r.Errors) > 0 {
				t.Fatal(string(r.Raw))
			}
		})
		for _, order := range []map[string]any{
			{"field": "RELEVANCE", "direction": "DESC"},
			{"field": "NAME", "direction": "ASC"},
			{"field": "NAME", "direction": "DESC"},
			{"field": "POPULARITY", "direction": "DESC"},
			{"field": "POPULARITY", "direction": "ASC"},
			{"field": "UPDATED_AT", "direction": "DESC"},
			{"field": "UPDATED_AT", "direction": "ASC"},
			nil,
		} {
			t.Run(fmt.Sprint("pages ", order), func(t *testing.T) {
				seen := map[string]bool{}
				var after any
				total := -1
				var prev *matterNode
				for page := 0; ; page++ {
					if page > 100 {
						t.Fatal("more than 100 pages")
					}
					c, r := list(t, map[string]any{"first": 7, "after": after, "order": order, "filter": map[string]any{"keyword": "登记"}})
					if len(r.Errors) > 0 {
						t.Fatalf("page %d: %s", page, r.Raw)
					}
					if total >= 0 && total != c.TotalCount {
						t.Fatalf("page %d: totalCount %d, first page said %d", page, c.TotalCount, total)
					}
					total = c.TotalCount
					for _, e := range c.Edges {
						n := e.Node
						if seen[n.ID] {
							t.Fatalf("page %d repeats %s", page, n.Name)
						}
						seen[n.ID] = true
						cur := &matterNode{Name: n.Name, Popularity: n.Popularity, UpdatedAt: n.UpdatedAt}
						if prev != nil && order != nil && !ordered(order, prev, cur) {
							t.Fatalf("out of order: %s (%d, %s) then %s (%d, %s)", prev.Name, prev.Popularity, prev.UpdatedAt, n.Name, n.Popularity, n.UpdatedAt)
						}
						prev = cur
					}
					if !c.PageInfo.HasNextPage {
						break
					}
					after = *c.PageInfo.EndCursor
				}
				if total < 20 || len(seen) != total {
					t.Fatalf("walked %d matters, totalCount %d", len(seen), total)
				}
			})
		}
		t.Run("cursor of another order", func(t *testing.T) {
			c, _ := list(t, map[string]any{"first": 2, "filter": map[string]any{"keyword": "登记"}})
			_, r := list(t, map[string]any{"first": 2, "after": *c.PageInfo.EndCursor, "filter": map[string]any{"keyword": "登记"},
				"order": map[string]any{"field": "NAME", "direction": "ASC"}})
			expectCode(t, r, models.ECodeBadUserInput)
			// A keyword page's cursor on the list without a keyword.
			_, r = list(t, map[string]any{"first": 2, "after": *c.PageInfo.EndCursor})
			expectCode(t, r, models.ECodeBadUserInput)
		})
	})
}

func TestSearchIndexFreshness(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		m := findMatter(t, b, "残疾人证办理", "420100")
		restoreMatterText(t, b, m)
		id := matterGlobalID(m.ID)
		start := time.Now()
		if err := b.app.Catalogue.UpdateMatterText(context.Background(), m.ID, "量子通行证签发", "测试用的事项说明。", nil); err != nil {
			t.Fatal(err)
		}
		has := func(c searchConn) bool {
			for _, e := range c.Edges {
				if e.Node.Item.ID == id {
					return true
				}
			}
			return false
		}
		for {
			c := b.mustSearch(t, map[string]any{"q": "量子通行证", "first": 20})
			if has(c) {
				if c.Edges[0].Node.Item.ID != id || c.Edges[0].Node.Title != "量子通行证签发" {
					t.Fatalf("renamed matter is not the first hit: %v", titles(c))
				}
				break
			}
			if time.Since(start) > time.Second {
				t.Fatalf("renamed matter not searchable after %v", time.Since(start))
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("searchable after %v", time.Since(start).Round(time.Millisecond))
		old := b.mustSearch(t, map[string]any{"q": "残疾人证办理", "first": 100})
		if has(old) {
			t.Fatal("the old name still finds the renamed matter")
		}
		if old.TotalCount == 0 {
			t.Fatal("the other cities' 残疾人证办理 are gone")
		}
		if mc, _ := b.matters(t, "", map[string]any{"first": 5, "filter": map[string]any{"keyword": "lztxz"}}); mc.TotalCount == 0 || mc.Edges[0].Node.ID != id {
			t.Fatalf("pinyin initials of the new name do not find it: %+v", mc.Edges)
		}
	})
}

// reopen starts a new server on a stopped one's data directory.
func reopen(t *testing.T, dir string) *backend {
	t.Helper()
	a, err := app.New(context.Background(), app.Config{DataDir: dir, AdminPassword: "Admin-Test-123", Logger: quietLogger(), SearchPollInterval: time.Hour})
	if err != nil {
		t.Fatalf("restart on %s: %v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Search.WaitReady(ctx); err != nil {
		a.Close()
		t.Fatalf("search index after restart: %v", err)
	}
	b := &backend{name: "reopened", app: a, srv: newTestServer(a), dir: dir}
	t.Cleanup(func() { b.srv.Close(); b.app.Close() })
	return b
}

// ownSQLite starts a server on its own SQLite database; stop closes it
// (once) and the data directory is removed at the end of the test.
func ownSQLite(t *testing.T) (b *backend, stop func()) {
	t.Helper()
	b, err := newApp("sqlite", nil)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			b.srv.Close()
			b.app.Close()
		}
	}
	t.Cleanup(func() { stop(); os.RemoveAll(b.dir) })
	return b, stop
}

func TestSearchOutboxSurvivesCrash(t *testing.T) {
	b, stop := ownSQLite(t)
	m := findMatter(t, b, "普通护照签发", "440100")
	const newName = "量子护照甲种签发"
	// A change committed with its outbox row, but the index never told (a
	// crash between the commit and Notify).
	err := b.app.DB.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.Matter{}).Where("id = ?", m.ID).Update("name", newName).Error; err != nil {
			return err
		}
		return tx.Create(&models.SearchOutbox{Kind: models.DocMatter, EntityID: m.ID, CreatedAt: time.Now().UTC()}).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	stop()

	before, err := os.Stat(filepath.Join(b.dir, "search", "index_meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := reopen(t, b.dir)
	// The restart caught up from the outbox; rebuilding 100,000 matters
	// on every start would take half a minute.
	if after, err := os.Stat(filepath.Join(b.dir, "search", "index_meta.json")); err != nil || !os.SameFile(before, after) {
		t.Errorf("the restart rebuilt the index instead of catching up (%v)", err)
	}
	id := matterGlobalID(m.ID)
	found := func() bool {
		for _, e := range r.mustSearch(t, map[string]any{"q": newName, "first": 5}).Edges {
			if e.Node.Item.ID == id && e.Node.Title == newName {
				return true
			}
		}
		return false
	}
	if found() {
		return
	}
	start := time.Now()
	for !found() {
		if time.Since(start) > 2*time.Second {
			t.Fatal("a change committed before the crash never reached the index after restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("the index was ready (WaitReady returned) but still missed a committed change; it showed up %v later", time.Since(start).Round(time.Millisecond))
}

func TestSearchIndexCorrupt(t *testing.T) {
	b, stop := ownSQLite(t)
	stop()
	meta := filepath.Join(b.dir, "search", "index_meta.json")
	if _, err := os.Stat(meta); err != nil {
		t.Fatalf("index layout changed: %v", err)
	}
	if err := os.WriteFile(meta, []byte("{garbage\x00\xff"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := reopen(t, b.dir)
	c := r.mustSearch(t, map[string]any{"q": "社保卡", "first": 5})
	if c.TotalCount == 0 || !strings.Contains(strings.Join(titles(c), ","), "社会保障卡") {
		t.Fatalf("search after rebuilding a corrupt index: %v", titles(c))
	}
	aside, _ := filepath.Glob(filepath.Join(b.dir, "search.corrupt-*"))
	if len(aside) != 1 {
		t.Fatalf("corrupt index not set aside: %v", aside)
	}
	if st, err := os.Stat(filepath.Join(b.dir, "search", "index_meta.json")); err != nil || st.Size() == 0 {
		t.Fatalf("no new index: %v", err)
	}
	if code, _, body := r.get(t, "/readyz"); code != 200 {
		t.Fatalf("/readyz after rebuild: %d %s", code, body)
	}
}

// A data directory's search index belongs to one process: a second server
// or a reindex on it is refused with a message saying why, and the running
// server's index is untouched.
func TestSearchIndexOneProcessPerDataDir(t *testing.T) {
	b, _ := ownSQLite(t)
	_, err := app.New(context.Background(), app.Config{DataDir: b.dir, AdminPassword: "Admin-Test-123", Logger: quietLogger(), SearchPollInterval: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "正被另一个 govmobile 进程使用") {
		t.Fatalf("second server on the same data directory: %v", err)
	}
	err = app.Reindex(context.Background(), app.Config{DataDir: b.dir, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "正被另一个 govmobile 进程使用") {
		t.Fatalf("reindex while the server runs: %v", err)
	}
	if c := b.mustSearch(t, map[string]any{"q": "社保卡", "first": 5}); c.TotalCount == 0 {
		t.Fatal("the running server's index was disturbed")
	}
}

// Housekeeping merges an index that updates have spread over several
// segments back into one, while it keeps answering.
func TestSearchIndexCompacts(t *testing.T) {
	b, _ := ownSQLite(t)
	ctx := context.Background()
	m := findMatter(t, b, "普通护照签发", "440100")
	for i := 0; i < 3; i++ {
		if err := b.app.Catalogue.UpdateMatterText(ctx, m.ID, fmt.Sprintf("普通护照签发第%d版", i), "测试用的事项说明。", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := b.app.Search.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := b.app.Search.Segments()
	if merged, err := b.app.Search.Compact(ctx, before); err != nil || merged {
		t.Fatalf("merged %d segments under a limit of as many: %v %v", before, merged, err)
	}
	merged, err := b.app.Search.Compact(ctx, 0)
	if err != nil || !merged {
		t.Fatalf("Compact(0) = %v, %v", merged, err)
	}
	if after := b.app.Search.Segments(); after != 1 {
		t.Fatalf("after merging %d segments, %d are left", before, after)
	}
	c := b.mustSearch(t, map[string]any{"q": "普通护照签发第2版", "first": 5})
	if len(c.Edges) == 0 || c.Edges[0].Node.Title != "普通护照签发第2版" {
		t.Fatalf("search after merging: %v", titles(c))
	}
}

func TestSearchIndexReadyz(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		code, _, body := b.get(t, "/readyz")
		var ready struct {
			Ready   bool
			Checks  map[string]string
			Details map[string]map[string]any
		}
		if err := json.Unmarshal([]byte(body), &ready); err != nil {
			t.Fatalf("/readyz: %v: %s", err, body)
		}
		if code != 200 || !ready.Ready || ready.Checks["searchIndex"] != "ok" {
			t.Fatalf("/readyz: %d %s", code, body)
		}
		lag, ok := ready.Details["searchIndex"]["lagRows"].(float64)
		if !ok || lag < 0 {
			t.Fatalf("/readyz details.searchIndex.lagRows: %s", body)
		}
		if _, ok := ready.Details["searchIndex"]["lagSeconds"].(float64); !ok {
			t.Fatalf("/readyz details.searchIndex.lagSeconds: %s", body)
		}
		code, _, metrics := b.get(t, "/metrics")
		if code != 200 {
			t.Fatalf("/metrics: %d", code)
		}
		lines := map[string]bool{}
		for _, l := range strings.Split(metrics, "\n") {
			lines[l] = true
		}
		if !lines["govmobile_search_index_ready 1"] {
			t.Error("/metrics lacks govmobile_search_index_ready 1")
		}
		for _, m := range []string{"govmobile_search_index_lag_rows ", "govmobile_search_index_lag_seconds "} {
			if !strings.Contains(metrics, "\n"+m) {
				t.Errorf("/metrics lacks %s", m)
			}
		}
	})
}

func TestSearchNodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		for _, c := range []struct{ scope, query, typename string }{
			{"APP", "社保", "App"},
			{"KNOWLEDGE", "社保", "KnowledgeEntry"},
			{"NATURAL_PERSON", "社保", "Matter"},
		} {
			t.Run(c.typename, func(t *testing.T) {
				got := b.mustSearch(t, map[string]any{"q": c.query, "scope": c.scope, "first": 5})
				if len(got.Edges) == 0 {
					t.Fatalf("%s in %s finds nothing", c.query, c.scope)
				}
				for _, e := range got.Edges {
					it := e.Node.Item
					if it.Typename != c.typename || it.ID == "" {
						t.Fatalf("%s hit item %+v", c.scope, it)
					}
					var out struct {
						Node *struct {
							Typename string `json:"__typename"`
							ID       string
							Name     string
							Question string
						}
					}
					b.gql(t, "", `query($id: ID!) { node(id: $id) { __typename id ... on App { name } ... on KnowledgeEntry { question } ... on Matter { name } } }`,
						map[string]any{"id": it.ID}).decode(t, &out)
					n := out.Node
					if n == nil || n.Typename != c.typename || n.ID != it.ID || n.Name+n.Question != e.Node.Title {
						t.Fatalf("node(%s) = %+v, search said %s %q", it.ID, n, c.typename, e.Node.Title)
					}
				}
			})
		}
	})
}
