package app_test

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"

	"govmobile/database"
	"govmobile/models"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

type matterNode struct {
	ID              string
	Code            string
	Name            string
	Aliases         []string
	Nature          string
	ServiceObjects  []string
	Level           string
	Popularity      int
	UpdatedAt       string
	OnlineAvailable bool
	Agency          struct{ ID, Name string }
	Region          struct{ Code, FullName string }
	Themes          []struct{ ID, Name string }
	Halls           []struct{ Name string }
}

type matterConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   *string
	}
	Edges []struct {
		Cursor string
		Node   matterNode
	}
}

const matterFields = `id code name aliases nature serviceObjects level popularity updatedAt onlineAvailable
	agency { id name } region { code fullName } themes { id name } halls { name }`

func (b *backend) matters(t *testing.T, args string, vars map[string]any) (matterConn, *gqlResponse) {
	t.Helper()
	q := fmt.Sprintf(`query($filter: MatterFilter, $after: String, $first: Int, $order: MatterOrder) {
		matters(filter: $filter, after: $after, first: $first, orderBy: $order %s) {
			totalCount pageInfo { hasNextPage endCursor } edges { cursor node { %s } } } }`, args, matterFields)
	r := b.gql(t, "", q, vars)
	var out struct{ Matters matterConn }
	if len(r.Errors) == 0 {
		r.decode(t, &out)
	}
	return out.Matters, r
}

func TestDemoCatalogueLoaded(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		for _, name := range []string{"居民身份证换领", "出生登记", "住房公积金提取", "企业设立登记", "特种设备使用登记", "公众聚集场所投入使用营业前消防安全检查"} {
			c, r := b.matters(t, "", map[string]any{"filter": map[string]any{"keyword": name}, "first": 5})
			if len(r.Errors) > 0 || c.TotalCount == 0 {
				t.Fatalf("demo matter %s missing: %s", name, r.Raw)
			}
		}
		// Aliases people type find their matter.
		for alias, want := range map[string]string{"营业执照": "企业设立登记", "社保卡": "社会保障卡", "公积金": "住房公积金", "驾照": "机动车驾驶证", "上户口": "出生登记", "低保": "最低生活保障申请"} {
			c, _ := b.matters(t, "", map[string]any{"filter": map[string]any{"keyword": alias}, "first": 50})
			found := false
			for _, e := range c.Edges {
				found = found || strings.Contains(e.Node.Name, want)
			}
			if !found {
				t.Errorf("alias %s does not find %s", alias, want)
			}
		}
	})
}

// TestMattersPagination walks every page of several orderings and checks the
// pages are complete, ordered and never repeat a matter.
func TestMattersPagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		for _, order := range []map[string]any{
			nil,
			{"field": "NAME", "direction": "ASC"},
			{"field": "NAME", "direction": "DESC"},
			{"field": "POPULARITY", "direction": "ASC"},
			{"field": "UPDATED_AT", "direction": "DESC"},
		} {
			t.Run(fmt.Sprint(order), func(t *testing.T) {
				seen := map[string]bool{}
				var prev *matterNode
				var after any
				total := -1
				for page := 0; ; page++ {
					c, r := b.matters(t, "", map[string]any{"first": 37, "after": after, "order": order, "filter": map[string]any{"regionCode": "330000"}})
					if len(r.Errors) > 0 {
						t.Fatalf("page %d: %s", page, r.Raw)
					}
					total = c.TotalCount
					for _, e := range c.Edges {
						n := e.Node
						if seen[n.ID] {
							t.Fatalf("matter %s repeated", n.Name)
						}
						seen[n.ID] = true
						if prev != nil && !ordered(order, prev, &n) {
							t.Fatalf("out of order: %s (%d, %s) then %s (%d, %s)", prev.Name, prev.Popularity, prev.UpdatedAt, n.Name, n.Popularity, n.UpdatedAt)
						}
						prev = &n
					}
					if !c.PageInfo.HasNextPage {
						break
					}
					after = *c.PageInfo.EndCursor
				}
				if len(seen) != total || total == 0 {
					t.Fatalf("walked %d matters, totalCount %d", len(seen), total)
				}
			})
		}
	})
}

func ordered(order map[string]any, a, b *matterNode) bool {
	field, dir := "POPULARITY", "DESC"
	if order != nil {
		field, dir = order["field"].(string), order["direction"].(string)
	}
	var cmp int
	switch field {
	case "NAME":
		// The database's collation decides; equal names are fine.
		return true
	case "POPULARITY":
		cmp = a.Popularity - b.Popularity
	case "UPDATED_AT":
		cmp = strings.Compare(a.UpdatedAt, b.UpdatedAt)
	}
	if dir == "DESC" {
		return cmp >= 0
	}
	return cmp <= 0
}

func TestMattersFilters(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		all, _ := b.matters(t, "", map[string]any{"first": 100})
		if want := countRows(t, b, &models.Matter{}); int64(all.TotalCount) != want {
			t.Fatalf("unfiltered totalCount %d, catalogue holds %d", all.TotalCount, want)
		}
		var agencyID, themeID, themeName string
		for _, e := range all.Edges {
			if len(e.Node.Themes) > 0 {
				agencyID, themeID, themeName = e.Node.Agency.ID, e.Node.Themes[0].ID, e.Node.Themes[0].Name
				break
			}
		}
		cases := []struct {
			filter map[string]any
			ok     func(n matterNode) bool
		}{
			// A region's own matters, those below it, and its ancestors' own.
			{map[string]any{"regionCode": "330100"}, func(n matterNode) bool {
				return strings.HasPrefix(n.Region.Code, "3301") || n.Region.Code == "330000"
			}},
			{map[string]any{"regionCode": "330106"}, func(n matterNode) bool {
				return n.Region.Code == "330106" || n.Region.Code == "330100" || n.Region.Code == "330000"
			}},
			{map[string]any{"regionCode": "110101"}, func(n matterNode) bool { return n.Region.Code == "110101" || n.Region.Code == "110000" }},
			{map[string]any{"regionCode": "440000"}, func(n matterNode) bool { return strings.HasPrefix(n.Region.Code, "44") }},
			{map[string]any{"nature": "ADMINISTRATIVE_LICENSE"}, func(n matterNode) bool { return n.Nature == "ADMINISTRATIVE_LICENSE" }},
			{map[string]any{"serviceObject": "LEGAL_PERSON"}, func(n matterNode) bool { return contains(strings.Join(n.ServiceObjects, ","), "LEGAL_PERSON") }},
			{map[string]any{"agencyId": agencyID}, func(n matterNode) bool { return n.Agency.ID == agencyID }},
			{map[string]any{"themeId": themeID}, func(n matterNode) bool {
				for _, th := range n.Themes {
					if th.Name == themeName {
						return true
					}
				}
				return false
			}},
			{map[string]any{"level": "CITY"}, func(n matterNode) bool { return n.Level == "CITY" }},
			{map[string]any{"onlineOnly": true}, func(n matterNode) bool { return n.OnlineAvailable }},
			{map[string]any{"regionCode": "510100", "nature": "ADMINISTRATIVE_LICENSE", "serviceObject": "LEGAL_PERSON"}, func(n matterNode) bool {
				return (strings.HasPrefix(n.Region.Code, "5101") || n.Region.Code == "510000") && n.Nature == "ADMINISTRATIVE_LICENSE"
			}},
		}
		for _, c := range cases {
			t.Run(fmt.Sprint(c.filter), func(t *testing.T) {
				got, r := b.matters(t, "", map[string]any{"first": 100, "filter": c.filter})
				if len(r.Errors) > 0 {
					t.Fatal(string(r.Raw))
				}
				if got.TotalCount == 0 || got.TotalCount >= 300 {
					t.Fatalf("filter selects %d of the catalogue", got.TotalCount)
				}
				for _, e := range got.Edges {
					if !c.ok(e.Node) {
						t.Fatalf("%s (%s) does not match the filter", e.Node.Name, e.Node.Region.Code)
					}
				}
			})
		}
	})
}

func TestMattersBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		c, _ := b.matters(t, "", map[string]any{"first": 2, "order": map[string]any{"field": "NAME", "direction": "ASC"}})
		nameCursor := *c.PageInfo.EndCursor
		cases := []struct {
			name string
			vars map[string]any
		}{
			{"first too large", map[string]any{"first": 101}},
			{"first zero", map[string]any{"first": 0}},
			{"first negative", map[string]any{"first": -5}},
			{"garbage cursor", map[string]any{"after": "!!!not-a-cursor"}},
			{"base64 garbage cursor", map[string]any{"after": "eyJmb28iOjF9"}},
			{"overlong cursor", map[string]any{"after": strings.Repeat("A", 5000)}},
			{"cursor of another order", map[string]any{"after": nameCursor}},
			{"unknown region", map[string]any{"filter": map[string]any{"regionCode": "999999"}}},
			{"malformed region", map[string]any{"filter": map[string]any{"regionCode": "33"}}},
			{"overlong keyword", map[string]any{"filter": map[string]any{"keyword": strings.Repeat("税", 51)}}},
			{"control character in keyword", map[string]any{"filter": map[string]any{"keyword": "护照\x00"}}},
			{"malformed agency id", map[string]any{"filter": map[string]any{"agencyId": "@@@"}}},
			{"agency id beyond 64 bits", map[string]any{"filter": map[string]any{"agencyId": base64.RawURLEncoding.EncodeToString([]byte("Agency:18446744073709551615"))}}},
			{"agency id beyond int64", map[string]any{"filter": map[string]any{"agencyId": base64.RawURLEncoding.EncodeToString([]byte("Agency:9223372036854775808"))}}},
			{"cursor id beyond int64", map[string]any{"after": base64.RawURLEncoding.EncodeToString([]byte(`{"o":"POPULARITY:desc","v":1,"i":18446744073709551615}`))}},
			{"id of another kind", map[string]any{"filter": map[string]any{"agencyId": c.Edges[0].Node.ID}}},
			{"unknown enum", map[string]any{"filter": map[string]any{"nature": "LICENCE"}}},
			{"wrong type", map[string]any{"first": "ten"}},
			{"unknown filter field", map[string]any{"filter": map[string]any{"colour": "red"}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, r := b.matters(t, "", tc.vars)
				expectCode(t, r, models.ECodeBadUserInput)
			})
		}
	})
}

func TestMatterAndNode(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		c, _ := b.matters(t, "", map[string]any{"first": 1, "filter": map[string]any{"keyword": "普通护照签发"}})
		id := c.Edges[0].Node.ID
		const guide = `guide { conditions materials { name form copies required note } process { order name description }
			legalTimeLimitDays promisedTimeLimitDays fees { name amount basis } feeDescription legalBasis consultPhone windowVisits onlineDepth onlineDepthName }`
		var out struct {
			Matter *struct {
				Name  string
				Guide struct {
					Conditions []string
					Materials  []struct{ Name string }
					Process    []struct {
						Order int
						Name  string
					}
					Fees       []struct{ Amount string }
					LegalBasis []string
				}
			}
			Node   *struct{ Name string }
			ByCode *struct{ Name string }
		}
		b.gql(t, "", `query($id: ID!, $code: String) { matter(id: $id) { name `+guide+` } node(id: $id) { ... on Matter { name } } byCode: matter(code: $code) { name } }`,
			map[string]any{"id": id, "code": c.Edges[0].Node.Code}).decode(t, &out)
		m := out.Matter
		if m == nil || m.Name != "普通护照签发" || out.Node == nil || out.Node.Name != m.Name || out.ByCode == nil {
			t.Fatalf("matter/node: %+v", out)
		}
		g := m.Guide
		if len(g.Conditions) == 0 || len(g.Materials) == 0 || len(g.Process) < 2 || g.Process[0].Order != 1 || len(g.Fees) == 0 || len(g.LegalBasis) == 0 {
			t.Fatalf("guide incomplete: %+v", g)
		}
		// Unknown IDs are null; malformed ones are BAD_USER_INPUT.
		var missing struct{ Matter, Node *struct{ Name string } }
		gone := "TWF0dGVyOjk5OTk5OTk5" // Matter:99999999
		b.gql(t, "", `query($id: ID!) { matter(id: $id) { name } node(id: $id) { id } }`, map[string]any{"id": gone}).decode(t, &missing)
		if missing.Matter != nil || missing.Node != nil {
			t.Fatal("unknown matter is not null")
		}
		huge := base64.RawURLEncoding.EncodeToString([]byte("Matter:18446744073709551615"))
		for _, bad := range []string{"", "123", "%%%", "VXNlcg", "TWF0dGVyOmFiYw", huge} {
			expectCode(t, b.gql(t, "", `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": bad}), models.ECodeBadUserInput)
		}
		expectCode(t, b.gql(t, "", `{ matter { name } }`, nil), models.ECodeBadUserInput)
		// Other node kinds resolve.
		var nodes struct {
			Agency, Region *struct{ ID, Name string }
		}
		b.gql(t, "", `query($a: ID!, $r: ID!) { agency: node(id: $a) { id ... on Agency { name } } region: node(id: $r) { id ... on Region { name } } }`,
			map[string]any{"a": c.Edges[0].Node.Agency.ID, "r": "UmVnaW9uOjMzMDEwMA"}).decode(t, &nodes)
		if nodes.Agency == nil || nodes.Region == nil || nodes.Region.Name != "杭州市" {
			t.Fatalf("nodes: %+v", nodes)
		}
	})
}

func TestNavigation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		filterKey := map[string]string{"NATURE": "nature", "SERVICE_OBJECT": "serviceObject", "AGENCY": "agencyId", "THEME": "themeId", "LEVEL": "level"}
		for _, region := range []any{nil, "330100", "110000", "330106", "110101"} {
			for dim, key := range filterKey {
				var out struct {
					Navigation []struct {
						Key, Name string
						Count     int
					}
				}
				b.gql(t, "", `query($d: NavigationDimension!, $r: String) { navigation(dimension: $d, regionCode: $r) { key name count } }`,
					map[string]any{"d": dim, "r": region}).decode(t, &out)
				if len(out.Navigation) == 0 {
					t.Fatalf("%s in %v: no entries", dim, region)
				}
				// Each count equals the matter list under that filter.
				for _, e := range out.Navigation {
					filter := map[string]any{key: e.Key}
					if region != nil {
						filter["regionCode"] = region
					}
					c, r := b.matters(t, "", map[string]any{"first": 1, "filter": filter})
					if len(r.Errors) > 0 || c.TotalCount != e.Count || e.Name == "" || !hasHan(e.Name) {
						t.Fatalf("%s %s (%s) in %v: navigation says %d, matters says %d %s", dim, e.Key, e.Name, region, e.Count, c.TotalCount, r.Raw)
					}
				}
			}
		}
		expectCode(t, b.gql(t, "", `{ navigation(dimension: NATURE, regionCode: "000001") { key } }`, nil), models.ECodeBadUserInput)
		// JSON punctuation matches nothing by itself; words combine.
		for _, kw := range []string{`[`, `","`, `\`} {
			c, r := b.matters(t, "", map[string]any{"first": 1, "filter": map[string]any{"keyword": kw}})
			if len(r.Errors) > 0 || c.TotalCount != int(countRows(t, b, &models.Matter{})) {
				t.Fatalf("keyword %q should filter nothing (it is only punctuation): %d", kw, c.TotalCount)
			}
		}
		if c, _ := b.matters(t, "", map[string]any{"first": 5, "filter": map[string]any{"keyword": "社保卡 挂失"}}); c.TotalCount == 0 || !strings.Contains(c.Edges[0].Node.Name, "挂失") {
			t.Fatal("two words do not combine")
		}
		// A district sees its own matters and its city's: 护照 is handled by
		// 杭州市 and must be found from 西湖区.
		c, _ := b.matters(t, "", map[string]any{"first": 5, "filter": map[string]any{"regionCode": "330106", "keyword": "护照"}})
		if c.TotalCount == 0 {
			t.Fatal("a district does not see its city's matters")
		}
	})
}

func TestRegions(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var out struct {
			Provinces []struct{ Code, Name, Level string }
			Cities    []struct{ Code, Name, Level string }
			Counties  []struct {
				Code, Name, Level, FullName string
				Parent                      struct{ Code string }
			}
		}
		b.gql(t, "", `{ provinces: regions { code name level } cities: regions(parentCode: "330000") { code name level }
			counties: regions(parentCode: "330100") { code name level fullName parent { code } } }`, nil).decode(t, &out)
		if len(out.Provinces) != 34 || out.Provinces[0].Code != "110000" || out.Provinces[0].Level != "PROVINCE" {
			t.Fatalf("provinces: %d %+v", len(out.Provinces), out.Provinces[:1])
		}
		if len(out.Cities) != 11 || out.Cities[0].Name != "杭州市" || out.Cities[0].Level != "CITY" {
			t.Fatalf("浙江 has 11 cities: %+v", out.Cities)
		}
		codes := []string{}
		for _, c := range out.Counties {
			codes = append(codes, c.Code)
			if c.Level != "COUNTY" || c.Parent.Code != "330100" || !strings.HasPrefix(c.FullName, "浙江省杭州市") {
				t.Fatalf("county %+v", c)
			}
		}
		if !sort.StringsAreSorted(codes) || len(codes) < 10 {
			t.Fatalf("杭州 counties: %v", codes)
		}
		expectCode(t, b.gql(t, "", `{ regions(parentCode: "999999") { code } }`, nil), models.ECodeNotFound)
	})
}

// TestMattersStatementCount: a page of matters with its agency, region,
// themes and halls costs a fixed number of SQL statements, whatever its size.
func TestMattersStatementCount(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		q := `query($first: Int) { matters(first: $first) { totalCount edges { node { name agency { name region { name } } region { name } themes { name } halls { name } guide { materials { name } } } } } }`
		counts := map[int]float64{}
		for _, first := range []int{10, 100} {
			// Cold: short first pages are kept per catalogue generation,
			// which would spare the page statement at one size only.
			counts[first] = statementsOf(t, func() *gqlResponse {
				b.app.Catalogue.Changed()
				return b.gql(t, "", q, map[string]any{"first": first})
			})
		}
		if counts[10] != counts[100] || counts[100] > 8 {
			t.Fatalf("statements: first:10 → %v, first:100 → %v (want equal and ≤ 8)", counts[10], counts[100])
		}
		t.Logf("statements per page: %v", counts[100])
	})
}

// statementsOf is the number of SQL statements one request makes. The
// counter is process-wide and background work (the search index, the
// search log, ticket touches) may add to a reading, so the request is sent
// three times and the fewest counted.
func statementsOf(t *testing.T, send func() *gqlResponse) float64 {
	t.Helper()
	var fewest float64
	for try := 0; try < 3; try++ {
		before := totalStatements()
		r := send()
		if len(r.Errors) > 0 {
			t.Fatal(string(r.Raw))
		}
		if n := totalStatements() - before; try == 0 || n < fewest {
			fewest = n
		}
	}
	return fewest
}

func totalStatements() float64 {
	var sum float64
	for _, kind := range []string{"create", "query", "update", "delete", "row", "raw"} {
		sum += testutil.ToFloat64(database.QueriesTotal.WithLabelValues(kind))
	}
	return sum
}
