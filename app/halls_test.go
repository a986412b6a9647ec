package app_test

import (
	"math"
	"testing"

	"govmobile/geo"
	"govmobile/models"
)

type hallOut struct {
	ID             string
	Name           string
	DistanceMeters *int
	MatterCount    int
	Matters        []struct{ ID string }
	Location       struct {
		Lat, Lng    float64
		CoordSystem string
	}
}

type hallConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   *string
	}
	Edges []struct {
		Cursor string
		Node   hallOut
	}
}

const hallsQuery = `query($near: GeoPointInput, $r: Float, $region: String, $matter: ID, $first: Int, $after: String, $cs: CoordSystem) {
  serviceHalls(near: $near, radiusKm: $r, regionCode: $region, matterId: $matter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id name distanceMeters matterCount matters(first: 3) { id } location(coordSystem: $cs) { lat lng coordSystem } } }
  }
}`

func (b *backend) halls(t *testing.T, vars map[string]any) (hallConn, *gqlResponse) {
	t.Helper()
	r := b.gql(t, "", hallsQuery, vars)
	var out struct{ ServiceHalls hallConn }
	if len(r.Errors) == 0 {
		r.decode(t, &out)
	}
	return out.ServiceHalls, r
}

// Tiananmen, in WGS-84: the demo catalogue's three Beijing halls lie
// within 10 km of it.
var tiananmen = geo.Point{Lat: 39.9087, Lng: 116.3975}

func TestServiceHallsNearby(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var beijing []models.Hall
		if err := b.app.DB.Where("region_code LIKE ?", "11%").Find(&beijing).Error; err != nil || len(beijing) != 3 {
			t.Fatalf("demo halls in Beijing: %d %v", len(beijing), err)
		}
		near := func(p geo.Point, sys string) map[string]any {
			return map[string]any{"lat": p.Lat, "lng": p.Lng, "coordSystem": sys}
		}
		c, r := b.halls(t, map[string]any{"near": near(tiananmen, "WGS84"), "r": 10.0})
		if len(r.Errors) > 0 || c.TotalCount != 3 || len(c.Edges) != 3 || c.PageInfo.HasNextPage {
			t.Fatalf("halls near Tiananmen: %s", r.Raw)
		}
		last, handled := -1, 0
		for _, e := range c.Edges {
			h := e.Node
			if h.DistanceMeters == nil || *h.DistanceMeters < last || *h.DistanceMeters > 10_000 {
				t.Fatalf("not sorted by distance, or out of the radius: %s", r.Raw)
			}
			last = *h.DistanceMeters
			want := geo.Distance(tiananmen, geo.Point{Lat: h.Location.Lat, Lng: h.Location.Lng})
			if math.Abs(float64(*h.DistanceMeters)-want) > 1 || h.Location.CoordSystem != "WGS84" {
				t.Fatalf("%s: %d m, want %.0f", h.Name, *h.DistanceMeters, want)
			}
			if len(h.Matters) != min(h.MatterCount, 3) {
				t.Fatalf("%s handles %d matters, listed %d", h.Name, h.MatterCount, len(h.Matters))
			}
			handled += h.MatterCount
		}
		if handled == 0 {
			t.Fatal("no Beijing hall handles a matter")
		}

		// The same place given in GCJ-02 or BD-09 finds the same halls at the
		// same distances, and coordinates come back in the system asked for.
		for _, sys := range []geo.System{geo.GCJ02, geo.BD09} {
			c2, r := b.halls(t, map[string]any{"near": near(geo.FromWGS84(tiananmen, sys), string(sys)), "r": 10.0, "cs": string(sys)})
			if len(c2.Edges) != 3 {
				t.Fatalf("%s: %s", sys, r.Raw)
			}
			for i, e := range c2.Edges {
				w := c.Edges[i].Node
				if e.Node.ID != w.ID || math.Abs(float64(*e.Node.DistanceMeters-*w.DistanceMeters)) > 1 || e.Node.Location.CoordSystem != string(sys) {
					t.Fatalf("%s: %+v, in WGS-84 %+v", sys, e.Node, w)
				}
				back := geo.ToWGS84(geo.Point{Lat: e.Node.Location.Lat, Lng: e.Node.Location.Lng}, sys)
				if d := geo.Distance(back, geo.Point{Lat: w.Location.Lat, Lng: w.Location.Lng}); d > 0.5 {
					t.Fatalf("%s location of %s is %.2f m off", sys, w.Name, d)
				}
			}
		}

		// One at a time through cursors: the same halls in the same order.
		var walked []string
		vars := map[string]any{"near": near(tiananmen, "WGS84"), "r": 10.0, "first": 1}
		for {
			p, r := b.halls(t, vars)
			if len(r.Errors) > 0 || len(p.Edges) != 1 {
				t.Fatalf("page %d: %s", len(walked), r.Raw)
			}
			walked = append(walked, p.Edges[0].Node.ID)
			if !p.PageInfo.HasNextPage {
				break
			}
			vars["after"] = *p.PageInfo.EndCursor
		}
		if len(walked) != 3 || walked[0] != c.Edges[0].Node.ID || walked[2] != c.Edges[2].Node.ID {
			t.Fatalf("walked %v", walked)
		}
		// A cursor from another search is refused.
		_, r = b.halls(t, map[string]any{"near": near(geo.Point{Lat: 31.23, Lng: 121.47}, "WGS84"), "after": c.Edges[0].Cursor})
		expectCode(t, r, models.ECodeBadUserInput)

		// Without a point, all halls by ID; by region (with the regions below
		// it) and by matter.
		all, r := b.halls(t, map[string]any{"first": 100})
		if len(r.Errors) > 0 || all.TotalCount != 18 || all.Edges[0].Node.DistanceMeters != nil {
			t.Fatalf("all halls: %s", r.Raw)
		}
		bj, r := b.halls(t, map[string]any{"region": "110000"})
		if len(r.Errors) > 0 || bj.TotalCount != 3 {
			t.Fatalf("halls in Beijing: %s", r.Raw)
		}
		var link models.MatterHall
		if err := b.app.DB.Where("hall_id = ?", beijing[0].ID).First(&link).Error; err != nil {
			t.Fatal(err)
		}
		byMatter, r := b.halls(t, map[string]any{"matter": gid("Matter", link.MatterID), "near": near(tiananmen, "WGS84")})
		found := false
		for _, e := range byMatter.Edges {
			found = found || e.Node.ID == gid("Hall", beijing[0].ID)
		}
		if len(r.Errors) > 0 || !found {
			t.Fatalf("halls handling matter %d: %s", link.MatterID, r.Raw)
		}
	})
}

func TestServiceHallsBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		here := map[string]any{"lat": tiananmen.Lat, "lng": tiananmen.Lng}
		for name, c := range map[string]struct {
			vars map[string]any
			code string
		}{
			"latitude out of range":  {map[string]any{"near": map[string]any{"lat": 91.0, "lng": 116.0}}, models.ECodeBadUserInput},
			"longitude out of range": {map[string]any{"near": map[string]any{"lat": 39.0, "lng": -180.5}}, models.ECodeBadUserInput},
			"unknown coord system":   {map[string]any{"near": map[string]any{"lat": 39.0, "lng": 116.0, "coordSystem": "MARS"}}, models.ECodeBadUserInput},
			"zero radius":            {map[string]any{"near": here, "r": 0.0}, models.ECodeBadUserInput},
			"radius too large":       {map[string]any{"near": here, "r": 501.0}, models.ECodeBadUserInput},
			"radius without a point": {map[string]any{"r": 5.0}, models.ECodeBadUserInput},
			"unknown region":         {map[string]any{"region": "999999"}, models.ECodeBadUserInput},
			"unknown matter":         {map[string]any{"matter": gid("Matter", 1<<40)}, models.ECodeNotFound},
			"matter id of a hall":    {map[string]any{"matter": gid("Hall", 1)}, models.ECodeBadUserInput},
			"page too large":         {map[string]any{"first": 101}, models.ECodeBadUserInput},
			"bad cursor":             {map[string]any{"after": "bm9wZQ"}, models.ECodeBadUserInput},
		} {
			t.Run(name, func(t *testing.T) {
				_, r := b.halls(t, c.vars)
				expectCode(t, r, c.code)
			})
		}
		r := b.gql(t, "", `{ serviceHalls { edges { node { matters(first: 21) { id } } } } }`, nil)
		expectCode(t, r, models.ECodeBadUserInput)
	})
}

// A page of halls with each hall's region, matter count and matters costs
// a fixed number of SQL statements, whatever the page size.
func TestServiceHallsStatementCount(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		q := `query($first: Int) { serviceHalls(first: $first) { totalCount edges { node { name region { name } matterCount matters(first: 5) { name agency { name } } } } } }`
		counts := map[int]float64{}
		for _, first := range []int{3, 18} {
			counts[first] = statementsOf(t, func() *gqlResponse { return b.gql(t, "", q, map[string]any{"first": first}) })
		}
		if counts[3] != counts[18] || counts[18] > 6 {
			t.Fatalf("statements: first:3 → %v, first:18 → %v (want equal and ≤ 6)", counts[3], counts[18])
		}
	})
}

// Halls are in the search index (scope HALL) by name, address and region;
// the ALL tab and its facets leave them out.
func TestSearchHalls(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		q := `query($q: String!, $s: SearchScope) { search(query: $q, scope: $s) { totalCount facets { scope } edges { node { kind title item { __typename ... on Hall { id name } } } } } }`
		var out struct {
			Search struct {
				TotalCount int
				Facets     []struct{ Scope string }
				Edges      []struct {
					Node struct {
						Kind, Title string
						Item        struct{ Typename, ID, Name string }
					}
				}
			}
		}
		for _, text := range []string{"六里桥", "东城区政务服务中心", "珠市口"} {
			b.gql(t, "", q, map[string]any{"q": text, "s": "HALL"}).decode(t, &out)
			if out.Search.TotalCount == 0 || out.Search.Edges[0].Node.Kind != "HALL" || out.Search.Edges[0].Node.Title == "" {
				t.Fatalf("%s in HALL: %+v", text, out.Search)
			}
		}
		// An exact name settles on the halls with that name, not on every
		// hall sharing a word.
		b.gql(t, "", q, map[string]any{"q": "东城区政务服务中心", "s": "HALL"}).decode(t, &out)
		if out.Search.TotalCount == 0 || out.Search.TotalCount > 6 || out.Search.Edges[0].Node.Title != "东城区政务服务中心" {
			t.Fatalf("an exact hall name finds %d halls: %+v", out.Search.TotalCount, out.Search.Edges)
		}
		b.gql(t, "", q, map[string]any{"q": "政务服务中心", "s": "ALL"}).decode(t, &out)
		for _, e := range out.Search.Edges {
			if e.Node.Kind == "HALL" {
				t.Fatalf("a hall in the ALL tab: %+v", e)
			}
		}
		for _, f := range out.Search.Facets {
			if f.Scope == "HALL" {
				t.Fatal("a HALL facet")
			}
		}
	})
}
