package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"govmobile/app"
	"govmobile/identity"
	"govmobile/models"
)

// Rate limits across replicas (issue 10): two servers on one Redis give a
// client one budget, not one per server; a server whose Redis is away
// keeps serving, limits in-process and says so on /readyz. The shared case
// needs a Redis:
//
//	TEST_REDIS_URL=redis://127.0.0.1:6379/15 go test -count=1 -v -run 'TestRateLimitsShared' ./app/

// sharedLimitsConfig is a replica behind the load balancer on loopback,
// with a limit of 2 requests a second (a burst of 4) per client address.
func sharedLimitsConfig(redisURL string) func(*app.Config) {
	return func(c *app.Config) {
		c.RedisURL = redisURL
		c.RateIPPerSecond = 2
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
}

// typename asks for __typename as the client at ip.
func typename(t *testing.T, b *backend, ip string) *gqlResponse {
	return b.post(t, []byte(`{"query":"{ __typename }"}`), map[string]string{"X-Forwarded-For": ip})
}

// readyz is GET /readyz, decoded.
func readyz(t *testing.T, b *backend) (int, struct {
	Ready    bool                      `json:"ready"`
	Degraded bool                      `json:"degraded"`
	Checks   map[string]string         `json:"checks"`
	Details  map[string]map[string]any `json:"details"`
}) {
	t.Helper()
	st, _, body := b.get(t, "/readyz")
	var r struct {
		Ready    bool                      `json:"ready"`
		Degraded bool                      `json:"degraded"`
		Checks   map[string]string         `json:"checks"`
		Details  map[string]map[string]any `json:"details"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz: %v: %s", err, body)
	}
	return st, r
}

func TestRateLimitsShared(t *testing.T) {
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("TEST_REDIS_URL not set (e.g. redis://127.0.0.1:6379/15)")
	}
	names := []string{"sqlite"}
	if os.Getenv("TEST_MYSQL_DSN") != "" {
		names = append(names, "mysql")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			replicas := []*backend{
				isolatedBackend(t, name, "rlshared_a", sharedLimitsConfig(redisURL)),
				isolatedBackend(t, name, "rlshared_b", sharedLimitsConfig(redisURL)),
			}
			for _, b := range replicas {
				st, r := readyz(t, b)
				if st != 200 || r.Checks["rateLimitStore"] != "ok" || r.Degraded || r.Details["rateLimitStore"]["counting"] != "shared" {
					t.Fatalf("/readyz with Redis up: %d %+v", st, r)
				}
				if _, _, m := b.get(t, "/metrics"); !strings.Contains(m, "govmobile_ratelimit_shared_available 1") {
					t.Fatal("/metrics: govmobile_ratelimit_shared_available is not 1")
				}
			}
			// A client address no other run uses: its cells in Redis expire
			// within 2 s of the test.
			ip := fmt.Sprintf("198.18.%d.%d", rand.IntN(256), 1+rand.IntN(254))
			allowed, refused := 0, 0
			var perReplica [2]int
			for i := range 16 {
				b := replicas[i%2]
				r := typename(t, b, ip)
				switch r.Status {
				case http.StatusOK:
					allowed++
					perReplica[i%2]++
				case http.StatusTooManyRequests:
					refused++
					if r.code() != models.ECodeRateLimited {
						t.Fatalf("429 with code %q", r.code())
					}
					if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 2 {
						t.Fatalf("Retry-After %q; want 1 s (a token every 500 ms)", r.Header.Get("Retry-After"))
					}
				default:
					t.Fatalf("request %d on replica %d: %d %s", i, i%2, r.Status, r.Raw)
				}
			}
			// One burst of 4 (perhaps a token more if the 16 requests took
			// over 500 ms); two burst-sized budgets would have let 8 through.
			if allowed < 4 || allowed > 5 {
				t.Fatalf("%d of 16 requests split across two replicas allowed (%d on A, %d on B); the shared burst is 4", allowed, perReplica[0], perReplica[1])
			}
			// Another client is not limited by the first one's budget.
			if r := typename(t, replicas[1], "198.51.100.9"); r.Status != http.StatusOK {
				t.Fatalf("another client: %d", r.Status)
			}
			t.Logf("16 requests alternating between 2 replicas: %d allowed (%d on A, %d on B), %d refused with RATE_LIMITED", allowed, perReplica[0], perReplica[1], refused)
		})
	}
}

// A replica whose Redis does not answer starts and serves: limits count in
// this process, /readyz stays 200 and reports the store as degraded.
func TestRateLimitsSharedStoreDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	b := isolatedBackend(t, "sqlite", "rlshared_down", sharedLimitsConfig("redis://"+addr+"/0"))
	st, r := readyz(t, b)
	if st != 200 || !r.Ready || !r.Degraded || r.Checks["rateLimitStore"] != "degraded" || r.Checks["database"] != "ok" ||
		r.Details["rateLimitStore"]["counting"] != "local" {
		t.Fatalf("/readyz with Redis down: %d %+v", st, r)
	}
	if _, _, m := b.get(t, "/metrics"); !strings.Contains(m, "govmobile_ratelimit_shared_available 0") {
		t.Fatal("/metrics: govmobile_ratelimit_shared_available is not 0")
	}
	allowed := 0
	for range 10 {
		r := typename(t, b, "203.0.113.77")
		switch {
		case r.Status == http.StatusOK:
			allowed++
		case r.Status != http.StatusTooManyRequests || r.code() != models.ECodeRateLimited || r.Header.Get("Retry-After") == "":
			t.Fatalf("with Redis down: %d %s", r.Status, r.Raw)
		}
	}
	if allowed < 4 || allowed > 5 {
		t.Fatalf("%d of 10 allowed in-process; the burst is 4", allowed)
	}
}

func TestRedisURLRefused(t *testing.T) {
	a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), Logger: quietLogger(), SkipDemo: true,
		RedisURL: "http://:s3cret@127.0.0.1:6379"})
	if err == nil {
		a.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "--redis-url") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a malformed REDIS_URL: %v", err)
	}
}

// Login lockouts count across replicas without Redis: the failures are
// counted in the database, one atomic statement a try
// (identity.reserveAttempt), so tries split across two servers on one
// database lock the account after MaxFailures in all.
func TestLoginLockoutAcrossReplicas(t *testing.T) {
	eachIsolated(t, "lockout_replicas", nil, func(t *testing.T, a *backend) {
		b := replicaOf(t, a, func(*app.Config) {})
		in := person(t)
		a.register(t, in)
		user := in["username"].(string)
		for i := range identity.MaxFailures {
			r := login(t, []*backend{a, b}[i%2], user, "Wrong-Passw0rd")
			if r.code() != models.ECodeUnauthenticated {
				t.Fatalf("failure %d answered %s", i+1, r.Raw)
			}
		}
		for _, r := range []*backend{a, b} {
			expectCode(t, login(t, r, user, in["password"].(string)), models.ECodeRateLimited)
		}
	})
}
