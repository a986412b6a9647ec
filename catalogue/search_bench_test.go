package catalogue_test

// Search benchmarks (issue 3, "Numbers"), on the same 100,000 synthetic
// matters plus the demo catalogue as the scale benchmarks:
//
//	go test -run '^$' -bench 'ScaleSearch' -benchtime=200x ./catalogue/
//
// BenchmarkScaleSearchTerms: p95 under 15 ms for 1–4 term queries.
// BenchmarkScaleSearchVsLike: the same keywords through the index and
// through a SQL LIKE '%…%' scan of the same rows, side by side, with the
// speed-up reported (at least 20×).
// BenchmarkScaleSearchRebuild: rebuilding the whole index (under 60 s).
// BenchmarkScaleSearchFreshness: commit to searchable (under 1 s).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/catalogue"
	"govmobile/search"
)

// scaleSearch is scaleApp with the index caught up on every matter.
func scaleSearch(b *testing.B) *app.App {
	a := scaleApp(b)
	ctx := context.Background()
	if err := a.Search.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	for {
		n, err := a.Search.CatchUp(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return a
		}
	}
}

// termQueries are what citizens type, by number of words.
var termQueries = map[int][]string{
	1: {"社保卡", "公积金", "税", "驾照", "护照", "shebaoka", "sbk", "营业执照", "低保", "结婚"},
	2: {"杭州 公积金", "身份证 补办", "社保卡 丢失", "北京 护照", "企业 注销", "广州 个体户", "驾驶证 换证", "医保 转移", "食品 许可", "教师 资格"},
	3: {"杭州 西湖 公积金", "上海 浦东 社保卡", "身份证 丢了 补办", "企业 设立 登记", "公积金 提取 租房", "驾驶证 到期 换证", "北京 东城 护照", "成都 武侯 低保", "施工 许可 核发", "武汉 江岸 结婚"},
	4: {"浙江 杭州 西湖 公积金", "广东 广州 天河 社保卡", "身份证 丢了 怎么 补办", "企业 设立 登记 营业执照", "公积金 提取 租房 材料", "机动车 驾驶证 到期 换证", "北京 东城 普通 护照", "四川 成都 武侯 低保", "建筑 工程 施工 许可", "湖北 武汉 江岸 结婚"},
}

func BenchmarkScaleSearchTerms(b *testing.B) {
	a := scaleSearch(b)
	ctx := context.Background()
	for terms := 1; terms <= 4; terms++ {
		for _, facets := range []bool{false, true} {
			name := fmt.Sprintf("terms=%d", terms)
			if facets {
				name += "/facets"
			}
			b.Run(name, func(b *testing.B) {
				qs := termQueries[terms]
				i := 0
				timed(b, func() error {
					q := qs[i%len(qs)]
					i++
					res, err := a.Search.Search(ctx, search.Request{Query: q, First: 20, Facets: facets, NoLog: true})
					if err == nil && res.Total == 0 {
						err = fmt.Errorf("%q found nothing", q)
					}
					return err
				})
			})
		}
	}
}

// BenchmarkScaleSearchEachQuery times every query of termQueries on its
// own (ns/op per query, no facets), to find the slow ones.
func BenchmarkScaleSearchEachQuery(b *testing.B) {
	a := scaleSearch(b)
	ctx := context.Background()
	for terms := 1; terms <= 4; terms++ {
		for _, q := range termQueries[terms] {
			b.Run(strings.ReplaceAll(q, " ", "_"), func(b *testing.B) {
				var total int
				for i := 0; i < b.N; i++ {
					res, err := a.Search.Search(ctx, search.Request{Query: q, First: 20, NoLog: true})
					if err != nil {
						b.Fatal(err)
					}
					total = res.Total
				}
				b.ReportMetric(float64(total), "hits")
			})
		}
	}
}

// BenchmarkScaleSearchVsLike times every keyword both ways in one run: the
// matter list's keyword on the index, and the same filter as the LIKE scan
// the list used before (count and first page, as matters(first: 20) with
// totalCount asks).
func BenchmarkScaleSearchVsLike(b *testing.B) {
	a := scaleSearch(b)
	ctx := context.Background()
	var keywords []string
	for terms := 1; terms <= 2; terms++ {
		for _, q := range termQueries[terms] {
			if !strings.ContainsAny(q, "abcdefghijklmnopqrstuvwxyz") { // LIKE cannot do pinyin
				keywords = append(keywords, q)
			}
		}
	}
	var idx, like []time.Duration
	for n := 0; n < max(1, b.N/len(keywords)); n++ {
		for _, kw := range keywords {
			f := catalogue.MatterFilter{Keyword: kw}
			t0 := time.Now()
			if _, err := a.Catalogue.Matters(ctx, f, catalogue.MatterOrder{Field: catalogue.OrderByRelevance, Desc: true}, 20, "", true); err != nil {
				b.Fatal(err)
			}
			idx = append(idx, time.Since(t0))
			t0 = time.Now()
			if _, err := a.Catalogue.ListMatters(ctx, f, catalogue.DefaultMatterOrder, 20, nil, true); err != nil {
				b.Fatal(err)
			}
			like = append(like, time.Since(t0))
			// The count is cached per catalogue generation; every LIKE
			// timing must scan, as the first request after a write does.
			a.Catalogue.Changed()
		}
	}
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Millisecond)
	}
	p95 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[int(float64(len(d)-1)*0.95)]) / float64(time.Millisecond)
	}
	b.ReportMetric(med(idx), "index-p50-ms")
	b.ReportMetric(p95(idx), "index-p95-ms")
	b.ReportMetric(med(like), "like-p50-ms")
	b.ReportMetric(p95(like), "like-p95-ms")
	b.ReportMetric(med(like)/med(idx), "speedup-x")
}

func BenchmarkScaleSearchRebuild(b *testing.B) {
	a := scaleSearch(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := a.Search.Rebuild(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "rebuild-s")
	}
	n, _ := a.Search.DocCount()
	b.ReportMetric(float64(n), "docs")
}

// BenchmarkScaleSearchFreshness: a committed change, then searches until it
// is found; the time from commit to first finding.
func BenchmarkScaleSearchFreshness(b *testing.B) {
	a := scaleSearch(b)
	ctx := context.Background()
	page, err := a.Catalogue.ListMatters(ctx, catalogue.MatterFilter{RegionCode: hangzhou}, catalogue.DefaultMatterOrder, 1, nil, false)
	if err != nil || len(page.Matters) == 0 {
		b.Fatal("no matter to update", err)
	}
	m := page.Matters[0]
	defer func() { _ = a.Catalogue.UpdateMatterText(ctx, m.ID, m.Name, m.Summary, m.Aliases) }()
	timed(b, func() error {
		word := fmt.Sprintf("量子通行证%d", time.Now().UnixNano()%100000)
		if err := a.Catalogue.UpdateMatterText(ctx, m.ID, word+"签发", m.Summary, m.Aliases); err != nil {
			return err
		}
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			res, err := a.Search.Search(ctx, search.Request{Query: word, First: 1, NoLog: true})
			if err != nil {
				return err
			}
			if len(res.Hits) > 0 && res.Hits[0].ID == m.ID {
				return nil
			}
			time.Sleep(time.Millisecond)
		}
		return fmt.Errorf("%s not searchable within 1 s", word)
	})
}
