package bus_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"govmobile/bus"
	"govmobile/gm"
)

func TestDeriveKey(t *testing.T) {
	master := []byte("0123456789abcdef")
	k := bus.DeriveKey(master)
	if len(k) != 32 || bytes.Contains(k, master) || !bytes.Equal(k, bus.DeriveKey(master)) {
		t.Fatalf("DeriveKey: %x (32 bytes, the same each time, not the master key)", k)
	}
	if bytes.Equal(k, bus.DeriveKey([]byte("fedcba9876543210"))) {
		t.Fatal("two master keys derive the same bus key")
	}
}

// A shared bus without a key would carry events anyone could forge: it is
// refused at start. The in-process bus needs none.
func TestSharedBusNeedsKey(t *testing.T) {
	for _, c := range []bus.Config{
		{Kind: bus.NATS, URL: "nats://127.0.0.1:4222"},
		{Kind: bus.Redis, URL: "redis://127.0.0.1:6379/14"},
		{Kind: bus.NATS, URL: "nats://127.0.0.1:4222", Key: []byte("short")},
	} {
		if b, err := bus.New(c); err == nil {
			_ = b.Close()
			t.Errorf("%s bus with a key of %d bytes started", c.Kind, len(c.Key))
		}
	}
	b, err := bus.New(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
}

// rawPublisher publishes on the bus server directly, as anyone holding its
// address and credentials can.
func rawPublisher(t *testing.T, kind, u string) func(subject string, data []byte) {
	t.Helper()
	switch kind {
	case bus.NATS:
		nc, err := nats.Connect(u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return func(subject string, data []byte) {
			if err := nc.Publish(subject, data); err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	default:
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { _ = c.Close() })
		return func(subject string, data []byte) {
			if err := c.Publish(context.Background(), subject, data).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// logBuffer is a logger's output, read by the test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// metrics reads the bus's counters: name → label value (reason, or "") →
// value.
func metrics(t *testing.T, b *bus.Bus) map[string]map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(b.Collectors()...)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, f := range fams {
		out[f.GetName()] = map[string]float64{}
		for _, m := range f.GetMetric() {
			reason := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					reason = l.GetValue()
				}
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			out[f.GetName()][reason] = v
		}
	}
	return out
}

// Whoever can publish on the bus server, without the master key, reaches
// no subscriber: not with an unsigned event, nor one of another version
// (an older replica's), nor one signed with another key, nor one larger
// than any sent, nor a genuine one altered, moved to another subject,
// signed outside the freshness window, or sent again. A genuine one does,
// once. Each refusal is counted, and one warning is logged, without the
// payload.
func TestOnlySignedEventsDelivered(t *testing.T) {
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			p := prefix(t)
			var log logBuffer
			a := open(t, bus.Config{Kind: kind, URL: u, Prefix: p, Logger: log.logger()})
			in, chat := listen(t, a, "msg.user"), listen(t, a, "chat")
			waitFor(t, "subscribed", a.Available)
			time.Sleep(200 * time.Millisecond)
			publish := rawPublisher(t, kind, u)
			subject := p + ".msg.user"
			now := time.Now()
			const forged = `{"UserID":1,"Title":"FORGED-PAYLOAD"}`
			var seq uint64
			from := newSender()
			sealed := func(key []byte, subject string, payload string, at time.Time) []byte {
				seq++
				return bus.Seal(key, subject, []byte(payload), at, from, seq)
			}
			genuine := sealed(testKey, subject, forged, now)
			tampered := bytes.Clone(genuine)
			tampered[len(tampered)-2] ^= 1
			for _, c := range []struct {
				what string
				data []byte
			}{
				{"unsigned", []byte(forged)},
				{"truncated", genuine[:bus.HeaderSize-1]},
				{"another version", append([]byte{3}, genuine[1:]...)},
				{"version 1, as an older replica signs it", sealV1(testKey, subject, []byte(forged), now)},
				{"signed with another key", sealed(bus.DeriveKey([]byte("another master!!")), subject, forged, now)},
				{"tampered", tampered},
				{"signed for another subject", sealed(testKey, p+".chat", forged, now)},
				{"signed for another deployment", sealed(testKey, prefix(t)+".msg.user", forged, now)},
				{"stale", sealed(testKey, subject, forged, now.Add(-bus.Freshness-10*time.Second))},
				{"from the future", sealed(testKey, subject, forged, now.Add(bus.Freshness+10*time.Second))},
				{"oversized", sealed(testKey, subject, strings.Repeat("x", bus.MaxPayload+1), now)},
			} {
				publish(subject, c.data)
			}
			signed := sealed(testKey, subject, "signed", time.Now())
			publish(subject, signed)
			publish(subject, signed)
			in.expect(t, "the subscriber", "signed")
			chat.expect(t, "another subject's subscriber")

			got := metrics(t, a)["govmobile_bus_rejected_total"]
			if got["unsigned"] != 4 || got["forged"] != 4 || got["stale"] != 2 || got["oversized"] != 1 || got["replay"] != 1 {
				t.Errorf("govmobile_bus_rejected_total: %v, want unsigned 4, forged 4, stale 2, oversized 1, replay 1", got)
			}
			if r := metrics(t, a)["govmobile_bus_received_total"][""]; r != 1 {
				t.Errorf("govmobile_bus_received_total: %v, want 1", r)
			}
			logged := log.String()
			if n := strings.Count(logged, "未通过签名校验"); n != 1 {
				t.Errorf("%d warnings about rejected events, want 1 (at most one a minute):\n%s", n, logged)
			}
			if strings.Contains(logged, "FORGED") {
				t.Errorf("a rejected payload was logged:\n%s", logged)
			}
		})
	}
}

// newSender is a sender ID of the test's own.
func newSender() (id [8]byte) {
	_, _ = rand.Read(id[:])
	return id
}

// sealV1 is the envelope of version 1 (no sender, no sequence), as a
// replica not yet upgraded sends it: refused, as another version.
func sealV1(key []byte, subject string, payload []byte, at time.Time) []byte {
	out := []byte{1}
	out = binary.BigEndian.AppendUint64(out, uint64(at.UnixMilli()))
	msg := []byte{1}
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(subject)))
	msg = append(msg, subject...)
	msg = append(msg, out[1:9]...)
	msg = append(msg, payload...)
	out = append(out, gm.HMACSM3(key, msg)...)
	return append(out, payload...)
}

// Two deployments with different master keys on one bus server and one
// prefix (a misconfiguration) do not accept each other's events: each
// replica hears only its own.
func TestReplicasWithDifferentKeys(t *testing.T) {
	for kind, u := range servers(t) {
		t.Run(kind, func(t *testing.T) {
			p := prefix(t)
			a := open(t, bus.Config{Kind: kind, URL: u, Prefix: p, Key: bus.DeriveKey([]byte("master key of A"))})
			b := open(t, bus.Config{Kind: kind, URL: u, Prefix: p, Key: bus.DeriveKey([]byte("master key of B"))})
			inA, inB := listen(t, a, "chat"), listen(t, b, "chat")
			waitFor(t, "subscribed", func() bool { return a.Available() && b.Available() })
			time.Sleep(200 * time.Millisecond)
			_ = a.Publish(context.Background(), "chat", []byte("from A"))
			_ = b.Publish(context.Background(), "chat", []byte("from B"))
			inA.expect(t, "A", "from A")
			inB.expect(t, "B", "from B")
			for name, r := range map[string]*bus.Bus{"A": a, "B": b} {
				if n := metrics(t, r)["govmobile_bus_rejected_total"]["forged"]; n != 1 {
					t.Errorf("%s refused %v events as forged, want 1", name, n)
				}
			}
		})
	}
}
