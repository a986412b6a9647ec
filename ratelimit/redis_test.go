package ratelimit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"govmobile/internal/faultproxy"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis store's tests run against a real Redis when TEST_REDIS_URL is
// set (.ci/run sets it):
//
//	TEST_REDIS_URL=redis://127.0.0.1:6379/15 go test -count=1 -v -run Redis ./ratelimit/
//
// Each test writes under a prefix of its own and deletes it at the end.

// testRedis is the Redis under test, or a skip.
func testRedis(t *testing.T) *redis.Options {
	t.Helper()
	raw := os.Getenv("TEST_REDIS_URL")
	if raw == "" {
		t.Skip("TEST_REDIS_URL not set (e.g. redis://127.0.0.1:6379/15)")
	}
	opt, err := ParseRedisURL(raw)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	tune(opt)
	return opt
}

// testPrefix is a key prefix no other test run uses; its keys are deleted
// when the test ends.
func testPrefix(t *testing.T, opt *redis.Options) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "govmobile-test:" + hex.EncodeToString(b[:]) + ":"
	admin := redis.NewClient(opt)
	t.Cleanup(func() {
		defer admin.Close()
		keys, _ := admin.Keys(context.Background(), "rate:"+prefix+"*").Result()
		if len(keys) > 0 {
			admin.Del(context.Background(), keys...)
		}
	})
	return prefix
}

// keys counts the prefix's cells in Redis.
func keys(t *testing.T, opt *redis.Options, prefix string) []string {
	t.Helper()
	admin := redis.NewClient(opt)
	defer admin.Close()
	var all []string
	iter := admin.Scan(context.Background(), 0, "rate:"+prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		all = append(all, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return all
}

func openStore(t *testing.T, opt *redis.Options, o RedisOptions) *Redis {
	t.Helper()
	c := *opt
	s := NewRedis(redis.NewClient(&c), o)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRedisBurstRefuseRefill(t *testing.T) {
	opt := testRedis(t)
	s := openStore(t, opt, RedisOptions{Prefix: testPrefix(t, opt)})
	if !s.Available() {
		t.Fatal("a Redis that answers is unavailable")
	}
	l := s.Limiter(5, 10)
	for i := range 10 {
		if ok, _ := l.Allow("ip:a"); !ok {
			t.Fatalf("call %d within the burst of 10 refused", i)
		}
	}
	ok, wait := l.Allow("ip:a")
	if ok || wait <= 0 || wait > 200*time.Millisecond+20*time.Millisecond {
		t.Fatalf("over the burst: allowed %v, retry after %v (want ≤ 200 ms, one token at 5/s)", ok, wait)
	}
	if ok, _ := l.Allow("ip:b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	for range 50 {
		l.Allow("ip:a") // refused: must not push the next token further away
	}
	time.Sleep(wait + 10*time.Millisecond)
	if ok, w := l.Allow("ip:a"); !ok {
		t.Fatalf("no token after the wait it was told (%v), told %v now", wait, w)
	}
	if ok, _ := l.Allow("ip:a"); ok {
		t.Fatal("two tokens after one token's wait")
	}
	t.Logf("over the burst: retry after %v", wait)
}

func TestRedisFractionalRate(t *testing.T) {
	opt := testRedis(t)
	s := openStore(t, opt, RedisOptions{Prefix: testPrefix(t, opt)})
	l := s.Limiter(2.5, 1) // one every 400 ms
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("first call refused")
	}
	ok, wait := l.Allow("k")
	if ok || wait < 300*time.Millisecond || wait > 400*time.Millisecond {
		t.Fatalf("second call: allowed %v, retry after %v (want ≈ 400 ms)", ok, wait)
	}
	if ok, _ := s.Limiter(0, 0).Allow("k"); !ok {
		t.Fatal("a limiter turned off refused")
	}
}

// Two stores on one Redis are two replicas: together they allow one burst,
// not two.
func TestRedisReplicasCountTogether(t *testing.T) {
	opt := testRedis(t)
	prefix := testPrefix(t, opt)
	a := openStore(t, opt, RedisOptions{Prefix: prefix}).Limiter(2, 20)
	b := openStore(t, opt, RedisOptions{Prefix: prefix}).Limiter(2, 20)
	allowed := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range []Limiter{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				if ok, _ := l.Allow("ip:shared"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	// 60 calls within well under a second: the burst of 20, and at 2/s
	// perhaps one more token.
	if allowed < 20 || allowed > 21 {
		t.Fatalf("two replicas allowed %d of 60 calls; one shared burst is 20", allowed)
	}
	t.Logf("two replicas, 60 concurrent calls: %d allowed (burst 20)", allowed)
}

// A flood of new keys leaves cells that expire once their buckets would be
// full again: Redis holds only the flood's last seconds.
func TestRedisKeyFloodExpires(t *testing.T) {
	opt := testRedis(t)
	prefix := testPrefix(t, opt)
	l := openStore(t, opt, RedisOptions{Prefix: prefix}).Limiter(50, 100)
	const n = 2000
	for i := range n {
		l.Allow("ip:198.18." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256))
	}
	cells := keys(t, opt, prefix+"ip:")
	if len(cells) != n {
		t.Fatalf("%d cells for %d keys", len(cells), n)
	}
	admin := redis.NewClient(opt)
	defer admin.Close()
	ttl, err := admin.PTTL(context.Background(), cells[0]).Result()
	if err != nil || ttl <= 0 || ttl > 2*time.Second {
		t.Fatalf("a cell's TTL is %v (%v); want > 0 and ≤ burst/rate = 2 s", ttl, err)
	}
	start := time.Now()
	deadline := start.Add(5 * time.Second)
	for len(keys(t, opt, prefix+"ip:")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d cells still in Redis 5 s later", len(keys(t, opt, prefix+"ip:")), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d keys: %d cells, TTL %v, all gone within %v", n, n, ttl, time.Since(start).Round(10*time.Millisecond))
}

// Redis going away (connections cut, then refused; or a Redis that stops
// answering) never fails or stalls a request: limits count in-process,
// the outage is logged once, and the store goes back to Redis by itself.
func TestRedisDownFallbackRecovery(t *testing.T) {
	opt := testRedis(t)
	prefix := testPrefix(t, opt)
	proxy := faultproxy.Start(t, opt.Addr)
	via := *opt
	via.Addr = proxy.Addr()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := openStore(t, &via, RedisOptions{Prefix: prefix, ProbeInterval: 100 * time.Millisecond, Logger: log})
	l := s.Limiter(1, 3)
	admin := redis.NewClient(opt)
	defer admin.Close()
	if ok, _ := l.Allow("ip:x"); !ok || !s.Available() {
		t.Fatal("first call through Redis refused")
	}
	if n, _ := admin.Exists(context.Background(), "rate:"+prefix+"ip:x").Result(); n != 1 {
		t.Fatal("the call left no cell in Redis")
	}

	for _, mode := range []string{"cut", "stall"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "cut" {
				proxy.Down()
			} else {
				proxy.Stall()
			}
			// A key of its own: the in-process bucket of the last outage is
			// still drained.
			key := "ip:" + mode
			cell := "rate:" + prefix + key
			start := time.Now()
			var slowest time.Duration
			allowed := 0
			for range 200 {
				t0 := time.Now()
				if ok, _ := l.Allow(key); ok {
					allowed++
				}
				slowest = max(slowest, time.Since(t0))
			}
			if slowest > 150*time.Millisecond {
				t.Fatalf("a call waited %v on an unavailable Redis (bound 50 ms)", slowest)
			}
			if s.Available() {
				t.Fatal("still available")
			}
			// The in-process buckets keep limiting: a burst of 3 in well
			// under a second.
			if allowed < 3 || allowed > 4 {
				t.Fatalf("%d of 200 calls allowed in-process; burst is 3", allowed)
			}
			if n, _ := admin.Exists(context.Background(), cell).Result(); n != 0 {
				t.Fatal("a call reached Redis while it was unavailable")
			}
			if n := strings.Count(logs.String(), "unavailable"); n != 1 {
				t.Fatalf("%d outage lines for one outage:\n%s", n, logs.String())
			}
			if err := proxy.Up(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(3 * time.Second)
			for !s.Available() {
				if time.Now().After(deadline) {
					t.Fatal("the store did not find Redis again within 3 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			back := time.Since(start)
			l.Allow(key)
			if n, _ := admin.Exists(context.Background(), cell).Result(); n != 1 {
				t.Fatal("after recovery calls do not reach Redis")
			}
			if !strings.Contains(logs.String(), "answers again") {
				t.Fatalf("recovery not logged:\n%s", logs.String())
			}
			t.Logf("%s: 200 calls in-process (%d allowed, slowest %v), back on Redis after %v", mode, allowed, slowest, back.Round(time.Millisecond))
			logs.Reset()
		})
	}
}

func TestRedisStartsWhileDown(t *testing.T) {
	var logs syncBuffer
	// Nothing listens on a port just closed.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s, err := OpenRedis("redis://"+addr+"/0", RedisOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Available() || s.Ready(context.Background()) == nil {
		t.Fatal("a Redis nobody listens for is available")
	}
	l := s.Limiter(1, 2)
	got := 0
	for range 5 {
		if ok, _ := l.Allow("k"); ok {
			got++
		}
	}
	if got != 2 {
		t.Fatalf("%d of 5 allowed in-process; burst is 2", got)
	}
	if strings.Count(logs.String(), "unavailable") != 1 {
		t.Fatalf("want one outage line:\n%s", logs.String())
	}
}

func TestParseRedisURL(t *testing.T) {
	for _, raw := range []string{"redis://127.0.0.1:6379/0", "rediss://user:pw@redis.example.gov.cn:6380/2", "redis://127.0.0.1"} {
		if _, err := ParseRedisURL(raw); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
	for _, raw := range []string{"127.0.0.1:6379", "http://127.0.0.1:6379", "redis://:s3cret@127.0.0.1:6379/x", "redis://u:s3cret@[::1"} {
		_, err := ParseRedisURL(raw)
		if err == nil {
			t.Errorf("%s accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

// syncBuffer is a log destination goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// BenchmarkRedisAllow is one request's limit check against Redis on
// loopback (parallel, as requests are).
func BenchmarkRedisAllow(b *testing.B) {
	raw := os.Getenv("TEST_REDIS_URL")
	if raw == "" {
		b.Skip("TEST_REDIS_URL not set")
	}
	s, err := OpenRedis(raw, RedisOptions{Prefix: "govmobile-bench:rl:"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l := s.Limiter(1e6, 2e6)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			l.Allow("ip:bench" + strconv.Itoa(i%1000))
		}
	})
}
