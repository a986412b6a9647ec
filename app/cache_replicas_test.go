package app_test

// Issue 10: nothing that only works on one replica remains. Two servers on
// one MariaDB database and one message bus, each with its response cache,
// its catalogue aggregates and first pages, and its own search index
// (polled only once an hour here, so that only the bus can wake it). A
// public catalogue page served — and so cached — by replica B shows a
// change an administrator makes through replica A within a second (the
// bar; it was 30 s for the aggregates and 1 min for the response cache
// before catalogue changes crossed the bus), and the change is searchable
// on B at once. Without the bus, B's staleness is bounded by the response
// cache's TTL, as docs/deployment.md says; when B's bus comes back after an
// outage, B drops what it kept at once.
//
//	TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/govmobile_test' TEST_NATS_URL=nats://127.0.0.1:4222 \
//	TEST_REDIS_URL=redis://127.0.0.1:6379/13 go test -count=1 -v -run 'TestCache' ./app/

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/internal/faultproxy"
	"govmobile/models"
	"govmobile/permission"
)

// catalogueReplicas is a writing replica A, a reading replica B on the same
// database, and the matter the administrator edits.
type catalogueReplicas struct {
	a, b  *backend
	admin string // ManageCatalogue in the matter's province, on A
	file  map[string]any
	item  map[string]any // the edited matter, as exported
	// natures are the matter's nature and another one: the rounds
	// alternate them, so that navigation counts change too.
	natures [2]string
	query   []byte // a public query on the matter's page, its list and the navigation
}

// startCatalogueReplicas starts A on the bus (setBusA) and B (setBusB);
// both keep public responses in their caches.
func startCatalogueReplicas(t *testing.T, suffix string, setBusA, setBusB func(*app.Config)) *catalogueReplicas {
	t.Helper()
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	prefix := "govmobile-test-" + hex.EncodeToString(nonce[:])
	r := &catalogueReplicas{}
	r.a = isolatedBackend(t, "mysql", suffix, func(c *app.Config) {
		setBusA(c)
		c.BusPrefix, c.ResponseCacheBytes = prefix, 8<<20
	})
	r.b = replicaOf(t, r.a, func(c *app.Config) {
		setBusB(c)
		c.BusPrefix, c.ResponseCacheBytes = prefix, 8<<20
	})
	r.admin = r.a.scopedAdmin(t, "330000", 0, permission.ManageCatalogue)
	st, raw := r.a.exchangeCall(t, r.admin, "GET", "/catalogue/export?kind=MATTER&format=JSON", nil)
	if st != 200 {
		t.Fatalf("export: %d %s", st, raw)
	}
	if err := json.Unmarshal(raw, &r.file); err != nil {
		t.Fatal(err)
	}
	items, _ := r.file["items"].([]any)
	if len(items) < 2 {
		t.Fatalf("export: %d matters", len(items))
	}
	r.item = items[0].(map[string]any)
	r.natures[0], _ = r.item["nature"].(string)
	for _, it := range items {
		if n, _ := it.(map[string]any)["nature"].(string); n != r.natures[0] {
			r.natures[1] = n
			break
		}
	}
	if r.natures[1] == "" {
		t.Fatal("every exported matter has the same nature")
	}
	var ag models.Agency
	if err := r.a.app.DB.Where("code = ?", r.item["agencyCode"]).Take(&ag).Error; err != nil {
		t.Fatal(err)
	}
	r.query, _ = json.Marshal(map[string]any{
		"query": `query($c: String!, $ag: ID!) {
			matter(code: $c) { summary nature }
			matters(first: 50, filter: {agencyId: $ag}) { totalCount edges { node { code summary } } }
			navigation(dimension: NATURE, regionCode: "330000") { key count } }`,
		"variables": map[string]any{"c": r.item["code"], "ag": gid("Agency", ag.ID)}})
	if first := r.page(t, r.b); !bytes.Contains(first.Raw, []byte(`"code":"`+r.item["code"].(string)+`"`)) {
		t.Fatalf("the matter is not on its agency's first page: %.300s", first.Raw)
	}
	return r
}

// page asks replica x the public query.
func (r *catalogueReplicas) page(t *testing.T, x *backend) *gqlResponse {
	t.Helper()
	res := x.post(t, r.query, nil)
	if len(res.Errors) > 0 {
		t.Fatalf("public query: %s", res.Raw)
	}
	return res
}

// cached makes sure B answers the query from its response cache.
func (r *catalogueReplicas) cached(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.page(t, r.b).Header.Get("X-Cache") != "hit" {
		if time.Now().After(deadline) {
			t.Fatal("replica B does not serve the public query from its cache")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// edit changes the matter's summary to one naming token, and its nature,
// through replica A, and returns A's answer to the query afterwards (A
// reads its own write) and when A answered the change.
func (r *catalogueReplicas) edit(t *testing.T, round int, token string) ([]byte, time.Time) {
	t.Helper()
	item := map[string]any{}
	for k, v := range r.item {
		item[k] = v
	}
	item["summary"] = "跨副本缓存测试：" + token + "。"
	item["nature"] = r.natures[round%2]
	file := map[string]any{}
	for k, v := range r.file {
		file[k] = v
	}
	file["items"] = []any{item}
	body, _ := json.Marshal(file)
	st, raw := r.a.exchangeCall(t, r.admin, "POST", "/catalogue/import?kind=MATTER&format=JSON", body)
	done := time.Now()
	var rep importReport
	if st != 200 || json.Unmarshal(raw, &rep) != nil || !rep.Applied || rep.Updated != 1 {
		t.Fatalf("import on A: %d %s", st, raw)
	}
	fresh := r.page(t, r.a)
	if !bytes.Contains(fresh.Raw, []byte(token)) {
		t.Fatalf("replica A does not read its own write: %.300s", fresh.Raw)
	}
	return fresh.Data, done
}

// fresh reports whether B's answer is A's.
func (r *catalogueReplicas) fresh(t *testing.T, want []byte) bool {
	return bytes.Equal(r.page(t, r.b).Data, want)
}

// searchable reports whether B's search index finds token.
func (r *catalogueReplicas) searchable(t *testing.T, token string) bool {
	var out struct{ Search struct{ TotalCount int } }
	r.b.gql(t, "", `query($q: String!) { search(query: $q, first: 5) { totalCount } }`, map[string]any{"q": token}).decode(t, &out)
	return out.Search.TotalCount > 0
}

// token is a fresh word for a summary: random letters, far from every
// other token (the index matches a word one or two letters off too).
func (r *catalogueReplicas) token() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "kc" + letters(int(b[0])|int(b[1])<<8|int(b[2])<<16|int(b[3]&0x3f)<<24)
}

// letters spells n in lower-case letters: tokens without digits, which the
// index keeps whole.
func letters(n int) string {
	s := ""
	for {
		s = string(rune('a'+n%26)) + s
		n /= 26
		if n == 0 {
			return s
		}
	}
}

// TestCacheAcrossReplicas: a change made through A reaches B's cached
// public answers and B's search index within the bus's latency.
func TestCacheAcrossReplicas(t *testing.T) {
	buses := sharedBuses(t)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range buses {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			setBus := func(c *app.Config) { buses[name](c, "") }
			r := startCatalogueReplicas(t, "cache_"+name, setBus, setBus)
			const rounds = 20
			var took, found []time.Duration
			for i := range rounds {
				// B has moved on once more a second after the last change
				// (catalogue settleDelay); then it serves from its cache.
				time.Sleep(1200 * time.Millisecond)
				r.cached(t)
				token := r.token()
				want, start := r.edit(t, i, token)
				for !r.fresh(t, want) {
					if time.Since(start) > 5*time.Second {
						t.Fatalf("round %d: replica B still answers %.300s, 5 s after the change on A", i, r.page(t, r.b).Raw)
					}
					time.Sleep(5 * time.Millisecond)
				}
				took = append(took, time.Since(start))
				// B's index is polled once an hour: only the event wakes it.
				for !r.searchable(t, token) {
					if time.Since(start) > 5*time.Second {
						t.Fatalf("round %d: %s not searchable on replica B 5 s after the change on A", i, token)
					}
					time.Sleep(5 * time.Millisecond)
				}
				found = append(found, time.Since(start))
			}
			p95 := logQuantiles(t, name+": change on A → B's cached public answer fresh", took)
			if p95 > time.Second {
				t.Errorf("%s: p95 %v, over the 1 s bar", name, p95)
			}
			if p95 := logQuantiles(t, name+": change on A → searchable on B (B's poll: 1 h)", found); p95 > 2*time.Second {
				t.Errorf("%s: search on B p95 %v, over the 2 s bar", name, p95)
			}
		})
	}
}

// TestCacheStalenessWithoutBus: B hears nothing of A's change while its
// bus is down, so it serves what it kept — for no longer than the response
// cache's TTL (1 min; docs/deployment.md "Caches") — and drops it as soon
// as its bus is back.
func TestCacheStalenessWithoutBus(t *testing.T) {
	buses := sharedBuses(t)
	name := "nats"
	if buses[name] == nil {
		name = "redis"
	}
	proxy := faultproxy.Start(t, busHost(t, name))
	r := startCatalogueReplicas(t, "cache_down", func(c *app.Config) { buses[name](c, "") },
		func(c *app.Config) { buses[name](c, proxy.Addr()) })

	// The bus comes back: B drops what it kept at once.
	time.Sleep(1200 * time.Millisecond)
	r.cached(t)
	proxy.Down()
	waitFor(t, func() bool { return !r.b.app.Broker.Available() })
	want, _ := r.edit(t, 1, r.token())
	time.Sleep(2 * time.Second)
	if r.fresh(t, want) {
		t.Fatal("replica B is fresh with its bus down: the test does not exercise B's caches")
	}
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for !r.fresh(t, want) {
		if time.Since(back) > 5*time.Second {
			t.Fatal("replica B still stale 5 s after its bus came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s: replica B fresh %v after its bus came back (it uses the bus again within the bus's probe interval, 1 s)",
		name, time.Since(back).Round(time.Millisecond))

	if testing.Short() {
		t.Skip("-short: the bus down for a whole TTL takes a minute")
	}
	// The bus stays down: B's staleness is bounded by the TTL.
	waitFor(t, r.b.app.Broker.Available)
	time.Sleep(1200 * time.Millisecond)
	r.cached(t)
	proxy.Down()
	waitFor(t, func() bool { return !r.b.app.Broker.Available() })
	cachedAt := time.Now() // no later than the entry B serves
	want, changed := r.edit(t, 0, r.token())
	for !r.fresh(t, want) {
		if time.Since(cachedAt) > 95*time.Second {
			t.Fatal("replica B still stale 95 s after it cached its answer (documented bound: 1 min, 90 s for list pages)")
		}
		time.Sleep(250 * time.Millisecond)
	}
	stale := time.Since(changed)
	t.Logf("%s: with B's bus down, B's answer stale for %v after the change (%v after it was cached; response cache TTL 1 min)",
		name, stale.Round(time.Millisecond), time.Since(cachedAt).Round(time.Millisecond))
	if time.Since(cachedAt) > time.Minute+5*time.Second {
		t.Errorf("stale for longer than the response cache's TTL")
	}
}

// logQuantiles logs the median, 95th percentile and maximum of took and
// returns the 95th percentile.
func logQuantiles(t *testing.T, what string, took []time.Duration) time.Duration {
	t.Helper()
	slices.Sort(took)
	p50, p95, max := took[len(took)/2], took[len(took)*95/100], took[len(took)-1]
	t.Logf("%s: %d changes, p50 %v, p95 %v, max %v", what, len(took), p50.Round(100*time.Microsecond),
		p95.Round(100*time.Microsecond), max.Round(100*time.Microsecond))
	return p95
}
