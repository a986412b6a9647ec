// Package bus carries live events between govmobile's replicas: a value
// published on one replica reaches the subscribers of its subject on every
// replica, this one included. Three transports: in-process (the default, a
// single replica), NATS core pub/sub and Redis pub/sub.
//
// Delivery is at most once. What a subscriber receives live (a message, a
// chat line) has already been committed to the database, where the client
// reads it again on its next page load; so an event lost while a bus was
// down, or by a replica that was not connected at that moment, costs only
// its live delivery, and the bus keeps no log and needs no acknowledgements.
//
// Publish never waits for the network: it queues the event (bounded, see
// Config.QueueSize) and returns, and one goroutine per bus signs and sends
// what is queued, in order, in batches (Redis pipelines them; NATS buffers
// them in its client). An event that finds the queue full is delivered to
// this replica's subscribers only and counted (govmobile_bus_dropped_total);
// Close sends what is still queued, for a bounded time.
//
// When the shared bus is unavailable the server keeps serving: Publish
// hands the event to this replica's own subscribers directly (so that the
// users of a single replica, or those connected to the replica where the
// event happened, still get it live), logs the outage once, and reports it
// on govmobile_bus_available. Both clients reconnect and resubscribe by
// themselves; the bus is used again as soon as it answers. An event whose
// send failed is delivered here instead, and should the server have passed
// it on all the same, this replica drops the copy that comes back (unless
// it came back before the send was known to have failed: a narrow window,
// the one case of an event shown twice on the replica where it happened).
//
// Every event on a shared bus is signed (HMAC-SM3, with a key derived from
// the master key that every replica holds: DeriveKey) over its subject, its
// payload, the time it was sent, its sender (a random ID per bus, so per
// start of a replica) and its place in that sender's sequence. A replica
// drops what it receives longer than any event sent (MaxPayload: refused
// before any hashing), without a valid tag, signed more than Freshness
// away from its clock, or received already (the same sender and sequence,
// see replays.go); each is counted on govmobile_bus_rejected_total and
// logged at most once a minute, without its payload. So whoever can
// publish on the NATS or Redis server, without the master key, cannot
// forge a notification or a chat line, alter one, or move one to another
// subject or deployment; and an event they capture and send again, however
// often, is refused: a replica delivers each genuine event at most once.
// A replay can still bring, once and within the freshness window, an
// event this replica never had (sent before it subscribed, or lost on its
// way). A flood of copies costs each replica a hash per copy and nothing
// more. Replicas refuse envelopes of another version (counted as
// unsigned): while replicas of two versions run side by side, as in a
// rolling upgrade from version 1, events cross only between replicas of
// the same version, as if the others' bus were down. Signing is not
// encryption: whoever can subscribe reads the events (see the last
// paragraph, and use TLS and credentials on the bus server).
//
// The bus must never carry anything the database seals at rest: callers
// publish rows that are stored in clear (masked where the rules say so).
package bus

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The kinds of bus.
const (
	Local = "local" // in-process: this replica only
	NATS  = "nats"
	Redis = "redis"
)

// Handler receives a payload published under a subject. It runs on the
// transport's delivery goroutine (or on the bus's sending goroutine, for an
// event delivered locally) and must not block.
type Handler func(payload []byte)

// Config chooses and configures the bus.
type Config struct {
	// Kind is Local (or ""), NATS or Redis; Choose picks it from the
	// server's flags.
	Kind string
	// URL is the server's address: nats://host:4222 (tls:// for TLS) or
	// redis://[user:pass@]host:6379 (rediss:// for TLS).
	URL string
	// Prefix namespaces the subjects ("govmobile" by default): deployments
	// sharing one NATS or Redis must each have their own. Redis pub/sub
	// channels are global across a server's database numbers.
	Prefix string
	// Key signs the events on a shared bus and checks those received:
	// DeriveKey of the master key, the same on every replica. A shared bus
	// refuses to start without one (at least 16 bytes); the in-process bus
	// needs none.
	Key []byte
	// ProbeInterval is how often an unavailable bus is tried again (1 s
	// by default).
	ProbeInterval time.Duration
	// QueueSize bounds the events waiting to be sent (8192 by default):
	// the messages to all of a matter's followers fit at once, and a bus
	// that cannot keep up costs memory no further.
	QueueSize int
	Logger    *slog.Logger
}

// Choose returns the kind of bus and its URL: the named kind, or by
// default NATS when natsURL is set, and in-process otherwise. Redis is
// only used when named (REDIS_URL alone configures shared rate limits, not
// the bus).
func Choose(kind, natsURL, redisURL string) (string, string, error) {
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "":
		if natsURL != "" {
			return NATS, natsURL, nil
		}
		return Local, "", nil
	case Local, "inprocess", "in-process":
		return Local, "", nil
	case NATS:
		if natsURL == "" {
			return "", "", errors.New("--bus=nats needs --nats-url (NATS_URL)")
		}
		return NATS, natsURL, nil
	case Redis:
		if redisURL == "" {
			return "", "", errors.New("--bus=redis needs --redis-url (REDIS_URL)")
		}
		return Redis, redisURL, nil
	}
	return "", "", fmt.Errorf("--bus (BUS): want nats, redis or local, got %q", kind)
}

// wire is an event as sent: its full subject and its signed envelope.
type wire struct {
	subject string
	data    []byte
}

// transport is a shared bus between replicas.
type transport interface {
	// publish sends the events, in order, to every subscriber of their
	// subjects on every replica. It returns how many of the first were
	// certainly handed to the server; after an error the others may or
	// may not have been.
	publish(ctx context.Context, batch []wire) (int, error)
	// subscribe delivers subject's payloads to h from now on, across
	// reconnections. It does not wait for the server.
	subscribe(subject string, h Handler) error
	// healthy reports whether publishing and receiving work now.
	healthy(ctx context.Context) bool
	close() error
}

// outgoing is a queued event.
type outgoing struct {
	subject string // full
	payload []byte
}

// Bus publishes to and subscribes on one of the transports.
type Bus struct {
	kind   string
	prefix string
	key    []byte
	t      transport // nil in-process
	log    *slog.Logger

	// sender names this bus's events, and seq numbers them (the last
	// sent): see replays.go. replays remembers what was received.
	sender  senderID
	seq     atomic.Uint64
	replays replays

	mu       sync.RWMutex
	handlers map[string][]Handler // by full subject

	available atomic.Bool
	stateMu   sync.Mutex
	// gen counts the changes the transport and failed sends report: a
	// probe's result is dropped when one was reported while it ran, since
	// it may describe the connection from before.
	gen       atomic.Uint64
	downSince time.Time
	downAt    uint64        // fallbacks when the outage began
	fallbacks atomic.Uint64 // events delivered only locally
	published atomic.Uint64
	received  atomic.Uint64
	dropped   atomic.Uint64 // the queue was full (or the event too large): delivered only locally
	oversized atomic.Bool   // an event too large was published, and logged
	rejected  [rejectReasons]atomic.Uint64

	// The send queue; shut (under queueMu) once Close has closed it.
	queueMu sync.RWMutex
	queue   chan outgoing
	shut    bool
	sent    chan struct{} // closed when the sender has returned
	abandon atomic.Bool   // Close stopped waiting: drop what is left

	// echoes are the tags of events whose send failed and that were
	// delivered locally instead: should the server have passed one on all
	// the same, its copy is dropped here (at most once).
	echoMu sync.Mutex
	echoes map[[tagSize]byte]time.Time
	echoN  atomic.Int32

	warnMu      sync.Mutex
	warnedAt    time.Time // last warning about rejected events
	unwarned    uint64    // rejected since
	neverWarned bool

	stop    chan struct{}
	done    chan struct{}
	closed  sync.Once
	closing atomic.Bool // disconnecting on purpose: not an outage
}

// New connects the bus. A NATS or Redis server that cannot be reached at
// start is not an error: the bus starts unavailable, delivers locally, and
// is used once the server answers. Only a bad configuration is an error.
func New(cfg Config) (*Bus, error) {
	b, url, err := newBus(cfg)
	if err != nil || b.kind == Local {
		return b, err
	}
	var t transport
	switch b.kind {
	case NATS:
		t, err = dialNATS(url, b.setAvailable, b.log)
	case Redis:
		t, err = dialRedis(url, b.setAvailable, b.probeEvery(cfg), b.subject("_probe"), b.log)
	}
	if err != nil {
		return nil, err
	}
	b.start(t, cfg)
	return b, nil
}

// newBus checks cfg and returns a bus without its transport, and the URL.
func newBus(cfg Config) (*Bus, string, error) {
	kind, url := cfg.Kind, cfg.URL
	switch kind {
	case "", Local:
		kind = Local
	case NATS, Redis:
		if url == "" {
			return nil, "", fmt.Errorf("bus %s: no URL", kind)
		}
		if len(cfg.Key) < 16 {
			// Unsigned events on a shared server could be forged by
			// anyone who can publish there.
			return nil, "", fmt.Errorf("bus %s: no signing key (derive it from the master key: bus.DeriveKey)", kind)
		}
	default:
		return nil, "", fmt.Errorf("bus: unknown kind %q", kind)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "govmobile"
	}
	if strings.ContainsAny(cfg.Prefix, " *>\t\r\n") {
		return nil, "", fmt.Errorf("bus prefix %q: no spaces or wildcards", cfg.Prefix)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Bus{kind: kind, prefix: cfg.Prefix, log: cfg.Logger, handlers: map[string][]Handler{}, neverWarned: true}
	if kind == Local {
		b.available.Store(true)
		return b, "", nil
	}
	b.key = append([]byte(nil), cfg.Key...)
	if _, err := rand.Read(b.sender[:]); err != nil {
		return nil, "", fmt.Errorf("bus %s: sender ID: %w", kind, err)
	}
	return b, url, nil
}

func (b *Bus) probeEvery(cfg Config) time.Duration {
	if cfg.ProbeInterval <= 0 {
		return time.Second
	}
	return cfg.ProbeInterval
}

// start uses t: checks it once, then sends the queue and probes it.
func (b *Bus) start(t transport, cfg Config) {
	b.t = t
	b.available.Store(true)
	gen := b.gen.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	b.probed(t.healthy(ctx), gen)
	cancel()
	size := cfg.QueueSize
	if size <= 0 {
		size = 8192
	}
	b.queue, b.sent = make(chan outgoing, size), make(chan struct{})
	go b.send()
	b.stop, b.done = make(chan struct{}), make(chan struct{})
	go b.probe(b.probeEvery(cfg))
}

// NewLocal is an in-process bus.
func NewLocal() *Bus {
	b, _ := New(Config{Kind: Local})
	return b
}

// Kind is Local, NATS or Redis.
func (b *Bus) Kind() string { return b.kind }

// Available reports whether events published now reach every replica.
func (b *Bus) Available() bool { return b.available.Load() }

func (b *Bus) subject(s string) string { return b.prefix + "." + s }

// Subscribe hands every payload published under subject, on any replica,
// to h. Call it at start, once per subject and consumer: the transport
// holds one subscription per subject and fans out to the handlers. It
// does not wait for the bus server (the caller may hold the startup lock):
// the subscription is made as soon as the server answers.
func (b *Bus) Subscribe(subject string, h Handler) error {
	full := b.subject(subject)
	b.mu.Lock()
	first := len(b.handlers[full]) == 0
	b.handlers[full] = append(b.handlers[full], h)
	b.mu.Unlock()
	if first && b.t != nil {
		return b.t.subscribe(full, func(p []byte) { b.accept(full, p) })
	}
	return nil
}

// Publish sends payload to the subscribers of subject on every replica.
// It does not wait for the network: on a shared bus the event is queued
// and sent in the background. While the shared bus is unavailable, or its
// queue is full, or when payload is longer than MaxPayload, it delivers to
// this replica's subscribers only; either way it returns nil: the event is
// stored anyway, and only its live delivery elsewhere is lost. The payload
// must not be changed afterwards.
func (b *Bus) Publish(_ context.Context, subject string, payload []byte) error {
	full := b.subject(subject)
	if b.t == nil {
		b.deliver(full, payload)
		return nil
	}
	if len(payload) > MaxPayload {
		// Every replica would refuse it. No caller sends one this big.
		b.dropped.Add(1)
		if !b.oversized.Swap(true) {
			b.log.Error("消息总线事件超过大小上限，未发送给其他副本，只投递给本副本的订阅者", "bus", b.kind,
				"subject", full, "bytes", len(payload), "max", MaxPayload)
		}
	} else if b.available.Load() {
		if b.enqueue(outgoing{full, payload}) {
			return nil
		}
	} else {
		b.fallbacks.Add(1)
	}
	b.deliver(full, payload)
	return nil
}

// enqueue queues an event for sending, unless the queue is full or closed.
func (b *Bus) enqueue(o outgoing) bool {
	b.queueMu.RLock()
	defer b.queueMu.RUnlock()
	if b.shut {
		return false
	}
	select {
	case b.queue <- o:
		return true
	default:
		b.dropped.Add(1)
		return false
	}
}

// maxBatch bounds the events sent at once (one Redis pipeline).
const maxBatch = 256

// send signs and sends the queued events until the queue is closed.
func (b *Bus) send() {
	defer close(b.sent)
	batch := make([]outgoing, 0, maxBatch)
	for o := range b.queue {
		batch = append(batch[:0], o)
	more:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-b.queue:
				if !ok {
					break more
				}
				batch = append(batch, o)
			default:
				break more
			}
		}
		b.sendBatch(batch)
	}
}

// publishTimeout bounds the sending of one batch: a silent server holds
// the queue (never a request) this long at most before the bus falls back
// to local delivery.
const publishTimeout = 250 * time.Millisecond

func (b *Bus) sendBatch(batch []outgoing) {
	if b.abandon.Load() {
		b.dropped.Add(uint64(len(batch)))
		return
	}
	if !b.available.Load() {
		b.fallbacks.Add(uint64(len(batch)))
		for _, o := range batch {
			b.deliver(o.subject, o.payload)
		}
		return
	}
	now := time.Now()
	msgs := make([]wire, len(batch))
	for i, o := range batch {
		msgs[i] = wire{o.subject, seal(b.key, o.subject, o.payload, now, b.sender, b.seq.Add(1))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	n, err := b.t.publish(ctx, msgs)
	cancel()
	b.published.Add(uint64(n))
	if err == nil {
		return
	}
	b.setAvailable(false)
	b.log.Debug("bus publish failed", "bus", b.kind, "err", err)
	b.fallbacks.Add(uint64(len(batch) - n))
	b.echo(msgs[n:])
	for _, o := range batch[n:] {
		b.deliver(o.subject, o.payload)
	}
}

// maxEchoes bounds the tags remembered: failures stop the sending at once
// (the bus is then unavailable), so only a few batches are ever held.
const maxEchoes = 4 * maxBatch

// echo remembers the tags of events delivered locally after a failed send.
func (b *Bus) echo(msgs []wire) {
	b.echoMu.Lock()
	defer b.echoMu.Unlock()
	now := time.Now()
	if b.echoes == nil {
		b.echoes = map[[tagSize]byte]time.Time{}
	}
	for k, at := range b.echoes {
		if now.Sub(at) > 2*Freshness { // refused as stale by then anyway
			delete(b.echoes, k)
		}
	}
	for _, m := range msgs {
		if len(b.echoes) < maxEchoes {
			b.echoes[tagOf(m.data)] = now
		}
	}
	b.echoN.Store(int32(len(b.echoes)))
}

// echoed reports whether k is the tag of an event already delivered here.
func (b *Bus) echoed(k [tagSize]byte) bool {
	if b.echoN.Load() == 0 {
		return false
	}
	b.echoMu.Lock()
	defer b.echoMu.Unlock()
	if _, ok := b.echoes[k]; ok {
		delete(b.echoes, k)
		b.echoN.Store(int32(len(b.echoes)))
		return true
	}
	return false
}

// accept checks an event received from the transport and delivers it.
// An event seen already is refused before the echoes are looked at: the
// copy of a failed send is recorded as seen, so that a replay of it is
// refused too.
func (b *Bus) accept(subject string, data []byte) {
	now := time.Now()
	e, reject := open(b.key, subject, data, now)
	if reject < 0 && !b.replays.admit(e.sender, subject, e.seq, now) {
		reject = rejectReplay
	}
	if reject >= 0 {
		b.reject(subject, reject)
		return
	}
	if b.echoed(e.tag) {
		return
	}
	b.received.Add(1)
	b.deliver(subject, e.payload)
}

// rejectWarnings are the warnings about rejected events, by reason.
var rejectWarnings = [rejectReasons]string{
	rejectUnsigned:  signatureWarning,
	rejectForged:    signatureWarning,
	rejectStale:     signatureWarning,
	rejectReplay:    "消息总线上收到已经收到过的事件，已丢弃：有人在总线服务器上重放了截获的事件",
	rejectOversized: "消息总线上的事件超过大小上限，未经校验即丢弃：有人在总线服务器上发布了异常的事件",
}

const signatureWarning = "消息总线上的事件未通过签名校验，已丢弃：有人在总线服务器上发布了伪造或篡改的事件，或各副本的主密钥不一致，或时钟相差超过两分钟，或有副本仍在运行不同版本（事件格式不同）"

// rejectWarnEvery spaces the warnings about rejected events: a flood of
// forgeries costs a log line a minute.
const rejectWarnEvery = time.Minute

// reject counts an event refused for reason, and warns about it at most
// once a minute. The payload is never logged: it is whatever a stranger
// chose to write.
func (b *Bus) reject(subject string, reason int) {
	b.rejected[reason].Add(1)
	b.warnMu.Lock()
	b.unwarned++
	if !b.neverWarned && time.Since(b.warnedAt) < rejectWarnEvery {
		b.warnMu.Unlock()
		return
	}
	n := b.unwarned
	b.unwarned, b.warnedAt, b.neverWarned = 0, time.Now(), false
	b.warnMu.Unlock()
	b.log.Warn(rejectWarnings[reason], "bus", b.kind, "subject", subject, "reason", rejectNames[reason], "rejected", n)
}

func (b *Bus) deliver(subject string, payload []byte) {
	b.mu.RLock()
	hs := b.handlers[subject]
	b.mu.RUnlock()
	for _, h := range hs {
		h(payload)
	}
}

// setAvailable records a change the transport reports (or a failed send).
func (b *Bus) setAvailable(ok bool) {
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	b.gen.Add(1)
	b.change(ok)
}

// probed records the result of a probe begun at generation gen, unless
// the transport reported a change meanwhile: a probe that began before a
// failure must not report the bus available after it.
func (b *Bus) probed(ok bool, gen uint64) {
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	if b.gen.Load() != gen {
		return
	}
	b.change(ok)
}

// change sets the bus's state, logging each change once; b.stateMu is held.
func (b *Bus) change(ok bool) {
	if b.available.Load() == ok || b.closing.Load() {
		return
	}
	b.available.Store(ok)
	if !ok {
		b.downSince, b.downAt = time.Now(), b.fallbacks.Load()
		b.log.Warn("消息总线不可用：实时事件暂时只投递给本副本的订阅者，总线恢复后自动切回", "bus", b.kind)
		return
	}
	b.log.Info("消息总线已恢复", "bus", b.kind, "outage", time.Since(b.downSince).Round(time.Millisecond).String(),
		"localOnlyEvents", b.fallbacks.Load()-b.downAt)
}

// probe tries the transport every interval, so that the bus is used again
// once it is back, and its loss is noticed without a publish.
func (b *Bus) probe(every time.Duration) {
	defer close(b.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
		}
		gen := b.gen.Load()
		ctx, cancel := context.WithTimeout(context.Background(), every)
		ok := b.t.healthy(ctx)
		cancel()
		b.probed(ok, gen)
	}
}

// flushTimeout bounds how long Close waits for the queued events to be
// sent.
const flushTimeout = 2 * time.Second

// Close sends what is still queued (for flushTimeout at most) and
// disconnects from the bus. Events published afterwards are delivered on
// this replica only.
func (b *Bus) Close() error {
	var err error
	b.closed.Do(func() {
		if b.t == nil {
			return
		}
		b.queueMu.Lock()
		b.shut = true
		close(b.queue)
		b.queueMu.Unlock()
		select {
		case <-b.sent:
		case <-time.After(flushTimeout):
			b.abandon.Store(true)
		}
		b.closing.Store(true)
		close(b.stop)
		<-b.done
		err = b.t.close()
		<-b.sent
	})
	return err
}

// Collectors are the bus's metrics: govmobile_bus_available (1 when events
// reach every replica), the counts of events published through the bus,
// received from it, delivered only locally during outages or because the
// send queue was full, and refused on receipt, and the queue's length.
func (b *Bus) Collectors() []prometheus.Collector {
	labels := prometheus.Labels{"bus": b.kind}
	out := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "govmobile_bus_available", ConstLabels: labels,
			Help: "1 when live events reach every replica through the message bus; 0 while they are delivered on this replica only."},
			func() float64 {
				if b.Available() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "govmobile_bus_published_total", ConstLabels: labels,
			Help: "Live events published through the message bus."}, func() float64 { return float64(b.published.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "govmobile_bus_received_total", ConstLabels: labels,
			Help: "Live events received from the message bus."}, func() float64 { return float64(b.received.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "govmobile_bus_local_fallbacks_total", ConstLabels: labels,
			Help: "Live events delivered on this replica only because the message bus was unavailable."},
			func() float64 { return float64(b.fallbacks.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "govmobile_bus_dropped_total", ConstLabels: labels,
			Help: "Live events not sent to the other replicas because the message bus's send queue was full, or they were too large (delivered on this replica only)."},
			func() float64 { return float64(b.dropped.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "govmobile_bus_queue_length", ConstLabels: labels,
			Help: "Live events waiting to be sent through the message bus."},
			func() float64 { return float64(len(b.queue)) }),
	}
	for r := range rejectReasons {
		out = append(out, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "govmobile_bus_rejected_total",
			ConstLabels: prometheus.Labels{"bus": b.kind, "reason": rejectNames[r]},
			Help:        "Live events received from the message bus and dropped: unsigned (or of another envelope version), forged (a wrong tag: another key, subject or content), stale (signed outside the freshness window), replay (received already) or oversized (refused unchecked)."},
			func() float64 { return float64(b.rejected[r].Load()) }))
	}
	return out
}
