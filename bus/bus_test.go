package bus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"govmobile/bus"
	"govmobile/internal/faultproxy"
)

// The shared transports are tested against real servers when
// TEST_NATS_URL (nats://127.0.0.1:4222) and TEST_REDIS_URL
// (redis://127.0.0.1:6379/14) are set; every test uses subjects of its own.

func servers(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		out[bus.NATS] = u
	}
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		out[bus.Redis] = u
	}
	if len(out) == 0 {
		t.Skip("TEST_NATS_URL and TEST_REDIS_URL unset: no NATS or Redis to test against")
	}
	return out
}

func prefix(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "govmobile-test-" + hex.EncodeToString(b[:])
}

func quiet() *slog.Logger {
	if os.Getenv("TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testKey is the bus key of the tests' replicas, as DeriveKey makes it
// from their shared master key.
var testKey = bus.DeriveKey([]byte("0123456789abcdef"))

func open(t *testing.T, cfg bus.Config) *bus.Bus {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	if cfg.Key == nil && cfg.Kind != "" && cfg.Kind != bus.Local {
		cfg.Key = testKey
	}
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// inbox gathers the payloads a subscriber receives.
type inbox chan string

func listen(t *testing.T, b *bus.Bus, subject string) inbox {
	t.Helper()
	in := make(inbox, 100)
	if err := b.Subscribe(subject, func(p []byte) { in <- string(p) }); err != nil {
		t.Fatal(err)
	}
	return in
}

// expect waits for want, in any order (publishers on different
// connections are not ordered), then checks that nothing more arrives.
func (in inbox) expect(t *testing.T, who string, want ...string) {
	t.Helper()
	missing := map[string]int{}
	for _, w := range want {
		missing[w]++
	}
	for range want {
		select {
		case got := <-in:
			if missing[got] == 0 {
				t.Fatalf("%s received %q, want %q", who, got, want)
			}
			missing[got]--
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not receive all of %q within 5 s", who, want)
		}
	}
	select {
	case got := <-in:
		t.Fatalf("%s received %q more", who, got)
	case <-time.After(200 * time.Millisecond):
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 15 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		kind, nats, redis string
		want, url         string
		bad               bool
	}{
		{"", "", "", bus.Local, "", false},
		{"", "nats://n:4222", "", bus.NATS, "nats://n:4222", false},
		{"", "", "redis://r:6379", bus.Local, "", false}, // REDIS_URL alone: rate limits, not the bus
		{"redis", "nats://n:4222", "redis://r:6379", bus.Redis, "redis://r:6379", false},
		{"local", "nats://n:4222", "", bus.Local, "", false},
		{"NATS", "nats://n:4222", "", bus.NATS, "nats://n:4222", false},
		{"nats", "", "", "", "", true},
		{"redis", "", "", "", "", true},
		{"kafka", "", "", "", "", true},
	} {
		kind, u, err := bus.Choose(c.kind, c.nats, c.redis)
		if (err != nil) != c.bad || kind != c.want || u != c.url {
			t.Errorf("Choose(%q, %q, %q) = %q, %q, %v", c.kind, c.nats, c.redis, kind, u, err)
		}
	}
	if _, err := bus.New(bus.Config{Kind: bus.Redis, URL: "http://nope", Key: testKey}); err == nil || strings.Contains(err.Error(), "nope") {
		t.Errorf("a bad Redis URL: %v (refused, without echoing it)", err)
	}
}

// In-process: today's behaviour, the subscribers of a subject in this
// process, at once.
func TestLocal(t *testing.T) {
	b := open(t, bus.Config{})
	a1, a2, other := listen(t, b, "a"), listen(t, b, "a"), listen(t, b, "b")
	if err := b.Publish(context.Background(), "a", []byte("one")); err != nil {
		t.Fatal(err)
	}
	a1.expect(t, "first subscriber", "one")
	a2.expect(t, "second subscriber", "one")
	other.expect(t, "another subject's subscriber")
	if !b.Available() || b.Kind() != bus.Local {
		t.Fatal("an in-process bus is always available")
	}
}

// Two replicas: what either publishes reaches both, each once; a
// deployment with another prefix hears nothing.
func TestReplicas(t *testing.T) {
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			p := prefix(t)
			a, b := open(t, bus.Config{Kind: kind, URL: u, Prefix: p}), open(t, bus.Config{Kind: kind, URL: u, Prefix: p})
			stranger := open(t, bus.Config{Kind: kind, URL: u, Prefix: prefix(t)})
			waitFor(t, "connected", func() bool { return a.Available() && b.Available() && stranger.Available() })
			inA, inB, inS := listen(t, a, "msg.user"), listen(t, b, "msg.user"), listen(t, stranger, "msg.user")
			chatB := listen(t, b, "chat")
			waitFor(t, "subscribed", func() bool { return a.Available() && b.Available() })
			time.Sleep(200 * time.Millisecond) // the subscriptions reach the server
			if err := a.Publish(context.Background(), "msg.user", []byte("from A")); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(context.Background(), "msg.user", []byte("from B")); err != nil {
				t.Fatal(err)
			}
			inA.expect(t, "A", "from A", "from B")
			inB.expect(t, "B", "from A", "from B")
			chatB.expect(t, "B's chat subscriber")
			inS.expect(t, "another deployment")
		})
	}
}

// The server goes away and comes back: publishing falls back to this
// replica's subscribers (once each), the outage shows, and the bus is used
// again, subscriptions included, once the server answers. A bus started
// while its server is down works the same way.
func TestOutageAndRecovery(t *testing.T) {
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			target, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			proxy := faultproxy.Start(t, target.Host)
			viaProxy := *target
			viaProxy.Host = proxy.Addr()
			p := prefix(t)
			cfg := bus.Config{Kind: kind, URL: viaProxy.String(), Prefix: p, ProbeInterval: 100 * time.Millisecond}
			a := open(t, cfg)
			other := open(t, bus.Config{Kind: kind, URL: u, Prefix: p}) // another replica, its connection intact
			inA, inOther := listen(t, a, "chat"), listen(t, other, "chat")
			waitFor(t, "connected", func() bool { return a.Available() && other.Available() })
			time.Sleep(200 * time.Millisecond)
			ctx := context.Background()
			_ = a.Publish(ctx, "chat", []byte("before"))
			inA.expect(t, "A", "before")
			inOther.expect(t, "the other replica", "before")

			proxy.Down()
			waitFor(t, "seen down", func() bool { return !a.Available() })
			for i := range 3 {
				if err := a.Publish(ctx, "chat", fmt.Appendf(nil, "during %d", i)); err != nil {
					t.Fatalf("publish during the outage: %v", err)
				}
			}
			inA.expect(t, "A during the outage", "during 0", "during 1", "during 2")
			inOther.expect(t, "the other replica during A's outage")

			if err := proxy.Up(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			waitFor(t, "recovered", a.Available)
			t.Logf("%s: available again %v after the server came back", kind, time.Since(start).Round(time.Millisecond))
			time.Sleep(200 * time.Millisecond)
			_ = a.Publish(ctx, "chat", []byte("after, from A"))
			_ = other.Publish(ctx, "chat", []byte("after, from the other"))
			inA.expect(t, "A after recovery", "after, from A", "after, from the other")
			inOther.expect(t, "the other replica after recovery", "after, from A", "after, from the other")
		})
	}
}

func TestStartWhileServerDown(t *testing.T) {
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			target, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			proxy := faultproxy.Start(t, target.Host)
			proxy.Down()
			viaProxy := *target
			viaProxy.Host = proxy.Addr()
			p := prefix(t)
			a := open(t, bus.Config{Kind: kind, URL: viaProxy.String(), Prefix: p, ProbeInterval: 100 * time.Millisecond})
			if a.Available() {
				t.Fatal("available with its server down")
			}
			inA := listen(t, a, "msg.user")
			_ = a.Publish(context.Background(), "msg.user", []byte("local"))
			inA.expect(t, "A while its server is down", "local")
			if err := proxy.Up(); err != nil {
				t.Fatal(err)
			}
			other := open(t, bus.Config{Kind: kind, URL: u, Prefix: p})
			inOther := listen(t, other, "msg.user")
			waitFor(t, "connected", func() bool { return a.Available() && other.Available() })
			time.Sleep(200 * time.Millisecond)
			_ = other.Publish(context.Background(), "msg.user", []byte("shared"))
			inA.expect(t, "A once its server is up", "shared")
			inOther.expect(t, "the other replica", "shared")
		})
	}
}

// A subscribing connection that goes silent without failing (its packets
// dropped) is noticed by its pings and replaced by a new one. Redis only:
// the bus drives go-redis's subscribing connection itself, while nats.go's
// own pings (every 5 s, two missed) do this for NATS.
func TestSilentRedisConnection(t *testing.T) {
	u, ok := servers(t)[bus.Redis]
	if !ok {
		t.Skip("TEST_REDIS_URL unset")
	}
	target, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, target.Host)
	viaProxy := *target
	viaProxy.Host = proxy.Addr()
	p := prefix(t)
	a := open(t, bus.Config{Kind: bus.Redis, URL: viaProxy.String(), Prefix: p, ProbeInterval: 100 * time.Millisecond})
	other := open(t, bus.Config{Kind: bus.Redis, URL: u, Prefix: p})
	inA, inOther := listen(t, a, "chat"), listen(t, other, "chat")
	waitFor(t, "connected", func() bool { return a.Available() && other.Available() })
	time.Sleep(200 * time.Millisecond)
	ctx := context.Background()
	proxy.Freeze()
	waitFor(t, "seen down", func() bool { return !a.Available() })
	_ = a.Publish(ctx, "chat", []byte("during"))
	inA.expect(t, "A while its connections are silent", "during")
	inOther.expect(t, "the other replica")
	// The frozen connections stay open: only new ones bring A back.
	waitFor(t, "recovered", a.Available)
	time.Sleep(200 * time.Millisecond)
	_ = other.Publish(ctx, "chat", []byte("after"))
	inA.expect(t, "A after recovery", "after")
	inOther.expect(t, "the other replica after recovery", "after")
}

// TestNATSURLNeverEchoed: a malformed --nats-url is refused without its
// password in the error.
func TestNATSURLNeverEchoed(t *testing.T) {
	_, err := bus.New(bus.Config{Kind: bus.NATS, URL: "nats://admin:S3cret@host:42x2", Key: testKey})
	if err == nil || strings.Contains(err.Error(), "S3cret") {
		t.Fatalf("want a refusal without the password, got %v", err)
	}
}
