package bus_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"govmobile/bus"
	"govmobile/internal/faultproxy"
)

// viaProxy is u through a fault proxy of the test's own.
func viaProxy(t *testing.T, u string) (*faultproxy.Proxy, string) {
	t.Helper()
	target, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, target.Host)
	via := *target
	via.Host = proxy.Addr()
	return proxy, via.String()
}

// Subscribing does not wait for the bus server: the app subscribes while
// it holds the database's startup lock, which a hung server must not hold
// up. The subscriptions are made once the server answers.
func TestSubscribeDoesNotWaitForServer(t *testing.T) {
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			proxy, via := viaProxy(t, u)
			proxy.Stall() // connections accepted, never answered
			p := prefix(t)
			a := open(t, bus.Config{Kind: kind, URL: via, Prefix: p, ProbeInterval: 100 * time.Millisecond})
			start := time.Now()
			ins := []inbox{listen(t, a, "msg.user"), listen(t, a, "chat"), listen(t, a, "catalogue.changed")}
			// Waiting for the server would take its 2 s timeout each: 6 s.
			if took := time.Since(start); took > time.Second {
				t.Errorf("3 subscriptions on a hung server took %v", took)
			}
			if err := proxy.Up(); err != nil {
				t.Fatal(err)
			}
			other := open(t, bus.Config{Kind: kind, URL: u, Prefix: p})
			waitFor(t, "connected", func() bool { return a.Available() && other.Available() })
			time.Sleep(200 * time.Millisecond)
			for i, s := range []string{"msg.user", "chat", "catalogue.changed"} {
				_ = other.Publish(context.Background(), s, []byte(s))
				ins[i].expect(t, "A's "+s+" subscriber", s)
			}
		})
	}
}

// A bus server gone silent — its connections frozen, or hung — never
// holds a publish beyond its bound; the bus is reported unavailable (its
// events then delivered on this replica), and recovers once the server
// answers.
func TestSilentServer(t *testing.T) {
	for kind, u := range servers(t) {
		for _, fault := range []string{"freeze", "stall"} {
			t.Run(kind+"/"+fault, func(t *testing.T) {
				proxy, via := viaProxy(t, u)
				p := prefix(t)
				a := open(t, bus.Config{Kind: kind, URL: via, Prefix: p, ProbeInterval: 100 * time.Millisecond})
				other := open(t, bus.Config{Kind: kind, URL: u, Prefix: p})
				inA, inOther := listen(t, a, "chat"), listen(t, other, "chat")
				waitFor(t, "connected", func() bool { return a.Available() && other.Available() })
				time.Sleep(200 * time.Millisecond)
				ctx := context.Background()
				if fault == "freeze" {
					proxy.Freeze()
				} else {
					proxy.Stall()
				}
				start, slowest, sent := time.Now(), time.Duration(0), 0
				for a.Available() {
					if time.Since(start) > 15*time.Second {
						t.Fatal("still available 15 s into the silence")
					}
					t0 := time.Now()
					_ = a.Publish(ctx, "chat", fmt.Appendf(nil, "into the silence %d", sent))
					slowest = max(slowest, time.Since(t0))
					sent++
					time.Sleep(5 * time.Millisecond)
				}
				t.Logf("%s/%s: unavailable after %v; %d publishes meanwhile, the slowest %v", kind, fault,
					time.Since(start).Round(time.Millisecond), sent, slowest)
				// A publish that waited on the network held the caller for
				// the clients' timeouts, seconds; a loaded CI machine can
				// delay a goroutine by tens of milliseconds.
				if slowest > time.Second {
					t.Errorf("a publish to a silent server took %v", slowest)
				}
				inA.settle() // those delivered here after their send failed
				_ = a.Publish(ctx, "chat", []byte("during"))
				inA.expect(t, "A while its server is silent", "during")
				inOther.settle() // those that got through before the silence was noticed
				inOther.expect(t, "the other replica")

				// Frozen connections stay open: the clients notice, and
				// dial new ones, which work. A hung server must come back.
				if fault == "stall" {
					if err := proxy.Up(); err != nil {
						t.Fatal(err)
					}
				}
				waitFor(t, "recovered", a.Available)
				time.Sleep(200 * time.Millisecond)
				_ = a.Publish(ctx, "chat", []byte("after, from A"))
				_ = other.Publish(ctx, "chat", []byte("after, from the other"))
				inA.expect(t, "A after recovery", "after, from A", "after, from the other")
				inOther.expect(t, "the other replica after recovery", "after, from A", "after, from the other")
			})
		}
	}
}

// settle drops what has arrived and is still arriving.
func (in inbox) settle() {
	for {
		select {
		case <-in:
		case <-time.After(500 * time.Millisecond):
			return
		}
	}
}

// respProxy stands between a Redis client and the real server, reading
// the client's commands, and, while loading is set, has the server answer
// each one (but those that set a connection up) with the error a Redis
// loading its dataset gives: -LOADING.
type respProxy struct {
	addr    string
	loading atomic.Bool
}

func startRESPProxy(t *testing.T, target string) *respProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &respProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(t, c, target)
		}
	}()
	return p
}

func (p *respProxy) serve(t *testing.T, client net.Conn, target string) {
	server, err := net.Dial("tcp", target)
	if err != nil {
		client.Close()
		return
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	go func() { _, _ = io.Copy(client, server); client.Close() }()
	defer server.Close()
	rd := bufio.NewReader(client)
	for {
		cmd, err := readCommand(rd)
		if err != nil {
			return
		}
		switch strings.ToLower(cmd[0]) {
		case "hello", "auth", "select", "client", "quit", "reset":
		default:
			if p.loading.Load() {
				// The server itself answers, so that the reply keeps its
				// place among those of pipelined commands.
				cmd = []string{"EVAL", "return redis.error_reply('LOADING Redis is loading the dataset in memory')", "0"}
			}
		}
		var out strings.Builder
		fmt.Fprintf(&out, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			fmt.Fprintf(&out, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := io.WriteString(server, out.String()); err != nil {
			return
		}
	}
}

// readCommand reads a command as clients send it: an array of bulk
// strings.
func readCommand(rd *bufio.Reader) ([]string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return nil, fmt.Errorf("not an array: %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("bad array: %q", line)
	}
	cmd := make([]string, n)
	for i := range cmd {
		if line, err = rd.ReadString('\n'); err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil || size < 0 {
			return nil, fmt.Errorf("bad bulk string: %q", line)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		cmd[i] = string(buf[:size])
	}
	return cmd, nil
}

// A Redis loading its dataset answers -LOADING, on connections that stay
// open. The bus is unavailable meanwhile, and available again, its
// subscriptions made, once Redis answers normally: whether it started
// while Redis was loading, or Redis began loading while it ran.
func TestRedisLoading(t *testing.T) {
	u, ok := servers(t)[bus.Redis]
	if !ok {
		t.Skip("TEST_REDIS_URL unset")
	}
	target, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startRESPProxy(t, target.Host)
	via := *target
	via.Host = proxy.addr
	p := prefix(t)
	other := open(t, bus.Config{Kind: bus.Redis, URL: u, Prefix: p})
	inOther := listen(t, other, "chat")
	ctx := context.Background()

	proxy.loading.Store(true)
	a := open(t, bus.Config{Kind: bus.Redis, URL: via.String(), Prefix: p, ProbeInterval: 100 * time.Millisecond})
	inA := listen(t, a, "chat")
	time.Sleep(time.Second)
	if a.Available() {
		t.Fatal("available while Redis answers LOADING")
	}
	proxy.loading.Store(false)
	waitFor(t, "available once Redis has loaded", a.Available)
	time.Sleep(200 * time.Millisecond)
	_ = other.Publish(ctx, "chat", []byte("loaded"))
	inA.expect(t, "A once Redis has loaded", "loaded")
	inOther.expect(t, "the other replica", "loaded")

	proxy.loading.Store(true) // as after a restart, on the same connections
	waitFor(t, "unavailable while Redis loads", func() bool { return !a.Available() })
	time.Sleep(time.Second) // the subscribing connection is pinged, and answered LOADING
	proxy.loading.Store(false)
	waitFor(t, "available again once Redis has loaded", a.Available)
	time.Sleep(200 * time.Millisecond)
	_ = other.Publish(ctx, "chat", []byte("loaded again"))
	_ = a.Publish(ctx, "chat", []byte("from A"))
	inA.expect(t, "A once Redis has loaded again", "loaded again", "from A")
	inOther.expect(t, "the other replica", "loaded again", "from A")
}

// A Redis account without the right to the deployment's channels (an ACL
// without &prefix.*) is a configuration error: logged once, clearly, while
// the bus stays unavailable and keeps trying; granting the right is enough
// to bring it back, without a restart. The test makes an ACL user of its
// own on the server and deletes it afterwards.
func TestRedisNoPermission(t *testing.T) {
	u, ok := servers(t)[bus.Redis]
	if !ok {
		t.Skip("TEST_REDIS_URL unset")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opt)
	t.Cleanup(func() { _ = admin.Close() })
	ctx := context.Background()
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	user, password := "govmobile-test-"+hex.EncodeToString(nonce[:]), hex.EncodeToString(nonce[:])+"-Pw"
	p := prefix(t)
	// Every command and key, and only another deployment's channels.
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "reset", "on", ">"+password, "~*", "+@all", "&"+prefix(t)+".*").Err(); err != nil {
		t.Skipf("this Redis has no ACL users: %v", err)
	}
	t.Cleanup(func() { _ = admin.Do(context.Background(), "ACL", "DELUSER", user).Err() })
	withUser, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	withUser.User = url.UserPassword(user, password)

	var log logBuffer
	a := open(t, bus.Config{Kind: bus.Redis, URL: withUser.String(), Prefix: p, ProbeInterval: 100 * time.Millisecond, Logger: log.logger()})
	inA := listen(t, a, "chat")
	_ = a.Publish(ctx, "chat", []byte("local"))
	inA.expect(t, "A without the right to its channels", "local")
	time.Sleep(2 * time.Second) // many probes and subscription attempts
	if a.Available() {
		t.Fatal("available without the right to its channels")
	}
	logged := log.String()
	if n := strings.Count(logged, "无权使用本部署的频道（NOPERM）"); n != 1 || strings.Contains(logged, password) {
		t.Fatalf("want the NOPERM configuration error logged once, without the password; got:\n%s", logged)
	}

	if err := admin.Do(ctx, "ACL", "SETUSER", user, "&"+p+".*").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "available once the right is granted", a.Available)
	other := open(t, bus.Config{Kind: bus.Redis, URL: u, Prefix: p})
	inOther := listen(t, other, "chat")
	waitFor(t, "connected", other.Available)
	time.Sleep(200 * time.Millisecond)
	_ = other.Publish(ctx, "chat", []byte("granted"))
	inA.expect(t, "A once the right is granted", "granted")
	inOther.expect(t, "the other replica", "granted")
}
