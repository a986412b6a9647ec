package app_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/models"
)

// TestLoadMix (issue 9) drives a realistic mix against the server over
// loopback HTTP: the home page, navigation, search, a matter's guide, my
// cases, submissions and ratings of apps, from CONNS concurrent citizens
// (default 64) for DURATION (default 60s). It reports requests, errors and
// the p50/p95/p99 of each kind, and fails on any error. It runs only when
// GOVMOBILE_LOAD=1 (bench/loadmix.sh); TEST_MYSQL_DSN measures MariaDB.
func TestLoadMix(t *testing.T) {
	if os.Getenv("GOVMOBILE_LOAD") == "" {
		t.Skip("GOVMOBILE_LOAD not set (bench/loadmix.sh sets it)")
	}
	duration, err := time.ParseDuration(envOr("DURATION", "60s"))
	if err != nil {
		t.Fatal(err)
	}
	conns, _ := strconv.Atoi(envOr("CONNS", "64"))
	// Keep-alive connections for every client, as a real front end has.
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = conns
	// A server of its own, configured as the binary's defaults configure
	// production: the public response cache on (--response-cache-mb 32);
	// rate limits off, since one address sends everything. MariaDB when
	// configured.
	name := "sqlite"
	if os.Getenv("TEST_MYSQL_DSN") != "" {
		name = "mysql"
	}
	b := isolatedBackend(t, name, "load", func(c *app.Config) { c.ResponseCacheBytes = 32 << 20 })
	t.Logf("backend %s, %d clients, %s", b.name, conns, duration)

	var matters []models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Order("popularity DESC").Limit(200).Find(&matters).Error; err != nil || len(matters) == 0 {
		t.Fatalf("matters: %v", err)
	}
	var apps []models.App
	if err := b.app.DB.Where("status = ?", "ONLINE").Find(&apps).Error; err != nil {
		t.Fatal(err)
	}
	tickets := make([]string, conns)
	for i := range tickets {
		tickets[i] = b.register(t, person(t)).Ticket
	}
	terms := []string{"营业执照", "社保卡", "公积金", "驾照", "上户口", "低保", "护照", "结婚登记", "杭州 公积金", "不动产"}

	type op struct {
		name   string
		weight int
		run    func(rng *rand.Rand, ticket string, rated map[uint64]bool) *gqlResponse
	}
	ops := []op{
		{"home", 25, func(rng *rand.Rand, ticket string, _ map[uint64]bool) *gqlResponse {
			return b.gql(t, ticket, `query { navigation(dimension: THEME, regionCode: "330100") { key name count }
				matters(first: 20, filter: { regionCode: "330100" }) { totalCount edges { node { id name agency { name } } } } }`, nil)
		}},
		{"navigation", 10, func(rng *rand.Rand, ticket string, _ map[uint64]bool) *gqlResponse {
			return b.gql(t, ticket, `query { navigation(dimension: AGENCY, regionCode: "110000") { key name count } }`, nil)
		}},
		{"search", 20, func(rng *rand.Rand, ticket string, _ map[uint64]bool) *gqlResponse {
			return b.gql(t, ticket, `query($q: String!) { search(query: $q, first: 10) { totalCount edges { node { title } } } }`,
				map[string]any{"q": terms[rng.IntN(len(terms))]})
		}},
		{"matter", 20, func(rng *rand.Rand, ticket string, _ map[uint64]bool) *gqlResponse {
			m := matters[rng.IntN(len(matters))]
			return b.gql(t, ticket, `query($id: ID!) { matter(id: $id) { id name guide { conditions materials { name } process { name } fees { name } } halls { name } } }`,
				map[string]any{"id": gid("Matter", m.ID)})
		}},
		{"myCases", 15, func(rng *rand.Rand, ticket string, _ map[uint64]bool) *gqlResponse {
			return b.gql(t, ticket, `query { myCases(first: 20) { totalCount edges { node { id number status } } } }`, nil)
		}},
		{"submit", 7, func(rng *rand.Rand, ticket string, _ map[uint64]bool) *gqlResponse {
			m := matters[rng.IntN(len(matters))]
			return b.gql(t, ticket, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
				map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm,
					"idempotencyKey": fmt.Sprintf("load-%d", rng.Int64())}})
		}},
		{"evaluate", 3, func(rng *rand.Rand, ticket string, rated map[uint64]bool) *gqlResponse {
			// A citizen rates each app once; when they have rated every
			// app, they read an app's evaluations instead.
			for _, a := range apps {
				if !rated[a.ID] {
					rated[a.ID] = true
					return b.gql(t, ticket, `mutation($in: EvaluateAppInput!) { evaluateApp(input: $in) { evaluation { id } } }`,
						map[string]any{"in": map[string]any{"appId": gid("App", a.ID), "evaluation": map[string]any{"level": "SATISFIED"}}})
				}
			}
			return b.gql(t, ticket, `query { myEvaluations(first: 10) { totalCount } }`, nil)
		}},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}

	type sample struct {
		op  int
		dur time.Duration
		err string
	}
	var (
		mu      sync.Mutex
		samples []sample
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			rated := map[uint64]bool{}
			var mine []sample
			for !stop.Load() {
				pick := rng.IntN(total)
				i := 0
				for ; pick >= ops[i].weight; i++ {
					pick -= ops[i].weight
				}
				t0 := time.Now()
				r := ops[i].run(rng, tickets[w], rated)
				s := sample{op: i, dur: time.Since(t0)}
				if r.Status != 200 || len(r.Errors) > 0 {
					s.err = fmt.Sprintf("%d %.200s", r.Status, r.Raw)
				}
				mine = append(mine, s)
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(duration)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)

	pct := func(ds []time.Duration, p float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		return ds[min(len(ds)-1, int(float64(len(ds))*p))]
	}
	var all []time.Duration
	errors := 0
	for i, o := range ops {
		var ds []time.Duration
		for _, s := range samples {
			if s.op == i {
				ds = append(ds, s.dur)
			}
		}
		slices.Sort(ds)
		t.Logf("%-10s %7d requests  p50 %6.1f ms  p95 %6.1f ms  p99 %6.1f ms", o.name, len(ds),
			ms(pct(ds, .50)), ms(pct(ds, .95)), ms(pct(ds, .99)))
		all = append(all, ds...)
	}
	for _, s := range samples {
		if s.err != "" {
			if errors < 5 {
				t.Logf("error in %s: %s", ops[s.op].name, s.err)
			}
			errors++
		}
	}
	slices.Sort(all)
	t.Logf("all        %7d requests in %.1f s (%.0f/s), %d errors  p50 %.1f ms  p95 %.1f ms  p99 %.1f ms",
		len(all), elapsed.Seconds(), float64(len(all))/elapsed.Seconds(), errors, ms(pct(all, .50)), ms(pct(all, .95)), ms(pct(all, .99)))
	if errors > 0 {
		t.Fatalf("%d of %d requests failed", errors, len(all))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
