package catalogue_test

// Scale benchmarks (issue 2, "Numbers"): with 100,000 synthetic matters on
// SQLite, a filtered matters(first: 20) page and navigation each answer in
// under 20 ms at the median.
//
// They are benchmarks only, so `go test ./catalogue/` never builds the large
// database; `go test -run '^$' -bench Scale ./catalogue/` does, once, in
// $GOVMOBILE_BENCH_DIR (default $TMPDIR/govmobile-bench-100k), and reuses it on
// later runs. Every benchmark reports the median and 95th percentile of its
// calls as p50-ms and p95-ms besides the mean (ns/op); run with
// -benchtime=200x for 200 timed calls each. See docs/benchmarks.md.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/catalogue"
	"govmobile/models"
)

// scaleMatters is the number of synthetic matters the issue asks about.
const scaleMatters = 100000

var scale struct {
	once sync.Once
	err  error
	app  *app.App
	srv  *httptest.Server
	// householdTheme is the 户籍办理 theme, which the ID-card and household
	// templates carry.
	householdTheme uint64
}

func benchDir() string {
	if d := os.Getenv("GOVMOBILE_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "govmobile-bench-100k")
}

// scaleApp opens (building on first use) the 100k-matter SQLite database and
// serves it over HTTP with the response cache off, so every request reaches
// the resolvers and the database.
func scaleApp(b *testing.B) *app.App {
	b.Helper()
	scale.once.Do(func() {
		ctx := context.Background()
		dir := benchDir()
		a, err := app.New(ctx, app.Config{
			DataDir:            dir,
			AdminPassword:      "Bench-Admin-123",
			ResponseCacheBytes: 0,
			Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			scale.err = err
			return
		}
		var have int64
		if err := a.DB.WithContext(ctx).Model(&models.Matter{}).Where("code LIKE ?", "SYN-%").Count(&have).Error; err != nil {
			scale.err = err
			return
		}
		if have < scaleMatters {
			start := time.Now()
			fmt.Fprintf(os.Stderr, "scale bench: seeding %d synthetic matters into %s ...\n", scaleMatters-have, dir)
			if err := a.Catalogue.SeedSynthetic(ctx, int(scaleMatters-have), nil); err != nil {
				scale.err = err
				return
			}
			fmt.Fprintf(os.Stderr, "scale bench: seeded in %.1f s\n", time.Since(start).Seconds())
		}
		// bench/home.sh reuses the directory when it finds this marker.
		_ = os.WriteFile(filepath.Join(dir, ".synthetic-matters"), []byte(strconv.Itoa(scaleMatters)+"\n"), 0o644)
		themes, err := a.Catalogue.Themes(ctx, "")
		if err != nil {
			scale.err = err
			return
		}
		for _, t := range themes {
			if t.Code == "NP_HOUSEHOLD" {
				scale.householdTheme = t.ID
			}
		}
		if scale.householdTheme == 0 {
			scale.err = fmt.Errorf("theme NP_HOUSEHOLD not found")
			return
		}
		scale.app = a
		scale.srv = httptest.NewServer(a.Handler)
	})
	if scale.err != nil {
		b.Fatalf("scale database: %v", scale.err)
	}
	return scale.app
}

// timed runs f b.N times, timing each call, and reports the median and the
// 95th percentile in milliseconds.
func timed(b *testing.B, f func() error) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(float64(len(lat)-1) * p)
		return float64(lat[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
}

const (
	zhejiang = "330000" // province
	hangzhou = "330100" // city
)

type listCase struct {
	name   string
	filter func() catalogue.MatterFilter
	order  catalogue.MatterOrder
}

var byName = catalogue.MatterOrder{Field: catalogue.OrderByName}

func listCases() []listCase {
	return []listCase{
		{"region=province", func() catalogue.MatterFilter { return catalogue.MatterFilter{RegionCode: zhejiang} }, catalogue.DefaultMatterOrder},
		{"region=province/NAME", func() catalogue.MatterFilter { return catalogue.MatterFilter{RegionCode: zhejiang} }, byName},
		{"region=city", func() catalogue.MatterFilter { return catalogue.MatterFilter{RegionCode: hangzhou} }, catalogue.DefaultMatterOrder},
		{"region+nature", func() catalogue.MatterFilter {
			return catalogue.MatterFilter{RegionCode: zhejiang, Nature: models.NatureLicense}
		}, catalogue.DefaultMatterOrder},
		{"region+nature/NAME", func() catalogue.MatterFilter {
			return catalogue.MatterFilter{RegionCode: zhejiang, Nature: models.NatureLicense}
		}, byName},
		{"serviceObject", func() catalogue.MatterFilter {
			return catalogue.MatterFilter{ServiceObject: models.ObjectLegalPerson}
		}, catalogue.DefaultMatterOrder},
		{"serviceObject/NAME", func() catalogue.MatterFilter {
			return catalogue.MatterFilter{ServiceObject: models.ObjectLegalPerson}
		}, byName},
		{"region+serviceObject", func() catalogue.MatterFilter {
			return catalogue.MatterFilter{RegionCode: zhejiang, ServiceObject: models.ObjectLegalPerson}
		}, catalogue.DefaultMatterOrder},
		{"theme", func() catalogue.MatterFilter { return catalogue.MatterFilter{ThemeID: scale.householdTheme} }, catalogue.DefaultMatterOrder},
		{"region+theme", func() catalogue.MatterFilter {
			return catalogue.MatterFilter{RegionCode: zhejiang, ThemeID: scale.householdTheme}
		}, catalogue.DefaultMatterOrder},
		{"keyword", func() catalogue.MatterFilter { return catalogue.MatterFilter{Keyword: "身份证"} }, catalogue.DefaultMatterOrder},
		{"keyword/NAME", func() catalogue.MatterFilter { return catalogue.MatterFilter{Keyword: "身份证"} }, byName},
		{"region+keyword", func() catalogue.MatterFilter {
			return catalogue.MatterFilter{RegionCode: zhejiang, Keyword: "身份证"}
		}, catalogue.DefaultMatterOrder},
		{"onlineOnly", func() catalogue.MatterFilter { return catalogue.MatterFilter{OnlineOnly: true} }, catalogue.DefaultMatterOrder},
		{"region+onlineOnly", func() catalogue.MatterFilter {
			return catalogue.MatterFilter{RegionCode: zhejiang, OnlineOnly: true}
		}, catalogue.DefaultMatterOrder},
		{"none", func() catalogue.MatterFilter { return catalogue.MatterFilter{} }, catalogue.DefaultMatterOrder},
	}
}

// BenchmarkScaleListMatters: one matters(first: 20) page (count + page rows)
// through the catalogue service.
func BenchmarkScaleListMatters(b *testing.B) {
	a := scaleApp(b)
	ctx := context.Background()
	for _, c := range listCases() {
		b.Run(c.name, func(b *testing.B) {
			f := c.filter()
			p, err := a.Catalogue.ListMatters(ctx, f, c.order, 20, nil, true)
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Matters) == 0 {
				b.Fatalf("%s: empty page", c.name)
			}
			b.Logf("%s: totalCount %d", c.name, p.TotalCount)
			for _, mode := range cacheModes {
				b.Run(mode.name, func(b *testing.B) {
					timed(b, func() error {
						mode.before(a)
						_, err := a.Catalogue.ListMatters(ctx, f, c.order, 20, nil, true)
						return err
					})
				})
			}
		})
	}
}

// cacheModes runs each case twice: "cached", as repeated requests see it
// (counts, navigation and — since issue 9's load work — keyword-free pages
// are kept until the next catalogue write), and
// "cold", with the catalogue generation moved on before every call, so every
// count and navigation query really runs.
var cacheModes = []struct {
	name   string
	before func(*app.App)
}{
	{"cached", func(*app.App) {}},
	{"cold", func(a *app.App) { a.Catalogue.Changed() }},
}

var dimensions = []catalogue.NavigationDimension{
	catalogue.ByNature, catalogue.ByServiceObject, catalogue.ByAgency, catalogue.ByTheme, catalogue.ByLevel,
}

// BenchmarkScaleNavigation: navigation for each dimension, nationwide and
// within a province, through the catalogue service.
func BenchmarkScaleNavigation(b *testing.B) {
	a := scaleApp(b)
	ctx := context.Background()
	for _, dim := range dimensions {
		for _, region := range []string{"", zhejiang} {
			name := string(dim) + "/all"
			if region != "" {
				name = string(dim) + "/region=province"
			}
			b.Run(name, func(b *testing.B) {
				entries, err := a.Catalogue.Navigation(ctx, dim, region)
				if err != nil {
					b.Fatal(err)
				}
				if len(entries) == 0 {
					b.Fatalf("%s: no entries", name)
				}
				for _, mode := range cacheModes {
					b.Run(mode.name, func(b *testing.B) {
						timed(b, func() error {
							mode.before(a)
							_, err := a.Catalogue.Navigation(ctx, dim, region)
							return err
						})
					})
				}
			})
		}
	}
}

// The GraphQL documents a mobile client sends.
const (
	pageQuery = `query Page($filter: MatterFilter, $orderBy: MatterOrder) {
  matters(first: 20, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { cursor node { id name agency { name } region { name } themes { name } } }
    pageInfo { hasNextPage endCursor }
  }
}`
	navQuery = `query Nav($dim: NavigationDimension!, $region: String) {
  navigation(dimension: $dim, regionCode: $region) { key name count }
}`
	homeQuery = `query Home($region: String) {
  navigation(dimension: THEME, regionCode: $region) { key name count }
  matters(first: 20, filter: {regionCode: $region}) {
    totalCount
    edges { cursor node { id name agency { name } region { name } themes { name } } }
    pageInfo { hasNextPage endCursor }
  }
}`
)

// post sends one GraphQL request and fails on a transport or GraphQL error.
func post(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, out)
	}
	return nil
}

func gqlBody(b *testing.B, query string, vars map[string]any) []byte {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func themeGlobalID(id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("Theme:" + strconv.FormatUint(id, 10)))
}

// BenchmarkScaleHTTP: the same reads as whole GraphQL requests over loopback
// HTTP (what a client sees), with the response cache off.
func BenchmarkScaleHTTP(b *testing.B) {
	scaleApp(b)
	url := scale.srv.URL + "/graphql"
	client := scale.srv.Client()
	type httpCase struct {
		name string
		body []byte
	}
	theme := themeGlobalID(scale.householdTheme)
	byNameVar := map[string]any{"field": "NAME", "direction": "ASC"}
	cases := []httpCase{
		{"home/region=city", gqlBody(b, homeQuery, map[string]any{"region": hangzhou})},
		{"home/region=province", gqlBody(b, homeQuery, map[string]any{"region": zhejiang})},
		{"home/all", gqlBody(b, homeQuery, map[string]any{})},
		{"matters/region=province", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"regionCode": zhejiang}})},
		{"matters/region=province/NAME", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"regionCode": zhejiang}, "orderBy": byNameVar})},
		{"matters/region+nature", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"regionCode": zhejiang, "nature": "ADMINISTRATIVE_LICENSE"}})},
		{"matters/serviceObject", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"serviceObject": "LEGAL_PERSON"}})},
		{"matters/theme", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"themeId": theme}})},
		{"matters/region+theme", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"regionCode": zhejiang, "themeId": theme}})},
		{"matters/keyword", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"keyword": "身份证"}})},
		{"matters/region+keyword", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"regionCode": zhejiang, "keyword": "身份证"}})},
		{"matters/onlineOnly", gqlBody(b, pageQuery, map[string]any{"filter": map[string]any{"onlineOnly": true}})},
	}
	for _, dim := range dimensions {
		cases = append(cases,
			httpCase{"navigation/" + string(dim) + "/all", gqlBody(b, navQuery, map[string]any{"dim": string(dim)})},
			httpCase{"navigation/" + string(dim) + "/region=province", gqlBody(b, navQuery, map[string]any{"dim": string(dim), "region": zhejiang})})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if err := post(client, url, c.body); err != nil {
				b.Fatal(err)
			}
			for _, mode := range cacheModes {
				b.Run(mode.name, func(b *testing.B) {
					timed(b, func() error {
						mode.before(scale.app)
						return post(client, url, c.body)
					})
				})
			}
		})
	}
}
