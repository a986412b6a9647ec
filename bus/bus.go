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
// When the shared bus is unavailable the server keeps serving: Publish
// hands the event to this replica's own subscribers directly (so that the
// users of a single replica, or those connected to the replica where the
// event happened, still get it live), logs the outage once, and reports it
// on govmobile_bus_available. Both clients reconnect and resubscribe by
// themselves; the bus is used again as soon as it answers.
//
// The bus must never carry anything the database seals at rest: callers
// publish rows that are stored in clear (masked where the rules say so).
package bus

import (
	"context"
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
// transport's delivery goroutine and must not block.
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
	// ProbeInterval is how often an unavailable bus is tried again (1 s
	// by default).
	ProbeInterval time.Duration
	Logger        *slog.Logger
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

// transport is a shared bus between replicas.
type transport interface {
	// publish sends payload to every subscriber of subject on every
	// replica; an error means it was not sent.
	publish(ctx context.Context, subject string, payload []byte) error
	// subscribe delivers subject's payloads to h from now on, across
	// reconnections.
	subscribe(subject string, h Handler) error
	// healthy reports whether publishing and receiving work now.
	healthy(ctx context.Context) bool
	close() error
}

// Bus publishes to and subscribes on one of the transports.
type Bus struct {
	kind   string
	prefix string
	t      transport // nil in-process
	log    *slog.Logger

	mu       sync.RWMutex
	handlers map[string][]Handler // by full subject

	available atomic.Bool
	stateMu   sync.Mutex
	downSince time.Time
	downAt    uint64        // fallbacks when the outage began
	fallbacks atomic.Uint64 // events delivered only locally
	published atomic.Uint64
	received  atomic.Uint64

	stop    chan struct{}
	done    chan struct{}
	closed  sync.Once
	closing atomic.Bool // disconnecting on purpose: not an outage
}

// New connects the bus. A NATS or Redis server that cannot be reached at
// start is not an error: the bus starts unavailable, delivers locally, and
// is used once the server answers. Only a bad configuration is an error.
func New(cfg Config) (*Bus, error) {
	kind, url := cfg.Kind, cfg.URL
	switch kind {
	case "", Local:
		kind = Local
	case NATS, Redis:
		if url == "" {
			return nil, fmt.Errorf("bus %s: no URL", kind)
		}
	default:
		return nil, fmt.Errorf("bus: unknown kind %q", kind)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "govmobile"
	}
	if strings.ContainsAny(cfg.Prefix, " *>\t\r\n") {
		return nil, fmt.Errorf("bus prefix %q: no spaces or wildcards", cfg.Prefix)
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Bus{kind: kind, prefix: cfg.Prefix, log: cfg.Logger, handlers: map[string][]Handler{}}
	var err error
	switch kind {
	case Local:
		b.available.Store(true)
		return b, nil
	case NATS:
		b.t, err = dialNATS(url, b.setAvailable)
	case Redis:
		b.t, err = dialRedis(url, b.setAvailable, cfg.ProbeInterval)
	}
	if err != nil {
		return nil, err
	}
	b.available.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	b.setAvailable(b.t.healthy(ctx))
	cancel()
	b.stop, b.done = make(chan struct{}), make(chan struct{})
	go b.probe(cfg.ProbeInterval)
	return b, nil
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
// holds one subscription per subject and fans out to the handlers.
func (b *Bus) Subscribe(subject string, h Handler) error {
	full := b.subject(subject)
	b.mu.Lock()
	first := len(b.handlers[full]) == 0
	b.handlers[full] = append(b.handlers[full], h)
	b.mu.Unlock()
	if first && b.t != nil {
		return b.t.subscribe(full, func(p []byte) { b.received.Add(1); b.deliver(full, p) })
	}
	return nil
}

// Publish sends payload to the subscribers of subject on every replica.
// While the shared bus is unavailable it delivers to this replica's
// subscribers only, and returns nil: the event is stored anyway, and only
// its live delivery elsewhere is lost. The payload must not be changed
// afterwards.
func (b *Bus) Publish(ctx context.Context, subject string, payload []byte) error {
	full := b.subject(subject)
	if b.t == nil {
		b.deliver(full, payload)
		return nil
	}
	if b.available.Load() {
		err := b.t.publish(ctx, full, payload)
		if err == nil {
			b.published.Add(1)
			return nil
		}
		b.setAvailable(false)
		b.log.Debug("bus publish failed", "bus", b.kind, "err", err)
	}
	b.fallbacks.Add(1)
	b.deliver(full, payload)
	return nil
}

func (b *Bus) deliver(subject string, payload []byte) {
	b.mu.RLock()
	hs := b.handlers[subject]
	b.mu.RUnlock()
	for _, h := range hs {
		h(payload)
	}
}

// setAvailable records the bus's state, logging each change once.
func (b *Bus) setAvailable(ok bool) {
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
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
		ctx, cancel := context.WithTimeout(context.Background(), every)
		ok := b.t.healthy(ctx)
		cancel()
		b.setAvailable(ok)
	}
}

// Close disconnects from the bus.
func (b *Bus) Close() error {
	var err error
	b.closed.Do(func() {
		if b.t == nil {
			return
		}
		b.closing.Store(true)
		close(b.stop)
		<-b.done
		err = b.t.close()
	})
	return err
}

// Collectors are the bus's metrics: govmobile_bus_available (1 when events
// reach every replica), and the counts of events published through the
// bus, received from it, and delivered only locally during outages.
func (b *Bus) Collectors() []prometheus.Collector {
	labels := prometheus.Labels{"bus": b.kind}
	return []prometheus.Collector{
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
	}
}
