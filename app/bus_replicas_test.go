package app_test

// Issue 10: live events cross replicas. Two servers share one MariaDB
// database and the master key (each its own data directory and search
// index) and a message bus — NATS (TEST_NATS_URL) or Redis pub/sub
// (TEST_REDIS_URL). A citizen following their messages on replica A is told
// of a case step taken on replica B; a chat line sent on B reaches the
// chat's subscribers on A and on B, each once. The delivery latency, from
// the request on B to the event on A's websocket, is measured over 200 chat
// lines and 120 case notifications (the bar: p95 under 200 ms).
// Someone who can publish on the bus server but holds no master key
// reaches no one: a notification of their own making, or a genuine chat
// line altered, is dropped by both replicas (govmobile_bus_rejected_total).
// Then A's connection to the bus is cut: A keeps serving and ready (/readyz
// reads "degraded"), its own events still reach its own subscribers,
// govmobile_bus_available shows 0;
// once the bus is back, events cross again.
//
//	TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/govmobile_test' TEST_NATS_URL=nats://127.0.0.1:4222 \
//	TEST_REDIS_URL=redis://127.0.0.1:6379/14 go test -count=1 -v -run TestEventsCrossReplicas ./app/

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"govmobile/app"
	"govmobile/internal/faultproxy"
	"govmobile/models"
	"govmobile/resolvers"
)

func TestEventsCrossReplicas(t *testing.T) {
	buses := sharedBuses(t)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range buses {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) { crossReplicas(t, name, buses[name]) })
	}
}

// withHost is u with its host replaced by addr ("" keeps it).
func withHost(t *testing.T, u, addr string) string {
	if addr == "" {
		return u
	}
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Host = addr
	return p.String()
}

func busHost(t *testing.T, name string) string {
	env := map[string]string{"nats": "TEST_NATS_URL", "redis": "TEST_REDIS_URL"}[name]
	p, err := url.Parse(os.Getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	return p.Host
}

func crossReplicas(t *testing.T, name string, setBus func(*app.Config, string)) {
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	prefix := "govmobile-test-" + hex.EncodeToString(nonce[:]) // this test's own subjects
	// A reaches the bus through a proxy that the fault phase cuts.
	proxy := faultproxy.Start(t, busHost(t, name))
	a := isolatedBackend(t, "mysql", "bus_"+name, func(c *app.Config) { setBus(c, proxy.Addr()); c.BusPrefix = prefix })
	b := replicaOf(t, a, func(c *app.Config) { setBus(c, ""); c.BusPrefix = prefix })
	for _, r := range []*backend{a, b} {
		if !r.app.Broker.Available() || r.app.Broker.Kind() != name {
			t.Fatalf("replica's bus: %s, available %v", r.app.Broker.Kind(), r.app.Broker.Available())
		}
	}

	var m models.Matter
	if err := a.app.DB.Scopes(onlineMatters).Order("id DESC").Offset(1).First(&m).Error; err != nil {
		t.Fatal(err)
	}
	citizenAuth := a.register(t, person(t))
	citizen := citizenAuth.Ticket
	staffB := b.staffTicket(t, m.AgencyID)
	agentB := b.adminTicket(t)

	// The citizen's messages, followed on A.
	msgsWS, err := a.ws(t, citizen)
	if err != nil {
		t.Fatal(err)
	}
	msgsWS.send(map[string]any{"id": "m", "type": "subscribe", "payload": map[string]any{"query": `subscription { messageReceived { id title targetId } }`}})
	msgs := msgsWS.stream()

	// A chat: started by the citizen on A, taken by an agent on B, followed
	// by the citizen on A and by the agent on B.
	var started struct {
		StartAgentChat struct{ Chat struct{ ID string } }
	}
	a.gql(t, citizen, `mutation { startAgentChat(input: {text: "我想咨询跨副本的消息"}) { chat { id } } }`, nil).decode(t, &started)
	chatID := started.StartAgentChat.Chat.ID
	b.gql(t, agentB, `mutation($c: ID!) { takeAgentChat(input: {chatId: $c}) { chat { id } } }`, map[string]any{"c": chatID}).decode(t, &struct{}{})
	follow := map[string]any{"id": "c", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($c: ID!) { chatMessageReceived(chatId: $c) { text } }`, "variables": map[string]any{"c": chatID}}}
	citizenWS, err := a.ws(t, citizen)
	if err != nil {
		t.Fatal(err)
	}
	citizenWS.send(follow)
	agentWS, err := b.ws(t, agentB)
	if err != nil {
		t.Fatal(err)
	}
	agentWS.send(follow)
	onA, onB := citizenWS.stream(), agentWS.stream()
	send := `mutation($c: ID!, $t: String!) { sendChatMessage(input: {chatId: $c, text: $t}) { message { text } } }`
	say := func(r *backend, ticket, line string) {
		t.Helper()
		if res := r.gql(t, ticket, send, map[string]any{"c": chatID, "t": line}); len(res.Errors) > 0 {
			t.Fatal(string(res.Raw))
		}
	}
	// graphql-transport-ws does not acknowledge a subscription: lines are
	// sent until both sides hear one, and the warm-up's lines dropped.
	onA.warmUp(t, 20, func(i int) { say(b, agentB, fmt.Sprintf("预热%d", i)) })
	onB.warmUp(t, 20, func(i int) { say(b, agentB, fmt.Sprintf("再预热%d", i)) })
	onA.drain()

	// 200 lines sent on B: each reaches A's subscriber once, and B's own
	// subscriber once (through the bus, not also directly).
	const lines = 200
	took := make([]time.Duration, 0, lines)
	for i := range lines {
		line := fmt.Sprintf("第%d句", i)
		start := time.Now()
		say(b, agentB, line)
		got, ok := onA.wait(2 * time.Second)
		if !ok || !strings.Contains(mustJSON(got), line) {
			t.Fatalf("line %d not on replica A within 2 s: %v", i, got)
		}
		took = append(took, time.Since(start))
		if got, ok := onB.wait(2 * time.Second); !ok || !strings.Contains(mustJSON(got), line) {
			t.Fatalf("line %d not on replica B within 2 s: %v", i, got)
		}
	}
	onA.none(t, "replica A after the chat lines")
	onB.none(t, "replica B after the chat lines")
	checkLatency(t, name+": chat line sent on B → subscriber on A", took)

	// Case notifications: applications submitted on A, each accepted and
	// then processed by staff on B; the citizen's socket on A hears each.
	const cases = 60
	ids := make([]string, cases)
	for i := range ids {
		var out struct {
			SubmitApplication struct{ Case struct{ ID string } }
		}
		a.gql(t, citizen, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
			map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &out)
		ids[i] = out.SubmitApplication.Case.ID
	}
	msgs.drain()
	handle := `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`
	took = took[:0]
	for _, action := range []string{"ACCEPT", "PROCESS"} {
		for _, id := range ids {
			start := time.Now()
			if r := b.gql(t, staffB, handle, map[string]any{"in": map[string]any{"caseId": id, "action": action}}); len(r.Errors) > 0 {
				t.Fatal(string(r.Raw))
			}
			got, ok := msgs.wait(2 * time.Second)
			if !ok || !strings.Contains(mustJSON(got), id) {
				t.Fatalf("the %s of case %s not on replica A within 2 s: %v", action, id, got)
			}
			took = append(took, time.Since(start))
		}
	}
	msgs.none(t, "replica A after the case steps")
	checkLatency(t, name+": case step on B → citizen's messageReceived on A", took)

	// Someone who can publish on the bus server, without the master key,
	// reaches no one: neither a notification of their own making to the
	// citizen, nor a genuine chat line seen on the server and altered.
	citizenID, err := resolvers.ParseGlobalID("id", citizenAuth.User.ID, "User")
	if err != nil {
		t.Fatal(err)
	}
	raw := rawBus(t, name, prefix+".chat")
	say(b, agentB, "被截获的一句")
	for _, s := range []*liveStream{onA, onB} {
		if got, ok := s.wait(2 * time.Second); !ok || !strings.Contains(mustJSON(got), "被截获的一句") {
			t.Fatalf("a chat line not delivered: %v", got)
		}
	}
	line := raw.next(t)
	altered := bytes.Replace(line, []byte("被截获的一句"), []byte("请转账到这里"), 1)
	if bytes.Equal(altered, line) {
		t.Fatalf("the line on the bus does not hold its text: %q", line)
	}
	raw.publish(t, prefix+".chat", altered)
	forged, _ := json.Marshal(models.Message{ID: 1 << 40, UserID: citizenID, Title: "伪造的通知", Body: "请点击链接领取补贴",
		Target: models.TargetCase, TargetID: 1, CreatedAt: time.Now().UTC()})
	raw.publish(t, prefix+".msg.user", forged)
	msgs.none(t, "the citizen, after a forged notification")
	onA.none(t, "replica A, after an altered chat line")
	onB.none(t, "replica B, after an altered chat line")
	for _, r := range []*backend{a, b} {
		if n := metricSum(t, r, "govmobile_bus_rejected_total"); n < 1 {
			t.Fatalf("govmobile_bus_rejected_total %v after a forged and an altered event", n)
		}
	}

	// A loses the bus. It keeps serving and stays ready; its own events
	// still reach its own subscribers, once; the gauge shows the outage.
	proxy.Down()
	waitFor(t, func() bool { return !a.app.Broker.Available() })
	if code, _, body := a.get(t, "/readyz"); code != http.StatusOK || !strings.Contains(body, `"messageBus":"degraded"`) ||
		!strings.Contains(body, `"degraded":true`) {
		t.Fatalf("readyz with the bus down: %d %s (ready, and degraded)", code, body)
	}
	if v := metric(t, a, "govmobile_bus_available"); v != "0" {
		t.Fatalf("govmobile_bus_available during the outage: %q", v)
	}
	say(a, citizen, "总线中断时的一句")
	if got, ok := onA.wait(2 * time.Second); !ok || !strings.Contains(mustJSON(got), "总线中断时的一句") {
		t.Fatalf("a line sent on A during the outage not delivered on A: %v", got)
	}
	onA.none(t, "replica A during the outage")
	// (B's subscriber misses it: delivery is at most once, and the line is
	// in the transcript.)
	onB.drain()

	// The bus is back: events cross again, both ways.
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitFor(t, a.app.Broker.Available)
	t.Logf("%s: replica A uses the bus again %v after it came back", name, time.Since(back).Round(time.Millisecond))
	if v := metric(t, a, "govmobile_bus_available"); v != "1" {
		t.Fatalf("govmobile_bus_available after recovery: %q", v)
	}
	if code, _, body := a.get(t, "/readyz"); code != http.StatusOK || !strings.Contains(body, `"messageBus":"ok"`) {
		t.Fatalf("readyz after recovery: %d %s", code, body)
	}
	say(b, agentB, "恢复后从B发出")
	say(a, citizen, "恢复后从A发出")
	for _, s := range []*liveStream{onA, onB} {
		var seen []string
		for range 2 {
			got, ok := s.wait(2 * time.Second)
			if !ok {
				t.Fatalf("after recovery: %v", seen)
			}
			seen = append(seen, mustJSON(got))
		}
		all := strings.Join(seen, " ")
		if !strings.Contains(all, "恢复后从B发出") || !strings.Contains(all, "恢复后从A发出") {
			t.Fatalf("after recovery a subscriber heard %v", seen)
		}
		s.none(t, "a subscriber after recovery")
	}
}

// sharedBuses are the shared buses the environment offers, by name, each
// as a change of a replica's configuration reaching the bus at addr ("":
// the server itself). Skips without MariaDB or a bus.
func sharedBuses(t *testing.T) map[string]func(c *app.Config, addr string) {
	if os.Getenv("TEST_MYSQL_DSN") == "" {
		t.Skip("TEST_MYSQL_DSN not set: replicas share a MariaDB database")
	}
	buses := map[string]func(c *app.Config, addr string){}
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		buses["nats"] = func(c *app.Config, addr string) { c.NatsURL = withHost(t, u, addr) }
	}
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		buses["redis"] = func(c *app.Config, addr string) { c.Bus, c.RedisURL = "redis", withHost(t, u, addr) }
	}
	if len(buses) == 0 {
		t.Skip("neither TEST_NATS_URL nor TEST_REDIS_URL set")
	}
	return buses
}

// replicaOf starts a second server on a's database and master key, with
// its own data directory (and so its own search index).
func replicaOf(t *testing.T, a *backend, mutate func(*app.Config)) *backend {
	t.Helper()
	dir := t.TempDir()
	key, err := os.ReadFile(a.app.Config.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{DataDir: dir, DatabaseURL: a.app.Config.DatabaseURL, MasterKeyFile: keyFile, AdminPassword: "Admin-Test-123",
		Logger: quietLogger(), SearchPollInterval: time.Hour, OutboundAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, OutboundHTTP: true}
	mutate(&cfg)
	r, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("second replica: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Search.WaitReady(ctx); err != nil {
		r.Close()
		t.Fatal(err)
	}
	be := &backend{name: a.name, app: r, srv: httptest.NewServer(r.Handler), dir: dir}
	t.Cleanup(func() { be.srv.Close(); r.Close() })
	return be
}

// checkLatency logs the median, 95th percentile and maximum of took, and
// holds the bar (p95 under 200 ms).
func checkLatency(t *testing.T, what string, took []time.Duration) {
	t.Helper()
	slices.Sort(took)
	p50, p95, max := took[len(took)/2], took[len(took)*95/100], took[len(took)-1]
	t.Logf("%s: %d events, p50 %v, p95 %v, max %v", what, len(took), p50.Round(100*time.Microsecond),
		p95.Round(100*time.Microsecond), max.Round(100*time.Microsecond))
	if p95 > 200*time.Millisecond {
		t.Errorf("%s: p95 %v, over the 200 ms bar", what, p95)
	}
}

// metric is the value of a metric without labels' worth of detail: the
// first sample named name.
func metric(t *testing.T, b *backend, name string) string {
	t.Helper()
	samples := metricSamples(t, b, name)
	if len(samples) == 0 {
		t.Fatalf("no %s in /metrics", name)
	}
	return samples[0]
}

// metricSamples are the values of every sample named name, labels or not.
func metricSamples(t *testing.T, b *backend, name string) []string {
	t.Helper()
	res, err := http.Get(b.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			out = append(out, line[strings.LastIndexByte(line, ' ')+1:])
		}
	}
	return out
}

// drain drops what has arrived and is still arriving.
func (s *liveStream) drain() {
	for {
		if _, ok := s.wait(200 * time.Millisecond); !ok {
			return
		}
	}
}

// none checks that nothing more arrives.
func (s *liveStream) none(t *testing.T, who string) {
	t.Helper()
	if got, ok := s.wait(300 * time.Millisecond); ok {
		t.Fatalf("%s received one more: %v", who, got)
	}
}

// metricSum is the sum of a metric's samples, every label included.
func metricSum(t *testing.T, b *backend, name string) float64 {
	t.Helper()
	sum := 0.0
	for _, v := range metricSamples(t, b, name) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += f
	}
	return sum
}

// rawClient is a client of the bus server of its own: what someone who
// can reach the server, but holds no master key, sees and can publish.
type rawClient struct {
	seen    chan []byte
	publish func(t *testing.T, subject string, data []byte)
}

func rawBus(t *testing.T, name, subject string) *rawClient {
	t.Helper()
	c := &rawClient{seen: make(chan []byte, 16)}
	switch name {
	case "nats":
		nc, err := nats.Connect(os.Getenv("TEST_NATS_URL"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		if _, err := nc.Subscribe(subject, func(m *nats.Msg) { c.seen <- m.Data }); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		c.publish = func(t *testing.T, subject string, data []byte) {
			if err := nc.Publish(subject, data); err != nil {
				t.Fatal(err)
			}
		}
	default:
		opt, err := redis.ParseURL(os.Getenv("TEST_REDIS_URL"))
		if err != nil {
			t.Fatal(err)
		}
		rc := redis.NewClient(opt)
		ps := rc.Subscribe(context.Background(), subject)
		if _, err := ps.Receive(context.Background()); err != nil { // the confirmation
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ps.Close(); _ = rc.Close() })
		go func() {
			for m := range ps.Channel() {
				c.seen <- []byte(m.Payload)
			}
		}()
		c.publish = func(t *testing.T, subject string, data []byte) {
			if err := rc.Publish(context.Background(), subject, data).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c
}

// next is the next event the client saw.
func (c *rawClient) next(t *testing.T) []byte {
	t.Helper()
	select {
	case data := <-c.seen:
		return data
	case <-time.After(2 * time.Second):
		t.Fatal("nothing seen on the bus server within 2 s")
		return nil
	}
}
